/**
 * Group commit on the append worker thread, against a real spool file: the same outcomes as the
 * spool's own connection, SQLITE_BUSY kept (and retried by group commit), a dead worker replaced.
 */
import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAppendThread, type AppendThread } from './append-thread.js';
import { createGroupCommitter } from './group-commit.js';
import { contentKey, openSpool, type Spool, type SpoolRow } from './spool.js';

const dirs: string[] = [];
const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const limits = { maxEvents: 1_000_000, maxBytes: 1e12 };

function row(id: string, ms: number, body = `{"EVENT_ID":"${id}"}`): SpoolRow {
  return { eventId: id, eventMs: ms, dt: new Date(ms).toISOString().slice(0, 10), body, raw: id.endsWith('r') ? `{"raw":"${id}"}` : null, content: contentKey(body) };
}

async function setup(options: { busyTimeoutMs?: number } = {}): Promise<{ spool: Spool; thread: AppendThread; path: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'logbarge-append-thread-'));
  dirs.push(dir);
  const path = join(dir, 'spool.db');
  const spool = openSpool({ path });
  closers.push(() => spool.close());
  const thread = await startAppendThread({ path, synchronous: 'FULL', busyTimeoutMs: options.busyTimeoutMs ?? 1000 });
  closers.push(() => thread.close());
  return { spool, thread, path };
}

describe('append thread', () => {
  it('stores rows and answers duplicates, conflicts and full exactly as the spool connection does', async () => {
    const { spool, thread } = await setup();
    const t = Date.UTC(2026, 11, 3, 12);
    const first = await thread.appendGroups([[row('a', t), row('br', t + 1)], [row('c', t + 2)]], { now: 1000, limits });
    expect(first.outcomes).toEqual([
      { accepted: 2, duplicates: 0, duplicateRows: [], conflictRows: [] },
      { accepted: 1, duplicates: 0, duplicateRows: [], conflictRows: [] },
    ]);
    expect(first.counters).toEqual(spool.counters());
    expect(first.counters.depth).toBe(3);
    // A retry of 'a' (same time, same content), 'c' again with other content (a conflict), and a new one.
    const second = await thread.appendGroups([[row('a', t), row('c', t + 2, '{"EVENT_ID":"c","X":1}'), row('d', t + 3)]], { now: 2000, limits });
    expect(second.outcomes).toEqual([{ accepted: 2, duplicates: 1, duplicateRows: [0], conflictRows: [1] }]);
    const full = await thread.appendGroups([[row('e', t + 4)], [row('f', t + 5), row('g', t + 6)]], { now: 3000, limits: { maxEvents: 6, maxBytes: 1e12 } });
    expect(full.outcomes).toEqual([{ accepted: 1, duplicates: 0, duplicateRows: [], conflictRows: [] }, 'full']);
    // What the worker wrote, read through the daemon's own connection.
    const stored = spool.db.prepare('SELECT dt, received_at AS at, body, raw FROM events ORDER BY seq').all();
    expect(stored).toEqual([
      { dt: '2026-12-03', at: 1000, body: '{"EVENT_ID":"a"}', raw: null },
      { dt: '2026-12-03', at: 1000, body: '{"EVENT_ID":"br"}', raw: '{"raw":"br"}' },
      { dt: '2026-12-03', at: 1000, body: '{"EVENT_ID":"c"}', raw: null },
      { dt: '2026-12-03', at: 2000, body: '{"EVENT_ID":"c","X":1}', raw: null },
      { dt: '2026-12-03', at: 2000, body: '{"EVENT_ID":"d"}', raw: null },
      { dt: '2026-12-03', at: 3000, body: '{"EVENT_ID":"e"}', raw: null },
    ]);
    expect(spool.counters()).toEqual({ depth: 6, bytes: full.counters.bytes, keys: 6 });
  });

  it('sends a large group in chunks and commits it whole', async () => {
    const { spool, thread } = await setup();
    const t = Date.UTC(2026, 11, 3);
    const rows = Array.from({ length: 4_321 }, (_, i) => row(`big-${i}`, t + i));
    const r = await thread.appendGroups([rows], { now: 1, limits });
    expect(r.outcomes).toEqual([{ accepted: 4_321, duplicates: 0, duplicateRows: [], conflictRows: [] }]);
    expect(spool.db.prepare('SELECT count(*) FROM events').pluck().get()).toBe(4_321);
    expect(spool.db.prepare("SELECT body FROM events WHERE seq = (SELECT max(seq) FROM events)").pluck().get()).toBe('{"EVENT_ID":"big-4320"}');
  });

  it('keeps the rows of overlapping commits apart (each commit takes only its own chunks)', async () => {
    const { spool, thread } = await setup();
    const t = Date.UTC(2026, 11, 3);
    const batch = (name: string, n: number) => Array.from({ length: n }, (_, i) => row(`${name}-${i}`, t + i));
    // Sent in chunks with turns between them, so the three calls' messages interleave.
    const a = thread.appendGroups([batch('a', 2_000)], { now: 1, limits });
    const b = thread.appendGroups([batch('b', 500)], { now: 1, limits });
    await new Promise((resolve) => setImmediate(resolve));
    const c = thread.appendGroups([batch('c', 1_500)], { now: 1, limits });
    const results = await Promise.all([a, b, c]);
    expect(results.map((r) => r.outcomes)).toEqual([2_000, 500, 1_500].map((n) => [{ accepted: n, duplicates: 0, duplicateRows: [], conflictRows: [] }]));
    const stored = spool.db.prepare("SELECT substr(json_extract(body, '$.EVENT_ID'), 1, 1) AS name, count(*) AS n FROM events GROUP BY name ORDER BY name").all();
    expect(stored).toEqual([{ name: 'a', n: 2_000 }, { name: 'b', n: 500 }, { name: 'c', n: 1_500 }]);
  });

  it('probes the spool on its own connection, and reports the failure of that connection', async () => {
    const { spool, thread, path } = await setup({ busyTimeoutMs: 5 });
    await thread.probeWrite(Date.UTC(2026, 11, 3));
    expect(spool.db.prepare("SELECT value FROM spool_meta WHERE key = 'write_probe'").pluck().get()).toBe('2026-12-03T00:00:00.000Z');
    const holder = new Database(path, { timeout: 1 });
    closers.push(() => void holder.close());
    holder.exec('BEGIN IMMEDIATE');
    await expect(thread.probeWrite(Date.UTC(2026, 11, 4))).rejects.toMatchObject({ code: 'SQLITE_BUSY' });
    holder.exec('ROLLBACK');
  });

  it('keeps SQLITE_BUSY as the error code, and group commit retries it until the lock is free', async () => {
    const { spool, thread, path } = await setup({ busyTimeoutMs: 5 });
    const holder = new Database(path, { timeout: 1 });
    closers.push(() => void holder.close());
    holder.exec('BEGIN IMMEDIATE');
    const t = Date.UTC(2026, 11, 3);
    await expect(thread.appendGroups([[row('x', t)]], { now: 1, limits })).rejects.toMatchObject({ code: 'SQLITE_BUSY' });
    const committer = createGroupCommitter({ thread, limits });
    const stored = committer.append([row('y', t)]);
    let settled = false;
    void stored.finally(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(settled).toBe(false); // still waiting for the lock, not failed
    holder.exec('COMMIT');
    await expect(stored).resolves.toEqual({ accepted: 1, duplicates: 0, duplicateRows: [], conflictRows: [] });
    expect(spool.db.prepare('SELECT body FROM events').pluck().all()).toEqual(['{"EVENT_ID":"y"}']);
  });

  it('drain at the deadline: the commit in the worker ends and is answered; requests behind it are refused, storing nothing', async () => {
    const { spool, thread, path } = await setup({ busyTimeoutMs: 5 });
    const t = Date.UTC(2026, 11, 3);
    const holder = new Database(path, { timeout: 1 });
    closers.push(() => void holder.close());
    holder.exec('BEGIN IMMEDIATE');
    // One row per transaction: the first request is the commit in flight, the others wait behind it.
    const committer = createGroupCommitter({ thread, limits, maxRowsPerTransaction: 1 });
    const answers = ['first', 'second', 'third'].map((id, i) =>
      committer.append([row(id, t + i)]).then(
        (o) => `stored ${o.accepted}`,
        (err: { code?: string }) => `refused ${err.code}`,
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 100)); // the first is retrying the lock
    const deadline = new AbortController();
    deadline.abort(new Error('shutdownTimeoutMs elapsed'));
    const drained = committer.drain(deadline.signal);
    holder.exec('COMMIT'); // the lock frees: what is in the worker may still end, nothing is retried
    await drained;
    const got = await Promise.all(answers);
    expect(got.slice(1)).toEqual(['refused SPOOL_UNAVAILABLE', 'refused SPOOL_UNAVAILABLE']);
    // The first was either in the worker when the deadline came (stored) or waiting for a retry (refused).
    expect(['stored 1', 'refused SPOOL_UNAVAILABLE']).toContain(got[0]);
    const stored = spool.db.prepare('SELECT body FROM events').pluck().all();
    expect(stored).toEqual(got[0] === 'stored 1' ? ['{"EVENT_ID":"first"}'] : []);
  });

  it('fails the commits of a worker that died, and the next commit starts a new worker', async () => {
    const { spool, thread } = await setup();
    const t = Date.UTC(2026, 11, 3);
    await thread.appendGroups([[row('before', t)]], { now: 1, limits });
    const committer = createGroupCommitter({ thread, limits });
    thread.simulateCrash();
    // The worker dies before it reads this commit: its request gets 503.
    await expect(committer.append([row('lost', t + 1)])).rejects.toMatchObject({ code: 'SPOOL_UNAVAILABLE', message: expect.stringMatching(/append worker exited \(code 70\)/) });
    await expect(committer.append([row('after', t + 2)])).resolves.toMatchObject({ accepted: 1 });
    expect(spool.db.prepare('SELECT body FROM events ORDER BY seq').pluck().all()).toEqual(['{"EVENT_ID":"before"}', '{"EVENT_ID":"after"}']);
  });

  it('fails to start, naming the cause, when the spool file cannot be opened', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'logbarge-append-thread-'));
    dirs.push(dir);
    await expect(startAppendThread({ path: join(dir, 'gone', 'missing.db'), synchronous: 'FULL', busyTimeoutMs: 10 })).rejects.toThrow(/^open spool .*missing\.db in the append worker: Cannot open database because the directory does not exist$/);
  });

  it('prunes on the worker connection: pruneStep and pruneAll as on the spool connection, pruneAll within its bounds', async () => {
    const { spool, thread } = await setup();
    const t = Date.UTC(2026, 11, 3, 12);
    await thread.appendGroups([Array.from({ length: 10 }, (_, i) => row(`p${i}`, t + i))], { now: 1000, limits });
    // Nothing is delivered without a cursor: floor 0 prunes nothing.
    expect(await thread.pruneStep(0, 3)).toBe(0);
    expect(await thread.pruneStep(4, 3)).toBe(3);
    expect(await thread.pruneStep(4, 3)).toBe(1);
    expect(spool.db.prepare('SELECT min(seq) AS first, count(*) AS n FROM events').get()).toEqual({ first: 5, n: 6 });
    expect(spool.counters().depth).toBe(6);
    // pruneAll: undefined while events above the floor remain, or past its bounds.
    expect(await thread.pruneAll(9, 1_000, 1e9)).toBeUndefined();
    expect(await thread.pruneAll(10, 5, 1e9)).toBeUndefined();
    expect(await thread.pruneAll(10, 1_000, 10)).toBeUndefined();
    expect(await thread.pruneAll(10, 1_000, 1e9)).toBe(6);
    expect(spool.counters()).toEqual({ depth: 0, bytes: 0, keys: 10 });
    // Pages freed by a larger prune, given back on the worker's connection in steps.
    await thread.appendGroups([Array.from({ length: 300 }, (_, i) => row(`big${i}`, t + 100 + i, JSON.stringify({ EVENT_ID: `big${i}`, pad: 'x'.repeat(2_000) })))], { now: 1500, limits });
    expect(await thread.pruneAll(310, 1_000, 1e9)).toBe(300);
    const free = spool.freePages().free;
    expect(free).toBeGreaterThan(0);
    expect(await thread.reclaimStep(1)).toBe(free - 1);
    expect(await thread.reclaimStep(free)).toBe(0);
    // A failure there rejects with its code (the cycle retries SQLITE_BUSY, reports the rest).
    await thread.appendGroups([[row('q', t + 20)]], { now: 2000, limits });
    await thread.pragma('query_only = 1');
    await expect(thread.pruneStep(311, 10)).rejects.toMatchObject({ code: 'SQLITE_READONLY' });
  });

  it('refuses a request made just before close() with APPEND_WORKER_CLOSED instead of losing it in the worker', async () => {
    const { thread } = await setup();
    const pending = thread.pruneStep(1, 10);
    const closing = thread.close();
    await expect(pending).rejects.toMatchObject({ code: 'APPEND_WORKER_CLOSED' });
    await closing;
    await expect(thread.pragma('page_count')).rejects.toMatchObject({ code: 'APPEND_WORKER_CLOSED' });
  });
});
