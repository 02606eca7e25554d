/**
 * `logbarge seal` as an operator runs it (the built binary in a child process), and killed with
 * SIGKILL mid-seal: while a sealed file is uploading, before its record reaches S3, and after the
 * record reached S3 but before the answer. Each kill leaves the old state or the new one, never a
 * mix: the generated Athena view, run in DuckDB over the downloaded objects, returns exactly the
 * old or exactly the new set of events, each once. The next run (after the dead sealer's lease
 * expired) finishes the day and removes the files the killed one left.
 *
 * The child's S3 endpoint is the fault proxy (test/support/fault-proxy.ts) in front of fauxqs; it
 * enforces If-None-Match and freezes the chosen request so the kill lands there.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { readRecord } from '../src/seal/record.js';
import type { ObjectStore } from '../src/store/store.js';
import { startTestDaemon, tempDir, type TestDaemon } from './support/daemon.js';
import { runCliAsync, waitFor } from './support/export-check.js';
import { samples, type Sample } from './support/events.js';
import { startFaultProxy, type FaultProxy } from './support/fault-proxy.js';
import { cliPath, writeConfig } from './support/process.js';
import { contentKey, sealedAthenaDdl, viewRows } from './support/seal.js';
import { openTestStore, startS3Server, testCredentialEnv, type S3TestServer } from './support/s3.js';
import { enforceIfNoneMatch } from './support/s3-proxy.js';

const bucket = 'seal-crash-bucket';
const destination = `s3://${bucket}/crash/pq/`;
const dt = '2026-03-14';
/**
 * Long enough that the next run checks while a killed sealer's lease lasts: about a second after
 * the lease was taken here, but more than 4 s on a loaded CI machine, where a 4 s lease had run
 * out and the check sealed instead of answering busy. Short enough to wait out, which three tests
 * below do.
 */
const leaseSeconds = 10;

// The two suites run side by side (the kill tests spend most of their time waiting out leases);
// the kill tests themselves run one after the other, each starting from the state the last left.
describe.concurrent('seal: kill -9 mid-seal leaves the old or the new state', () => {
  const work = tempDir('logbarge-seal-crash-');
  let server: S3TestServer;
  let proxy: FaultProxy;
  let a: TestDaemon;
  let b: TestDaemon;
  let store: ObjectStore;
  let configPath: string;
  let ddl: string;
  const stamp = `${process.pid}-${Date.now()}`;
  const onDay = (list: Sample[]) => list.filter((s) => s.expected.EVENT_DATE === dt);
  const shared = onDay(samples(60, `shared-${stamp}`));
  const onlyA = onDay(samples(20, `a-${stamp}`));
  const late = onDay(samples(20, `late-${stamp}`));
  const before = [...shared, ...onlyA].map((s) => contentKey(s.expected)).sort();
  const after = [...shared, ...onlyA, ...late].map((s) => contentKey(s.expected)).sort();
  let phase = 0;
  const view = async () => (await viewRows({ store, ddl, destination, dir: join(work.dir, `view-${phase++}`) })).map(contentKey).sort();

  /** Starts `logbarge seal --date` on the config; resolves its exit when it ends. */
  function startSeal(): { child: ChildProcess; exited: Promise<number | string>; out: () => string } {
    const child = spawn(process.execPath, [cliPath, 'seal', '-c', configPath, '--date', dt, '--json'], {
      env: { ...process.env, LOGBARGE_CONFIG: '', ...testCredentialEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c));
    const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
    return { child, exited, out: () => out };
  }

  /** Runs `logbarge seal --date` to its end; returns the day's outcome and what it deleted. */
  async function sealOnce(): Promise<{ outcome: string; deleted: string[] }> {
    const r = await runCliAsync(['seal', '-c', configPath, '--date', dt, '--json'], { env: testCredentialEnv });
    if (r.status !== 0) throw new Error(`seal exited ${r.status}: ${r.stdout}${r.stderr}`);
    const result = JSON.parse(r.stdout) as { exports: { days: { outcome: string }[]; deleted: string[] }[] };
    return { outcome: result.exports[0]!.days[0]!.outcome, deleted: result.exports[0]!.deleted };
  }

  /** When the newest lease generation of the day runs out (epoch ms). */
  async function leaseExpiry(): Promise<number> {
    const keys = (await store.list(`_seal_leases/dt=${dt}/`)).map((o) => o.key);
    const body = JSON.parse((await store.get(keys.at(-1)!)).toString('utf8')) as { expires_at: string; released: boolean };
    return body.released ? 0 : Date.parse(body.expires_at);
  }

  /** Waits until the killed sealer's lease has run out. */
  async function leaseExpired(): Promise<void> {
    const until = await leaseExpiry();
    await waitFor('the killed sealer\'s lease to run out', () => Date.now() > until + 50, { timeoutMs: leaseSeconds * 1000 + 5000, intervalMs: 100 });
  }

  beforeAll(async () => {
    server = await startS3Server();
    await server.createBucket(bucket);
    proxy = await startFaultProxy({ upstream: server.endpoint, rules: [enforceIfNoneMatch] });
    const open = { openStore: (d: string, c: { s3: Parameters<typeof openTestStore>[1] }) => openTestStore(d, c.s3) };
    const exp = { name: 'pq', format: 'parquet', destination, schedule: '0 0 1 1 *', seal: { leaseSeconds, targetFileBytes: 1024 } };
    a = await startTestDaemon({ writerId: 'pod-a', s3: server.s3Config(), exports: [exp] }, undefined, open);
    b = await startTestDaemon({ writerId: 'pod-b', s3: server.s3Config(), exports: [exp] }, undefined, open);
    expect((await a.post([...shared, ...onlyA].map((s) => s.sent))).status).toBe(202);
    expect((await b.post(shared.map((s) => s.sent))).status).toBe(202);
    for (const d of [a, b]) expect((await d.request('/v1/flush', { method: 'POST' })).status).toBe(200);
    configPath = writeConfig(work.dir, {
      writerId: 'sealer',
      spool: { path: join(work.dir, 'sealer', 'spool.db') },
      s3: { region: 'us-east-1', endpoint: proxy.endpoint, forcePathStyle: true },
      exports: [exp],
      log: { level: 'warn' },
    });
    store = openTestStore(destination, server.s3Config());
    ddl = sealedAthenaDdl(a.config, a.config.exports[0]!);
  });
  afterAll(async () => {
    store?.close();
    await a?.stop();
    await b?.stop();
    await proxy?.stop();
    await server?.stop();
    work.remove();
  });

  it.sequential('killed while a sealed file uploads: the day stays unsealed; the next run seals it and deletes the orphans', async () => {
    expect(await view()).toEqual(before);
    const run = startSeal();
    await proxy.holdNext('before-upstream', (r) => r.method === 'PUT' && r.path.includes('/_sealed/'));
    run.child.kill('SIGKILL');
    expect(await run.exited).toBe('SIGKILL');
    expect(await readRecord({ store, dt: dt })).toBeUndefined();
    expect(await view()).toEqual(before);
    // The dead sealer's lease still holds the day.
    expect((await sealOnce()).outcome).toBe('busy');

    await leaseExpired();
    expect((await sealOnce()).outcome).toBe('sealed');
    const record = (await readRecord({ store, dt: dt }))!;
    // Only the current seal's files remain: what the killed run uploaded was listed for deletion first.
    expect((await store.list(`_sealed/dt=${dt}/`)).map((o) => o.key)).toEqual(record.files.map((f) => f.key));
    expect(await view()).toEqual(before);
  });

  it.sequential('a re-seal killed before its record reaches S3 leaves the old seal in place', async () => {
    expect((await a.post(late.map((s) => s.sent))).status).toBe(202);
    expect((await a.request('/v1/flush', { method: 'POST' })).status).toBe(200);
    const old = (await readRecord({ store, dt: dt }))!;
    const run = startSeal();
    await proxy.holdNext('before-upstream', (r) => r.method === 'PUT' && r.path.endsWith(`/_seals/dt=${dt}.json`));
    run.child.kill('SIGKILL');
    expect(await run.exited).toBe('SIGKILL');
    expect((await readRecord({ store, dt: dt }))!.seal_id).toBe(old.seal_id);
    // The new seal's files are all in S3 by now, and ignored: the view is exactly the old state.
    expect((await store.list(`_sealed/dt=${dt}/`)).length).toBeGreaterThan(old.files.length);
    expect(await view()).toEqual(before);
  });

  it.sequential('a re-seal killed after its record reached S3 leaves the new seal in place', async () => {
    const old = (await readRecord({ store, dt: dt }))!;
    await leaseExpired();
    const run = startSeal();
    const held = await proxy.holdNext('after-upstream', (r) => r.method === 'PUT' && r.path.endsWith(`/_seals/dt=${dt}.json`));
    expect(held.upstreamStatus).toBe(200);
    run.child.kill('SIGKILL');
    expect(await run.exited).toBe('SIGKILL');
    const current = (await readRecord({ store, dt: dt }))!;
    expect(current.seal_id).not.toBe(old.seal_id);
    expect(current.replaces?.seal_id).toBe(old.seal_id);
    expect(await view()).toEqual(after);

    // The next run finds nothing left to do for the day.
    await leaseExpired();
    expect((await sealOnce()).outcome).toBe('unchanged');
  });
});

// Each run gets its own config and spool directory, so the runs can go at once.
describe.concurrent('logbarge seal: usage', () => {
  const work = tempDir('logbarge-seal-cli-');
  afterAll(() => work.remove());
  const config = (exports: Record<string, unknown>[]) => {
    const name = `c-${Math.random().toString(36).slice(2)}`;
    return writeConfig(work.dir, { spool: { path: join(work.dir, name, 'spool.db') }, exports }, `${name}.json`);
  };
  const plain = { name: 'plain', destination: `file://${work.dir}/plain/` };
  const sealed = { name: 'sealed', destination: `file://${work.dir}/sealed/`, seal: {} };

  it.each([
    ['no export has a seal section', [plain], [], /seal: no export has a "seal" section\nTry: add "seal": \{\} to an export/],
    ['--export names one without', [plain, sealed], ['--export', 'plain'], /seal: export plain has no "seal" section/],
    ['--export names none', [sealed], ['--export', 'nope'], /seal: no export named nope \(have: sealed\)/],
    ['--date is no date', [sealed], ['--date', '2026-02-30'], /seal: --date "2026-02-30" is not a YYYY-MM-DD date/],
    // Tomorrow, computed when the file loads: still not over if midnight UTC passes before the run.
    ['--date is tomorrow', [sealed], ['--date', new Date(Date.now() + 86_400_000).toISOString().slice(0, 10)], /is not over yet \(UTC\)/],
  ])('exits 2 when %s', async (_what, exports, args, message) => {
    const r = await runCliAsync(['seal', '-c', config(exports), ...args]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('seals a file:// destination and prints what it did', async () => {
    const r = await runCliAsync(['seal', '-c', config([sealed])]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('sealed: nothing to seal\n');
    const json = await runCliAsync(['seal', '-c', config([sealed]), '--date', '2026-03-14', '--json']);
    expect(json.status).toBe(0);
    expect(JSON.parse(json.stdout).exports[0]).toMatchObject({ export: 'sealed', days: [{ dt: '2026-03-14', outcome: 'empty' }], deleted: [], deleteErrors: [] });
  });
});
