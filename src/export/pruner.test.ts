/**
 * workerPruner against a real spool file and a real append worker: its calls go to the worker
 * with the off-loop bounds, and to the spool's connection (with the event loop's bounds) once the
 * worker is closed or gone.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAppendThread, type AppendThread } from '../spool/append-thread.js';
import { pruneAllMaxBytes, pruneAllMaxRows } from '../spool/exports.js';
import { contentKey, openSpool, type Spool, type SpoolRow } from '../spool/spool.js';
import { offLoopPruneAllMaxBytes, offLoopPruneAllMaxRows, workerPruner } from './pruner.js';

const dirs: string[] = [];
const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function rows(from: number, n: number): SpoolRow[] {
  return Array.from({ length: n }, (_, k) => {
    const body = JSON.stringify({ EVENT_ID: `w-${from + k}` });
    return { eventId: `w-${from + k}`, eventMs: Date.UTC(2026, 2, 14) + from + k, dt: '2026-03-14', body, raw: null, content: contentKey(body) };
  });
}

async function setup(): Promise<{ spool: Spool; thread: AppendThread }> {
  const dir = mkdtempSync(join(tmpdir(), 'logbarge-pruner-'));
  dirs.push(dir);
  const path = join(dir, 'spool.db');
  const spool = openSpool({ path });
  closers.push(() => spool.close());
  const thread = await startAppendThread({ path, synchronous: 'NORMAL', busyTimeoutMs: 1000 });
  closers.push(() => thread.close());
  return { spool, thread };
}

describe('workerPruner', () => {
  it('sends pruneAll to the worker with the off-loop bounds, and every call to the spool connection once the worker is closed', async () => {
    const { spool, thread } = await setup();
    const calls: unknown[][] = [];
    const counted: AppendThread = {
      ...thread,
      pruneStep: async (...args) => (calls.push(['pruneStep', ...args]), thread.pruneStep(...args)),
      pruneAll: async (...args) => (calls.push(['pruneAll', ...args]), thread.pruneAll(...args)),
      reclaimStep: async (...args) => (calls.push(['reclaimStep', ...args]), thread.reclaimStep(...args)),
      pragma: async (...args) => (calls.push(['pragma', ...args]), thread.pragma(...args)),
    };
    const pruner = workerPruner({ spool, thread: counted });
    spool.appendGroups([rows(0, 10)], { now: 1, limits: { maxEvents: 1e9, maxBytes: 1e12 } });
    expect(await pruner.step(3, 2)).toBe(2);
    expect(await pruner.all(10)).toBe(8);
    await pruner.reclaimStep(1);
    await pruner.checkpoint();
    expect(calls).toEqual([
      ['pruneStep', 3, 2],
      ['pruneAll', 10, offLoopPruneAllMaxRows, offLoopPruneAllMaxBytes],
      ['reclaimStep', 1],
      ['pragma', 'wal_checkpoint(PASSIVE)'],
    ]);
    expect(offLoopPruneAllMaxRows).toBeGreaterThan(pruneAllMaxRows);
    expect(offLoopPruneAllMaxBytes).toBeGreaterThan(pruneAllMaxBytes);

    // Closed: the worker refuses each call (APPEND_WORKER_CLOSED), and the spool connection runs it.
    await thread.close();
    await expect(thread.pruneStep(12, 10)).rejects.toMatchObject({ code: 'APPEND_WORKER_CLOSED' });
    spool.appendGroups([rows(10, 5)], { now: 2, limits: { maxEvents: 1e9, maxBytes: 1e12 } });
    expect(await pruner.step(12, 10)).toBe(2);
    expect(await pruner.all(15)).toBe(3);
    await pruner.reclaimStep(1);
    await pruner.checkpoint();
    expect(spool.counters().depth).toBe(0);
  });

  it('runs on the spool connection a call the worker did not answer because it exited under it', async () => {
    const { spool, thread } = await setup();
    const pruner = workerPruner({ spool, thread });
    spool.appendGroups([rows(0, 4)], { now: 1, limits: { maxEvents: 1e9, maxBytes: 1e12 } });
    // The worker exits at the next commit, before the prune request posted after it.
    thread.simulateCrash();
    const commit = thread.appendGroups([rows(100, 1)], { now: 2, limits: { maxEvents: 1e9, maxBytes: 1e12 } }).catch((err: unknown) => err);
    const exited = thread.pruneStep(4, 10).catch((err: unknown) => err);
    expect(await pruner.step(4, 10)).toBe(4);
    expect(await commit).toMatchObject({ code: 'APPEND_WORKER_EXITED' });
    expect(await exited).toMatchObject({ code: 'APPEND_WORKER_EXITED' });
    expect(spool.counters().depth).toBe(0);
  });
});
