/**
 * Invariant 1 across crashes of the export cycle: kill -9 the daemon (a child process running the
 * built binary) while an upload is in flight, and after an upload landed but before its commit;
 * restart it on the same config and spool, flush, and every acknowledged event is in S3 exactly
 * once, under the keys that were planned before the kill (no second copy under another key).
 *
 * The daemon's s3.endpoint is a fault proxy (test/support/fault-proxy.ts) in front of fauxqs on
 * 127.0.0.1; it freezes the first data upload at the chosen point so the kill lands there.
 */
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './support/daemon.js';
import { readFiles } from './support/duckdb.js';
import { byEventId, samples, type Sample } from './support/events.js';
import {
  downloadData,
  flushOver,
  listKeys,
  notExactlyOnce,
  postAll,
  readBatches,
  seededRandom,
  spoolDepth,
  within,
} from './support/export-check.js';
import { isDataWrite, startFaultProxy, type FaultProxy, type HoldPoint } from './support/fault-proxy.js';
import { spawnDaemon, writeConfig, type ChildDaemon } from './support/process.js';
import { startS3Server, testCredentialEnv, type S3TestServer } from './support/s3.js';
import { enforceIfNoneMatch } from './support/s3-proxy.js';

const bucket = 'crash-bucket';
/** Once a year: no scheduled cycle interferes; only flush (and the size trigger) run cycles. */
const rarely = '0 0 1 1 *';

let server: S3TestServer;

beforeAll(async () => {
  server = await startS3Server();
  await server.createBucket(bucket);
});
afterAll(async () => {
  await server?.stop();
});

/**
 * A proxy, temp dir and config for one scenario; everything is torn down, in reverse order, when
 * the test `context` finishes (per test, so scenarios can run at once).
 */
async function setup({ prefix, exports, context }: { prefix: string; exports: Record<string, unknown>[]; context: TestContext }) {
  const cleanups: (() => Promise<void> | void)[] = [];
  context.onTestFinished(async () => {
    for (const c of cleanups.reverse()) await c();
  });
  const temp = tempDir('logbarge-crash-');
  cleanups.push(() => temp.remove());
  const proxy = await startFaultProxy({ upstream: server.endpoint });
  cleanups.push(() => proxy.stop());
  const spoolPath = join(temp.dir, 'spool.db');
  const raw = {
    writerId: 'crash' as string,
    server: { port: 0 },
    spool: { path: spoolPath, minFreeBytes: 0 },
    s3: { region: 'us-east-1', endpoint: proxy.endpoint, forcePathStyle: true },
    exports: exports.map((e): Record<string, unknown> => ({ schedule: rarely, destination: `s3://${bucket}/${prefix}${e.name as string}/`, ...e })),
    shutdownTimeoutMs: 15_000,
  };
  const configPath = writeConfig(temp.dir, raw);
  /** Rewrites the config file (same spool) with `change` applied to a copy. */
  const rewrite = (change: (config: typeof raw) => void): void => {
    const next = structuredClone(raw);
    change(next);
    writeConfig(temp.dir, next);
  };
  /** Work directories (staged files, DuckDB scratch) left under the spool's directory. */
  const leftoverWork = (): string[] => (existsSync(join(temp.dir, 'work')) ? readdirSync(join(temp.dir, 'work')) : []);
  const start = async (): Promise<ChildDaemon> => {
    const d = await spawnDaemon(configPath, { env: testCredentialEnv });
    cleanups.push(() => {
      if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGKILL');
    });
    return d;
  };
  return { dir: temp.dir, proxy, spoolPath, configPath, start, rewrite, leftoverWork };
}

/** kill -9 and wait for the process to be gone. */
async function kill9(d: ChildDaemon): Promise<void> {
  d.child.kill('SIGKILL');
  expect(await within(10_000, 'the killed daemon to exit', d.exited)).toBe('SIGKILL');
}

/** SIGTERM and wait for the clean exit. */
async function stopCleanly(d: ChildDaemon): Promise<void> {
  d.child.kill('SIGTERM');
  const code = await within(20_000, 'the daemon to drain and exit', d.exited);
  expect(code, d.log()).toBe(0);
}

/** Downloads the export's objects and checks every acknowledged event is there exactly once. */
async function expectExactlyOnce(dir: string, prefix: string, format: string, acknowledged: readonly string[]) {
  const objects = await downloadData(server, bucket, prefix, join(dir, `download-${prefix.replace(/\W/g, '_')}`));
  const rows = await readFiles(objects.map((o) => ({ path: o.path, format })));
  const ids = rows.map((r) => r.EVENT_ID as string);
  expect(notExactlyOnce(acknowledged, ids)).toEqual({ missing: [], duplicated: [], unexpected: [] });
  expect(rows).toHaveLength(acknowledged.length);
  return { objects, rows };
}

/** A sample made ~12 KB bigger with three 4000-character values (columns the corpus leaves empty). */
function bulky(x: Sample): Sample {
  const id = x.sent.EVENT_ID as string;
  const big = (tag: string): string => `${tag}:${id}:`.padEnd(4000, `${tag}-${id}-`);
  const extra = { ROOT_SCOPE_USER_ID: big('r'), RESOURCE_TYPE: big('t'), DATASTORE_ID: big('d') };
  const sent = { ...x.sent, ...extra };
  // RAW, where the sample has one, is the record as sent: with the extra values.
  return { sent, expected: { ...x.expected, ...extra, RAW: x.expected.RAW === null ? null : JSON.stringify(sent) } };
}

describe('kill -9 during the export cycle', () => {
  interface Case {
    readonly format: 'ndjson' | 'parquet';
    readonly point: HoldPoint;
    /** The proxy enforces If-None-Match like S3 (412 on an existing key); else the retry overwrites. */
    readonly conditional: boolean;
    readonly during: string;
    /** Big events: the first batch (~9 MB) goes up as a multipart upload (8 MiB parts). */
    readonly multipart?: boolean;
  }
  const cases: Case[] = [
    { format: 'ndjson', point: 'before-upstream', conditional: true, during: 'an upload (request half sent, S3 has nothing)' },
    { format: 'parquet', point: 'before-upstream', conditional: true, during: 'an upload (request half sent, S3 has nothing)' },
    { format: 'ndjson', point: 'after-upstream', conditional: true, during: 'the commit (object stored, answer not received)' },
    { format: 'parquet', point: 'after-upstream', conditional: true, during: 'the commit (object stored, answer not received)' },
    // An endpoint without conditional writes (fauxqs ignores If-None-Match): the retry overwrites the same key.
    { format: 'parquet', point: 'after-upstream', conditional: false, during: 'the commit, on an endpoint that ignores If-None-Match' },
    { format: 'ndjson', point: 'before-upstream', conditional: true, multipart: true, during: 'a multipart upload (first part half sent)' },
    { format: 'ndjson', point: 'after-upstream', conditional: true, multipart: true, during: 'the commit of a multipart upload (completed, answer not received)' },
  ];

  /** The request that creates the object: PutObject, or CompleteMultipartUpload. */
  const isCreate = (r: { method: string; query: string | URLSearchParams }): boolean => {
    const q = typeof r.query === 'string' ? new URLSearchParams(r.query) : r.query;
    return (r.method === 'PUT' && !q.has('partNumber')) || (r.method === 'POST' && q.has('uploadId'));
  };

  // The scenarios frozen at a proxy hold point run at once: each has its own proxy, spool, temp
  // dir and key prefix, and the kill lands on the held request whatever the timing. (The random
  // kill points below depend on timing, so that test runs on its own.)
  it.concurrent.for(cases.map((c) => [`${c.format}: kill -9 during ${c.during}`, c] as const))(
    '%s; restart, flush: every acknowledged event exactly once',
    async ([, { format, point, conditional, multipart = false }], context) => {
      const { expect } = context;
      const prefix = `${format}-${point}-${conditional ? 'cw' : 'plain'}${multipart ? '-mp' : ''}/`;
      const s = await setup({ prefix, exports: [{ name: 'exp', format, ...(format === 'ndjson' ? { compression: 'none' } : {}) }], context });
      const objectPrefix = `${prefix}exp/`;
      const objectPath = (key: string): string => `/${bucket}/${objectPrefix}${key}`;
      s.proxy.rules = conditional ? [enforceIfNoneMatch] : [];

      // 1. A daemon acknowledges the events (2 event dates) over several requests.
      const d1 = await s.start();
      const count = multipart ? 1000 : 120;
      const sent = samples(count, `crash-${prefix.replace(/\W/g, '')}`).map((x) => (multipart ? bulky(x) : x));
      const acknowledged = await postAll(d1.url, sent.map((x) => x.sent), multipart ? 100 : 20);
      expect(acknowledged).toHaveLength(count);

      // 2. POST /v1/flush; the proxy freezes the first data upload (for multipart: the first part, or
      //    the completion); kill -9 while it is frozen.
      const held = s.proxy.holdNext(point, (r) => {
        if (!isDataWrite(r)) return false;
        if (!multipart) return true;
        return point === 'before-upstream' ? r.method === 'PUT' && r.query.has('partNumber') : isCreate(r);
      });
      const flushing = fetch(`${d1.url}/v1/flush`, { method: 'POST' }).then(
        (r) => r.status,
        () => 'no answer',
      );
      const h = await within(15_000, 'the first data upload to reach the proxy', held);
      await kill9(d1);
      expect(await flushing).toBe('no answer');

      // What the dead daemon left: one plan of two batches (one per event date), nothing committed.
      const planned = readBatches(s.spoolPath, 'exp');
      expect(planned.map((b) => b.state)).toEqual(['planned', 'planned']);
      expect(planned.reduce((n, b) => n + b.row_count, 0)).toBe(count);
      expect(new Set(planned.map((b) => b.plan_to)).size).toBe(1);
      expect(h.path).toBe(objectPath(planned[0]!.object_key));
      if (point === 'before-upstream') expect(h.bodyBytes).toBeGreaterThan(0);
      expect(spoolDepth(s.spoolPath)).toBe(count);
      if (multipart) {
        const before = s.proxy.requests.filter((r) => r.path === h.path);
        expect(before.some((r) => r.method === 'PUT' && r.query.includes('partNumber='))).toBe(true);
      }
      if (point === 'after-upstream') {
        expect(h.upstreamStatus).toBe(200);
        expect(await listKeys(server, bucket, objectPrefix, 'dt=')).toEqual([planned[0]!.object_key]);
      } else {
        expect(await listKeys(server, bucket, objectPrefix, 'dt=')).toEqual([]);
      }

      // 3. Restart on the same config and spool (the proxy now only forwards), flush.
      const mark = s.proxy.requests.length;
      const d2 = await s.start();
      const flush = await flushOver(d2.url);
      expect(flush.status).toBe(200);
      expect(flush.body.exports).toHaveLength(1);
      expect(flush.body.exports[0]).toMatchObject({ export: 'exp', batches: 2, rows: count, keys: planned.map((b) => b.object_key) });
      expect(flush.body.exports[0].error).toBeUndefined();
      await stopCleanly(d2);

      // The restarted daemon wrote exactly the planned keys, each created once.
      const writes = s.proxy.requests.slice(mark).filter(isDataWrite);
      expect([...new Set(writes.map((r) => r.path))].sort()).toEqual(planned.map((b) => objectPath(b.object_key)).sort());
      const creates = writes.filter(isCreate);
      expect(creates.map((r) => r.path).sort()).toEqual(planned.map((b) => objectPath(b.object_key)).sort());
      if (point === 'after-upstream' && conditional) {
        // S3 refused to overwrite the object the killed daemon delivered: 412; its metadata (HEAD)
        // names the same rows, so it is taken as delivered.
        expect(creates.find((r) => r.path === h.path)?.status).toBe(412);
        expect(s.proxy.requests.slice(mark).filter((r) => r.method === 'HEAD' && r.path === h.path).map((r) => r.status)).toEqual([200]);
      } else {
        expect(creates.map((r) => r.status)).toEqual([200, 200]);
      }

      // 4. S3 holds exactly the planned objects; every acknowledged event once, every value as sent.
      const { objects, rows } = await expectExactlyOnce(s.dir, objectPrefix, format, acknowledged);
      expect(objects.map((o) => o.key).sort()).toEqual(planned.map((b) => b.object_key).sort());
      const got = byEventId(rows);
      for (const x of sent) expect(got.get(x.sent.EVENT_ID as string)).toEqual(x.expected);

      // The spool: the same batches (same ids, same keys) done, nothing re-planned, nothing left.
      const after = readBatches(s.spoolPath, 'exp');
      expect(after.map((b) => [b.id, b.object_key, b.seq_from, b.seq_to, b.state])).toEqual(
        planned.map((b) => [b.id, b.object_key, b.seq_from, b.seq_to, 'done']),
      );
      expect(spoolDepth(s.spoolPath)).toBe(0);
      // The dead daemon's staged files were removed by the restart; the restarted one removed its own.
      expect(s.leftoverWork()).toEqual([]);
    },
  );

  it.concurrent('an unfinished plan keeps its key, format and writer id when the config changed before the restart', async (context) => {
    const { expect } = context;
    const s = await setup({ prefix: 'changed/', exports: [{ name: 'exp', format: 'ndjson', compression: 'none' }], context });
    s.proxy.rules = [enforceIfNoneMatch];
    const d1 = await s.start();
    const sent = samples(40, `crash-changed-${Date.now()}`);
    const acknowledged = await postAll(d1.url, sent.map((x) => x.sent), 20);
    const held = s.proxy.holdNext('before-upstream', isDataWrite);
    void fetch(`${d1.url}/v1/flush`, { method: 'POST' }).catch(() => undefined);
    await within(10_000, 'the first data upload', held);
    await kill9(d1);
    const planned = readBatches(s.spoolPath, 'exp');
    expect(planned.map((b) => b.state)).toEqual(['planned', 'planned']);
    for (const b of planned) expect(b.object_key).toMatch(/^dt=\d{4}-\d\d-\d\d\/crash-[0-9a-f]{8}-\d{12}-\d{12}\.ndjson$/);

    // The operator switches the export to Parquet and renames the writer, then restarts.
    s.rewrite((c) => {
      c.writerId = 'renamed';
      c.exports[0] = { ...c.exports[0]!, format: 'parquet', compression: 'zstd' };
    });
    const d2 = await s.start();
    const more = samples(10, `crash-changed-more-${Date.now()}`);
    const acknowledgedLater = await postAll(d2.url, more.map((x) => x.sent), 10);
    const flush = await flushOver(d2.url);
    expect(flush.status).toBe(200);
    expect(flush.body.exports[0].error).toBeUndefined();
    await stopCleanly(d2);

    const objects = await downloadData(server, bucket, 'changed/exp/', join(s.dir, 'download-changed'));
    const old = objects.filter((o) => o.key.endsWith('.ndjson'));
    const fresh = objects.filter((o) => o.key.endsWith('.parquet'));
    // The unfinished plan went out as planned: NDJSON, under the recorded keys of writer "crash".
    expect(old.map((o) => o.key).sort()).toEqual(planned.map((b) => b.object_key).sort());
    expect(fresh).toHaveLength(2);
    for (const o of fresh) expect(o.key).toMatch(/\/renamed-[0-9a-f]{8}-\d{12}-\d{12}\.parquet$/);
    const rows = [
      ...(await readFiles(old.map((o) => ({ path: o.path, format: 'ndjson' })))),
      ...(await readFiles(fresh.map((o) => ({ path: o.path, format: 'parquet' })))),
    ];
    expect(notExactlyOnce([...acknowledged, ...acknowledgedLater], rows.map((r) => r.EVENT_ID as string))).toEqual({
      missing: [],
      duplicated: [],
      unexpected: [],
    });
    expect(spoolDepth(s.spoolPath)).toBe(0);
  });

  it('several kill -9 in a row at random points of a flush of 3000 events (NDJSON and Parquet exports)', async (context) => {
    const seed = Number(process.env.LOGBARGE_CRASH_SEED ?? Date.now() % 2 ** 31);
    const random = seededRandom(seed);
    const note = `seed ${seed} (rerun with LOGBARGE_CRASH_SEED=${seed})`;
    const exports = [
      { name: 'nd', format: 'ndjson', compression: 'gzip', maxRowsPerFile: 150 },
      { name: 'pq', format: 'parquet', compression: 'zstd', maxRowsPerFile: 400 },
    ];
    const s = await setup({ prefix: 'random/', exports, context });
    s.proxy.rules = [enforceIfNoneMatch];

    let d = await s.start();
    const sent = samples(3000, `random-${seed}`);
    // Size-triggered cycles may already run while these arrive: they are interrupted too.
    const acknowledged = await postAll(d.url, sent.map((x) => x.sent), 100);
    expect(acknowledged).toHaveLength(3000);

    const kills: string[] = [];
    for (let round = 0; round < 4; round++) {
      if (round > 0) d = await s.start();
      void fetch(`${d.url}/v1/flush`, { method: 'POST' }).catch(() => undefined);
      const victim = d;
      if (random() < 0.5) {
        // Kill at a random time into the flush.
        const ms = Math.floor(20 + random() * 300);
        await new Promise((r) => setTimeout(r, ms));
        kills.push(`after ${ms} ms`);
      } else {
        // Kill right after the n-th data upload was answered: the daemon is committing it.
        const n = 1 + Math.floor(random() * 6);
        let seen = 0;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            off();
            resolve();
          }, 5_000);
          const off = s.proxy.onAnswered((r) => {
            if (!isDataWrite(r) || ++seen < n) return;
            victim.child.kill('SIGKILL');
            clearTimeout(timer);
            off();
            resolve();
          });
        });
        kills.push(`after upload answer #${n}${seen < n ? ' (timed out: the flush had finished)' : ''}`);
      }
      await kill9(victim);
      const left = readBatches(s.spoolPath);
      kills[kills.length - 1] += ` → ${left.filter((b) => b.state === 'done').length} batches done, ${left.filter((b) => b.state === 'planned').length} open`;
    }
    if (process.env.LOGBARGE_CRASH_DEBUG) process.stderr.write(`${note}; kills: ${kills.join('; ')}\n`);

    // Final restart without interference: flush delivers the rest, SIGTERM exits cleanly.
    d = await s.start();
    const flush = await flushOver(d.url);
    expect(flush.status, note).toBe(200);
    expect(flush.body.exports.map((r: { error?: string }) => r.error), note).toEqual([undefined, undefined]);
    await stopCleanly(d);

    const written = s.proxy.requests.filter(isDataWrite);
    for (const e of exports) {
      const objectPrefix = `random/${e.name}/`;
      const { objects } = await expectExactlyOnce(s.dir, objectPrefix, e.format, acknowledged);
      const batches = readBatches(s.spoolPath, e.name);
      expect(batches.every((b) => b.state === 'done'), `${note}; kills: ${kills.join(', ')}`).toBe(true);
      expect(batches.reduce((n, b) => n + b.row_count, 0), note).toBe(3000);
      // One object per batch, under the batch's key; every key ever written belongs to a batch.
      const batchKeys = batches.map((b) => b.object_key).sort();
      expect(new Set(batchKeys).size, note).toBe(batches.length);
      expect(objects.map((o) => o.key).sort(), note).toEqual(batchKeys);
      const writtenKeys = new Set(
        written.filter((r) => r.path.startsWith(`/${bucket}/${objectPrefix}`)).map((r) => r.path.slice(`/${bucket}/${objectPrefix}`.length)),
      );
      expect([...writtenKeys].sort(), note).toEqual(batchKeys);
      // Batches cover disjoint sequence ranges within each date.
      const byDt = new Map<string, [number, number][]>();
      for (const b of batches) byDt.set(b.dt, [...(byDt.get(b.dt) ?? []), [b.seq_from, b.seq_to]]);
      for (const ranges of byDt.values()) {
        ranges.sort((a, b) => a[0] - b[0]);
        for (let i = 1; i < ranges.length; i++) expect(ranges[i]![0], note).toBeGreaterThan(ranges[i - 1]![1]);
      }
    }
    expect(spoolDepth(s.spoolPath), note).toBe(0);
    expect(s.leftoverWork(), note).toEqual([]);
  });
});
