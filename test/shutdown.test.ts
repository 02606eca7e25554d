/**
 * Shutdown while a *scheduled* cycle hangs on S3 (a proxy on 127.0.0.1 that takes the upload and
 * never answers): ticks during the hang coalesce, a POST /v1/flush waiting behind it does not hold
 * the drain, SIGTERM ends the real daemon process within shutdownTimeoutMs (the bound below is a
 * generous test timeout, not a timing threshold), the events stay in the spool, and a restart
 * against a working S3 delivers each exactly once. A cycle stuck in a step that cannot see the
 * abort does not hold the drain either.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { startDaemon } from '../src/app/daemon.js';
import { openStore } from '../src/store/open.js';
import type { ObjectStore } from '../src/store/store.js';
import { createLogger } from '../src/log.js';
import { event, startTestDaemon, tempDir, testConfig } from './support/daemon.js';
import { readFiles } from './support/duckdb.js';
import { samples } from './support/events.js';
import { downloadData, notExactlyOnce, postAll, spoolDepth, waitFor, within } from './support/export-check.js';
import { isDataWrite, startFaultProxy, type FaultProxy } from './support/fault-proxy.js';
import { spawnDaemon, writeConfig } from './support/process.js';
import { openTestStore, startS3Server, testCredentialEnv, type S3TestServer } from './support/s3.js';

const bucket = 'shutdown-bucket';
const shutdownTimeoutMs = 2_000;
/** Far above shutdownTimeoutMs: the old drain waited for the hung upload until the SDK's 120 s socket timeout. */
const exitBound = shutdownTimeoutMs + 10_000;

let server: S3TestServer;
let proxy: FaultProxy;
const temp = tempDir('logbarge-shutdown-');

beforeAll(async () => {
  server = await startS3Server();
  await server.createBucket(bucket);
  proxy = await startFaultProxy({ upstream: server.endpoint });
});
afterAll(async () => {
  await proxy?.stop();
  await server?.stop();
  temp.remove();
});

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

describe('SIGTERM while a scheduled cycle hangs on S3', () => {
  it('coalesces ticks, exits 0 within the bound with the events spooled; the next start delivers them once', async () => {
    const prefix = 'hung-schedule/';
    const spoolPath = join(temp.dir, 'spool.db');
    const path = writeConfig(temp.dir, {
      writerId: 'shut',
      server: { port: 0 },
      spool: { path: spoolPath, minFreeBytes: 0 },
      s3: { region: 'us-east-1', endpoint: proxy.endpoint, forcePathStyle: true },
      // Every second (node-cron's seconds field): ticks keep coming while the upload hangs.
      exports: [{ name: 'nd', format: 'ndjson', compression: 'none', schedule: '* * * * * *', destination: `s3://${bucket}/${prefix}` }],
      shutdownTimeoutMs,
    });
    const held = proxy.holdNext('before-upstream', isDataWrite);
    const d = await spawnDaemon(path, { env: testCredentialEnv });
    let flushAnswer: Promise<number> | undefined;
    try {
      const sent = samples(30, `shutdown-${Date.now()}`);
      const acknowledged = await postAll(d.url, sent.map((s) => s.sent), 10);
      await within(15_000, 'a scheduled cycle to start uploading', held);
      // Ticks during the hung cycle: one queued, the rest coalesced and counted.
      await waitFor('a coalesced tick', async () => (await metric(d.url, 'logbarge_export_ticks_coalesced_total')) >= 1, { timeoutMs: 10_000 });
      // A flush that waits behind the hung cycle must not hold the drain open.
      flushAnswer = fetch(`${d.url}/v1/flush`, { method: 'POST' }).then((r) => r.status, () => -1);
      // SIGTERM only once the daemon runs it (sent just before, it could find the listener closed).
      await waitFor('the flush to be running', async () => (await metric(d.url, 'logbarge_flush_requests_in_flight')) >= 1, { timeoutMs: 10_000 });

      d.child.kill('SIGTERM');
      const code = await within(exitBound, 'the daemon to exit after SIGTERM', d.exited);
      expect(code, d.log()).toBe(0);
      expect(d.log()).toContain('"msg":"stopped"');
      expect(await flushAnswer).toBe(503);
      expect(spoolDepth(spoolPath)).toBe(30);

      // Restart against S3 that answers: every event delivered exactly once.
      const d2 = await spawnDaemon(path, { env: testCredentialEnv });
      try {
        await waitFor('the restarted daemon to deliver', () => spoolDepth(spoolPath) === 0, { timeoutMs: 20_000 });
        d2.child.kill('SIGTERM');
        expect(await within(exitBound, 'the second daemon to exit', d2.exited), d2.log()).toBe(0);
      } finally {
        if (d2.child.exitCode === null && d2.child.signalCode === null) d2.child.kill('SIGKILL');
      }
      const objects = await downloadData(server, bucket, prefix, join(temp.dir, 'downloaded'));
      const rows = await readFiles(objects.map((o) => ({ path: o.path, format: 'ndjson' })));
      expect(notExactlyOnce(acknowledged, rows.map((x) => x.EVENT_ID as string))).toEqual({ missing: [], duplicated: [], unexpected: [] });
    } finally {
      if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGKILL');
    }
  }, 60_000);
});

describe('POST /v1/flush while S3 hangs', () => {
  it('is cut off at server.flushTimeoutMs with 504 naming the key; the events stay spooled', async () => {
    const d = await startTestDaemon(
      {
        server: { flushTimeoutMs: 1_000 },
        s3: { region: 'us-east-1', endpoint: proxy.endpoint, forcePathStyle: true },
        exports: [{ name: 'nd', format: 'ndjson', compression: 'none', schedule: '0 0 1 1 *', destination: `s3://${bucket}/flush-timeout/` }],
        shutdownTimeoutMs: 1_000,
      },
      undefined,
      { openStore: (destination, config) => openTestStore(destination, config.s3) },
    );
    try {
      await waitFor('the destination to verify', async () => (await d.request('/readyz')).status === 200);
      expect((await d.post(samples(5, `flush-timeout-${Date.now()}`).map((s) => s.sent))).status).toBe(202);
      const held = proxy.holdNext('before-upstream', isDataWrite);
      const answer = d.request('/v1/flush', { method: 'POST' });
      await within(10_000, 'the flush to start uploading', held);
      const a = await within(exitBound, 'the flush to answer', answer);
      expect(a.status, a.text).toBe(504);
      expect(a.body.error).toContain('server.flushTimeoutMs');
      expect(d.daemon.spool.stats().depth).toBe(5);
    } finally {
      await within(exitBound, 'the daemon to stop', d.stop());
    }
  }, 30_000);
});

describe('SIGTERM while a cycle is stuck in a step that ignores the abort', () => {
  it('ends the drain at shutdownTimeoutMs anyway: the exporter leaves the cycle behind, and says so; the events stay spooled', async () => {
    const dir = join(temp.dir, 'stuck-step');
    const config = testConfig(dir, {
      exports: [{ name: 'nd', format: 'ndjson', compression: 'none', schedule: '0 0 1 1 *', destination: `file://${join(dir, 'out')}/` }],
      shutdownTimeoutMs: 300,
    });
    // Free space is injected (as in disk-staging.test.ts): the statfs a batch's staging asks
    // (its work directory) never answers, like one on a hung mount; housekeeping's (the spool's
    // directory) answers. Nothing the cycle does after that call can see the abort.
    const unanswered: (() => void)[] = [];
    const freeBytes = (path: string): Promise<number> =>
      path.includes(`${join(dir, 'work')}/`) ? new Promise((resolve) => unanswered.push(() => resolve(1e12))) : Promise.resolve(1e12);
    const lines: string[] = [];
    const daemon = await startDaemon({ config, logger: createLogger('info', { write: (l: string) => void lines.push(l) }), freeBytes });
    let flushing: Promise<unknown> | undefined;
    try {
      const res = await fetch(`http://127.0.0.1:${daemon.address.port}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([event(), event(), event()]),
      });
      expect(res.status).toBe(202);
      flushing = daemon.exporter.flush();
      await waitFor('the cycle to ask for staging space', () => unanswered.length > 0);
      // The bound is a generous test timeout: the old exporter.close() waited for the cycle for good.
      await within(20_000, 'the drain to end while the cycle is stuck', daemon.stop());
      expect(unanswered.length).toBe(1); // still unanswered: the drain did not wait for it
      const logged = lines.map((l) => JSON.parse(l) as { msg: string; running?: string[]; err?: string });
      const left = logged.find((l) => l.msg.startsWith('still running at the drain deadline'));
      expect(left, lines.join('')).toMatchObject({ running: ['export cycle of nd'] });
      expect(left!.err).toContain('shutdownTimeoutMs (300 ms) elapsed');
      expect(logged.at(-1)?.msg).toBe('stopped');
      expect(spoolDepth(config.spool.path)).toBe(3);
    } finally {
      for (const answer of unanswered) answer();
      await within(20_000, 'the stuck cycle to end once answered', flushing ?? Promise.resolve());
      await daemon.stop();
    }
  }, 60_000);
});

describe('SIGTERM while a scheduled seal is stuck in a call that ignores the abort', () => {
  it('ends the drain at shutdownTimeoutMs anyway, and says which seal it left running', async () => {
    const dir = join(temp.dir, 'stuck-seal');
    const config = testConfig(dir, {
      exports: [{ name: 'pq', format: 'parquet', schedule: '0 0 1 1 *', destination: `file://${join(dir, 'out')}/`, seal: {} }],
      shutdownTimeoutMs: 300,
    });
    // Stores opened once `hang` is set (the sealer opens its own at its first run) answer
    // nothing and ignore the abort signal, like a call stuck below the SDK.
    let hang = false;
    let calls = 0;
    const hanging = (store: ObjectStore): ObjectStore =>
      new Proxy(store, {
        get(target, prop, receiver) {
          const value = Reflect.get(target, prop, receiver) as unknown;
          if (typeof value !== 'function' || prop === 'close' || prop === 'describe') return value;
          return () => {
            calls++;
            return new Promise(() => {});
          };
        },
      });
    const lines: string[] = [];
    const daemon = await startDaemon({
      config,
      logger: createLogger('info', { write: (l: string) => void lines.push(l) }),
      openStore: (d) => (hang ? hanging(openStore(d, config.s3)) : openStore(d, config.s3)),
    });
    hang = true;
    const sealing = daemon.sealer.run('pq').catch(() => undefined);
    await waitFor('the seal to call its store', () => calls > 0);
    // The bound is a generous test timeout: the old sealer.close() waited for the seal for good.
    await within(20_000, 'the drain to end while the seal is stuck', daemon.stop());
    const logged = lines.map((l) => JSON.parse(l) as { msg: string; running?: string[]; err?: string });
    const left = logged.find((l) => l.msg.startsWith('still running at the drain deadline') && l.running?.some((r) => r.startsWith('seal')));
    expect(left, lines.join('')).toMatchObject({ running: ['seal of pq'] });
    expect(logged.at(-1)?.msg).toBe('stopped');
    void sealing;
  }, 60_000);
});
