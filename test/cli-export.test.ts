/**
 * The export commands as an operator runs them (the built binary in a child process, against
 * fauxqs on 127.0.0.1): `logbarge verify` (success, --cleanup, missing bucket, wrong credentials,
 * unreachable endpoint, file://, --json, --export), `logbarge flush` (after `logbarge ingest`, to a
 * working and to a missing bucket), and the SIGTERM drain of `logbarge run`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { tempDir } from './support/daemon.js';
import { readFiles } from './support/duckdb.js';
import { byEventId, samples } from './support/events.js';
import { downloadData, listKeys, notExactlyOnce, postAll, runCliAsync, spoolDepth, within, type CliResult } from './support/export-check.js';
import { spawnDaemon, writeConfig } from './support/process.js';
import { startS3Server, testCredentialEnv, testCredentials, type S3TestServer } from './support/s3.js';
import { rejectAccessKey, startS3Proxy, type S3Proxy } from './support/s3-proxy.js';
import { isDataWrite, startFaultProxy } from './support/fault-proxy.js';
import { readBatches, waitFor } from './support/export-check.js';

const bucket = 'cli-bucket';
const rarely = '0 0 1 1 *';
const verifyKeyPattern = /_verify\/logbarge-verify-test-\d{8}T\d{6}Z/;

let server: S3TestServer;
const temp = tempDir('logbarge-cli-export-');
let configCount = 0;

beforeAll(async () => {
  server = await startS3Server();
  await server.createBucket(bucket);
});
afterAll(async () => {
  await server?.stop();
  temp.remove();
});

/**
 * Writes a config with its own directory and spool (so its working directories are its own too,
 * and tests can run at once); `s3` defaults to the test server.
 */
function config(exports: Record<string, unknown>[], s3: Record<string, unknown> = { region: 'us-east-1', endpoint: server.endpoint, forcePathStyle: true }) {
  const n = ++configCount;
  const dir = join(temp.dir, `config-${n}`);
  mkdirSync(dir);
  const spoolPath = join(dir, 'spool.db');
  const path = writeConfig(
    dir,
    {
      writerId: 'cli',
      server: { port: 0 },
      spool: { path: spoolPath, minFreeBytes: 0 },
      s3,
      exports: exports.map((e) => ({ schedule: rarely, ...e })),
      shutdownTimeoutMs: 15_000,
    },
    `config-${n}.json`,
  );
  return { path, spoolPath, dir };
}

/** Runs the CLI with the test credentials in its environment (the SDK's default chain finds them). */
function cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return runCliAsync(args, { env: { ...testCredentialEnv, ...env }, timeoutMs: 45_000 });
}

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

/** Waits (bounded) until /readyz answers 200: the destinations verified. */
async function waitReady(url: string): Promise<void> {
  await waitFor('/readyz to answer 200', async () => (await fetch(`${url}/readyz`)).status === 200, { timeoutMs: 10_000 });
}

function expectNoSecret(r: CliResult): void {
  expect(r.stdout + r.stderr).not.toContain(testCredentials.secretAccessKey);
}

// The verify and flush runs go at once (each its own config, spool and key prefix); the SIGTERM
// tests below, which time signals against a daemon's start and drain, run one by one after them.
describe.concurrent('logbarge verify', () => {
  it('writes the verify-test object to a working bucket, reads it back and exits 0', async () => {
    const c = config([{ name: 'nd', format: 'ndjson', destination: `s3://${bucket}/verify-ok/` }]);
    const r = await cli(['verify', '-c', c.path]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`ok   s3://${bucket}/verify-ok/`);
    const location = new RegExp(`wrote (s3://${bucket}/verify-ok/${verifyKeyPattern.source})\\n`).exec(r.stdout)?.[1];
    expect(location, r.stdout).toBeDefined();
    expect(r.stdout).toContain('read back: ok');
    // The object is there, under the export's own prefix, outside every dt= partition.
    const keys = await listKeys(server, bucket, 'verify-ok/');
    expect(keys).toEqual([location!.slice(`s3://${bucket}/verify-ok/`.length)]);
    expectNoSecret(r);
  });

  it('--cleanup deletes the verify-test object again', async () => {
    const c = config([{ name: 'nd', format: 'ndjson', destination: `s3://${bucket}/verify-cleanup/` }]);
    const r = await cli(['verify', '-c', c.path, '--cleanup']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`wrote s3://${bucket}/verify-cleanup/${verifyKeyPattern.source} \\(deleted again: --cleanup\\)`));
    expect(await listKeys(server, bucket, 'verify-cleanup/')).toEqual([]);
  });

  it('exits 3 for a missing bucket, naming the bucket and what to do', async () => {
    const c = config([{ name: 'nd', format: 'ndjson', destination: 's3://no-such-bucket/x/' }]);
    const r = await cli(['verify', '-c', c.path]);
    expect(r.status).toBe(3);
    expect(r.stdout).toContain('FAIL s3://no-such-bucket/x/');
    expect(r.stdout).toContain('no_such_bucket: write verify object s3://no-such-bucket/x/_verify/logbarge-verify-test-');
    expect(r.stdout).toContain('bucket "no-such-bucket" does not exist');
    expect(r.stdout).toContain('Try: create the bucket "no-such-bucket" (aws s3 mb s3://no-such-bucket)');
    expect(r.stderr).toContain('verify: at least one destination failed');
    expectNoSecret(r);
  });

  describe('with wrong credentials', () => {
    let proxy: S3Proxy;
    const wrongKey = 'AKIAWRONGKEY00000000';
    beforeAll(async () => {
      proxy = await startS3Proxy({ upstream: server.endpoint, rules: [rejectAccessKey(wrongKey)] });
    });
    afterAll(async () => proxy?.stop());

    it('exits 3 with invalid_credentials and a hint, and never prints the secret', async () => {
      const c = config([{ name: 'nd', format: 'ndjson', destination: `s3://${bucket}/verify-creds/` }], {
        region: 'us-east-1',
        endpoint: proxy.endpoint,
        forcePathStyle: true,
      });
      const r = await cli(['verify', '-c', c.path], { AWS_ACCESS_KEY_ID: wrongKey });
      expect(r.status).toBe(3);
      expect(r.stdout).toContain(`FAIL s3://${bucket}/verify-creds/`);
      expect(r.stdout).toContain('invalid_credentials: ');
      expect(r.stdout).toContain('the AWS credentials were rejected (InvalidAccessKeyId');
      expect(r.stdout).toContain('Try: check AWS_ACCESS_KEY_ID');
      expectNoSecret(r);
      // The write was refused by "IAM" (the proxy); nothing reached the bucket.
      expect(proxy.requests.filter((q) => q.method === 'PUT').every((q) => q.answered === 403)).toBe(true);
      expect(await listKeys(server, bucket, 'verify-creds/')).toEqual([]);
      // The same config with the right key passes.
      const ok = await cli(['verify', '-c', c.path]);
      expect(ok.status, ok.stdout + ok.stderr).toBe(0);
    });
  });

  it('exits 3 for an unreachable endpoint, naming it', async () => {
    const port = await closedPort();
    const endpoint = `http://127.0.0.1:${port}`;
    const c = config([{ name: 'nd', format: 'ndjson', destination: `s3://${bucket}/verify-down/` }], {
      region: 'us-east-1',
      endpoint,
      forcePathStyle: true,
    });
    const started = Date.now();
    const r = await cli(['verify', '-c', c.path]);
    expect(r.status).toBe(3);
    expect(r.stdout).toContain('unreachable: ');
    expect(r.stdout).toContain('endpoint unreachable (ECONNREFUSED)');
    expect(r.stdout).toContain(`Try: check s3.endpoint (${endpoint})`);
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('verifies a file:// destination (exit 0) and leaves the object in its _verify folder', async () => {
    const dir = join(temp.dir, 'file-dest');
    const c = config([{ name: 'pq', format: 'parquet', destination: `file://${dir}/` }]);
    const r = await cli(['verify', '-c', c.path]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`ok   file://${dir}/`);
    const files = readdirSync(join(dir, '_verify'));
    expect(files).toHaveLength(1);
    expect(`_verify/${files[0]}`).toMatch(new RegExp(`^${verifyKeyPattern.source}$`));
    expect(r.stdout).toContain(files[0]!);
  });

  it('--json prints {ok, destinations: [...]}, one entry per destination', async () => {
    const c = config([
      { name: 'pq', format: 'parquet', destination: `s3://${bucket}/verify-json/` },
      { name: 'gone', format: 'ndjson', destination: 's3://no-such-bucket/y/' },
    ]);
    const r = await cli(['verify', '-c', c.path, '--json']);
    expect(r.status).toBe(3);
    const out = JSON.parse(r.stdout);
    expect(out.ok).toBe(false);
    expect(out.destinations).toHaveLength(2);
    const [good, bad] = out.destinations;
    expect(good).toMatchObject({
      destination: `s3://${bucket}/verify-json/`,
      ok: true,
      wrote: true,
      readBack: 'ok',
      notes: [],
      cleanedUp: false,
    });
    expect(good.key).toMatch(new RegExp(`^${verifyKeyPattern.source}$`));
    expect(good.location).toBe(`s3://${bucket}/verify-json/${good.key}`);
    expect(bad).toMatchObject({ destination: 's3://no-such-bucket/y/', ok: false, wrote: false, failure: 'no_such_bucket', cleanedUp: false });
    expect(bad.message).toContain('bucket "no-such-bucket" does not exist');
    expect(bad.hint).toContain('create the bucket "no-such-bucket"');

    // --export narrows it to one destination: the working one passes.
    const one = await cli(['verify', '-c', c.path, '--json', '--export', 'pq']);
    expect(one.status, one.stderr).toBe(0);
    const narrowed = JSON.parse(one.stdout);
    expect(narrowed.ok).toBe(true);
    expect(narrowed.destinations.map((d: { destination: string }) => d.destination)).toEqual([`s3://${bucket}/verify-json/`]);
  });

  it('exits 2 for --export with an unknown name, listing the known ones', async () => {
    const c = config([{ name: 'nd', format: 'ndjson', destination: `s3://${bucket}/verify-usage/` }]);
    const r = await cli(['verify', '-c', c.path, '--export', 'nope']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('no export named nope (have: nd)');
    expect(await listKeys(server, bucket, 'verify-usage/')).toEqual([]);
  });
});

describe.concurrent('logbarge flush', () => {
  it('exports what `logbarge ingest` spooled: exit 0, keys printed, objects readable, spool empty', async () => {
    const exports = [
      { name: 'nd', format: 'ndjson', compression: 'gzip', destination: `s3://${bucket}/flush-ok/nd/` },
      { name: 'pq', format: 'parquet', compression: 'zstd', destination: `s3://${bucket}/flush-ok/pq/` },
    ];
    const c = config(exports);
    const sent = samples(50, `cli-flush-${Date.now()}`);
    const input = join(temp.dir, 'events.ndjson');
    writeFileSync(input, sent.map((s) => JSON.stringify(s.sent)).join('\n') + '\n');
    const ingest = await cli(['ingest', '-c', c.path, input]);
    expect(ingest.status, ingest.stderr).toBe(0);
    expect(ingest.stdout).toContain('ingest: 50 records: 50 accepted, 0 duplicates');
    expect(spoolDepth(c.spoolPath)).toBe(50);

    const r = await cli(['flush', '-c', c.path]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^nd: 2 object\(s\), 50 event\(s\), \d+ bytes$/m);
    expect(r.stdout).toMatch(/^pq: 2 object\(s\), 50 event\(s\), \d+ bytes$/m);
    const printed = [...r.stdout.matchAll(/^ {2}(dt=\S+)$/gm)].map((m) => m[1]!);
    expect(printed).toHaveLength(4);

    const ids = sent.map((s) => s.sent.EVENT_ID as string);
    for (const e of exports) {
      const objects = await downloadData(server, bucket, `flush-ok/${e.name}/`, join(temp.dir, `flush-ok-${e.name}`));
      expect(objects.map((o) => o.key).sort()).toEqual(printed.filter((k) => k.endsWith(e.format === 'parquet' ? '.parquet' : '.ndjson.gz')).sort());
      expect(objects.map((o) => o.key.slice(0, 14)).sort()).toEqual(['dt=2025-12-31/', 'dt=2026-03-14/']);
      const rows = await readFiles(objects.map((o) => ({ path: o.path, format: e.format })));
      expect(notExactlyOnce(ids, rows.map((x) => x.EVENT_ID as string))).toEqual({ missing: [], duplicated: [], unexpected: [] });
      const got = byEventId(rows);
      for (const s of sent) expect(got.get(s.sent.EVENT_ID as string)).toEqual(s.expected);
    }

    const status = await cli(['status', '-c', c.path, '--json']);
    expect(status.status).toBe(0);
    const report = JSON.parse(status.stdout);
    expect(report.spool.depth).toBe(0);
    expect(report.exports.map((e: any) => [e.name, e.pendingRows, e.openBatches, e.lastError])).toEqual([
      ['nd', 0, 0, null],
      ['pq', 0, 0, null],
    ]);
    expect(printed).toContain(report.exports[0].lastUpload.key);

    // A second flush has nothing to do, and says so.
    const again = await cli(['flush', '-c', c.path, '--json']);
    expect(again.status, again.stderr).toBe(0);
    const json = JSON.parse(again.stdout);
    expect(json.exports.map((e: any) => [e.export, e.batches, e.rows, e.keys])).toEqual([
      ['nd', 0, 0, []],
      ['pq', 0, 0, []],
    ]);
  });

  it('exits 1 for a missing bucket and keeps every event spooled', async () => {
    const c = config([{ name: 'nd', format: 'ndjson', destination: 's3://no-such-bucket/flush/' }]);
    const sent = samples(12, `cli-flush-missing-${Date.now()}`);
    const input = join(temp.dir, 'missing.ndjson');
    writeFileSync(input, sent.map((s) => JSON.stringify(s.sent)).join('\n'));
    expect((await cli(['ingest', '-c', c.path, input])).status).toBe(0);

    const r = await cli(['flush', '-c', c.path]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('flush: s3://no-such-bucket/flush/_verify/');
    expect(r.stderr).toContain('bucket "no-such-bucket" does not exist');
    expect(r.stderr).toContain('Try: create the bucket "no-such-bucket"');
    expect(r.stderr).toContain('flush: nothing was uploaded');
    expect(spoolDepth(c.spoolPath)).toBe(12);
    const report = JSON.parse((await cli(['status', '-c', c.path, '--json'])).stdout);
    expect(report.spool.depth).toBe(12);
    expect(report.exports[0].pendingRows).toBe(12);
  });

  it('exits 2 for --export with an unknown name', async () => {
    const c = config([{ name: 'nd', format: 'ndjson', destination: `s3://${bucket}/flush-usage/` }]);
    const r = await cli(['flush', '-c', c.path, '--export', 'nope']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('no export named nope (have: nd)');
  });
});

describe('logbarge run: SIGTERM', () => {
  it.each([
    ['after the destinations verified', true],
    ['right after the last 202, soon after start (verify may still be running)', false],
  ])('%s: exits 0 and the final cycle delivered every spooled event', async (_, ready) => {
    const prefix = `sigterm-${ready ? 'ready' : 'early'}/`;
    const exports = [
      { name: 'nd', format: 'ndjson', compression: 'none', destination: `s3://${bucket}/${prefix}nd/` },
      { name: 'pq', format: 'parquet', destination: `s3://${bucket}/${prefix}pq/` },
    ];
    const c = config(exports);
    const d = await spawnDaemon(c.path, { env: testCredentialEnv });
    try {
      if (ready) await waitReady(d.url);
      else await new Promise((r) => setTimeout(r, 100));
      const sent = samples(80, `cli-sigterm-${prefix}-${Date.now()}`);
      const acknowledged = await postAll(d.url, sent.map((s) => s.sent), 20);
      expect(spoolDepth(c.spoolPath)).toBe(80);
      const dataBefore = (await listKeys(server, bucket, prefix)).filter((k) => k.includes('dt='));
      expect(dataBefore).toEqual([]);

      d.child.kill('SIGTERM');
      const code = await within(30_000, 'the daemon to drain and exit', d.exited);
      expect(code, d.log()).toBe(0);
      expect(d.log()).toContain('"msg":"stopped"');

      expect(spoolDepth(c.spoolPath)).toBe(0);
      for (const e of exports) {
        const objects = await downloadData(server, bucket, `${prefix}${e.name}/`, join(temp.dir, `sigterm-${prefix.replace(/\W/g, '')}-${e.name}`));
        expect(objects).toHaveLength(2); // two event dates
        const rows = await readFiles(objects.map((o) => ({ path: o.path, format: e.format })));
        expect(notExactlyOnce(acknowledged, rows.map((x) => x.EVENT_ID as string))).toEqual({ missing: [], duplicated: [], unexpected: [] });
      }
      // No working directory owned by the stopped daemon is left (they are named by a random id, owner.json names the pid).
      const workRoot = join(c.dir, 'work');
      const owned = existsSync(workRoot)
        ? readdirSync(workRoot).filter((name) => {
            const owner = join(workRoot, name, 'owner.json');
            return existsSync(owner) && (JSON.parse(readFileSync(owner, 'utf8')) as { pid: number }).pid === d.child.pid;
          })
        : [];
      expect(owned).toEqual([]);
    } finally {
      if (d.child.exitCode === null && d.child.signalCode === null) d.child.kill('SIGKILL');
    }
  });

  it('S3 hangs during the final cycle: exits 0 within shutdownTimeoutMs, the events stay spooled, the next start delivers them once', async () => {
    const proxy = await startFaultProxy({ upstream: server.endpoint });
    try {
      const prefix = 'sigterm-hung/';
      const n = ++configCount;
      const spoolPath = join(temp.dir, `spool-${n}.db`);
      const path = writeConfig(
        temp.dir,
        {
          writerId: 'cli',
          server: { port: 0 },
          spool: { path: spoolPath, minFreeBytes: 0 },
          s3: { region: 'us-east-1', endpoint: proxy.endpoint, forcePathStyle: true },
          exports: [{ name: 'nd', format: 'ndjson', compression: 'none', schedule: rarely, destination: `s3://${bucket}/${prefix}` }],
          shutdownTimeoutMs: 2_000,
        },
        `config-${n}.json`,
      );
      const d = await spawnDaemon(path, { env: testCredentialEnv });
      const sent = samples(30, `cli-sigterm-hung-${Date.now()}`);
      const acknowledged = await postAll(d.url, sent.map((s) => s.sent), 10);
      const held = proxy.holdNext('before-upstream', isDataWrite);
      d.child.kill('SIGTERM');
      const h = await within(10_000, 'the final cycle to start uploading', held);
      const started = Date.now();
      const code = await within(15_000, 'the daemon to give up the final cycle and exit', d.exited);
      expect(code, d.log()).toBe(0);
      expect(Date.now() - started).toBeLessThan(2_000 + 3_000);
      expect(d.log()).toContain('final export incomplete');
      expect(spoolDepth(spoolPath)).toBe(30);
      const planned = readBatches(spoolPath, 'nd');
      expect(planned.map((b) => b.state)).toEqual(['planned', 'planned']);
      expect(h.path).toBe(`/${bucket}/${prefix}${planned[0]!.object_key}`);

      const d2 = await spawnDaemon(path, { env: testCredentialEnv });
      try {
        await waitReady(d2.url);
        d2.child.kill('SIGTERM');
        expect(await within(20_000, 'the second daemon to drain', d2.exited), d2.log()).toBe(0);
      } finally {
        if (d2.child.exitCode === null && d2.child.signalCode === null) d2.child.kill('SIGKILL');
      }
      expect(spoolDepth(spoolPath)).toBe(0);
      expect(readBatches(spoolPath, 'nd').map((b) => [b.object_key, b.state])).toEqual(planned.map((b) => [b.object_key, 'done']));
      const objects = await downloadData(server, bucket, prefix, join(temp.dir, 'sigterm-hung'));
      expect(objects.map((o) => o.key).sort()).toEqual(planned.map((b) => b.object_key).sort());
      const rows = await readFiles(objects.map((o) => ({ path: o.path, format: 'ndjson' })));
      expect(notExactlyOnce(acknowledged, rows.map((x) => x.EVENT_ID as string))).toEqual({ missing: [], duplicated: [], unexpected: [] });
    } finally {
      await proxy.stop();
    }
  });

  // Regression: the SIGTERM/SIGINT handlers used to be installed only after startDaemon()
  // resolved, while it was already listening and verifying; a SIGTERM in that window killed the
  // process with Node's default action (no drain, no final cycle).
  it('a SIGTERM right after "logbarge listening" still drains and exits 0', async () => {
    const c = config([{ name: 'nd', format: 'ndjson', destination: `s3://${bucket}/sigterm-at-start/` }]);
    const codes: (number | string)[] = [];
    for (let attempt = 0; attempt < 3; attempt++) {
      const d = await spawnDaemon(c.path, { env: testCredentialEnv }); // resolves on the "listening" log line
      d.child.kill('SIGTERM');
      codes.push(await within(20_000, 'the daemon to exit', d.exited));
    }
    expect(codes).toEqual([0, 0, 0]);
  });
});
