/**
 * Where the daemon prunes: an export cycle's prune transactions run on the append worker's
 * connection (off the event loop), the drain's final cycle included (the worker closes after it).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { openSpool } from '../src/spool/spool.js';
import { startTestDaemon, tempDir, type TestDaemon } from './support/daemon.js';
import type { AppendThread } from '../src/spool/append-thread.js';

let d: TestDaemon | undefined;
const cleanups: (() => void)[] = [];
afterEach(async () => {
  await d?.stop();
  d = undefined;
  for (const c of cleanups.splice(0)) c();
});

const events = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => ({ EVENT_ID: `pw-${from + i}`, EVENT_TIME: '2026-03-14T09:26:53.589Z', ORGANIZATION_ID: 'o', EVENT_TYPE: 'user_login' }));

describe('pruning in the daemon', () => {
  it("runs on the append worker's connection: a worker that cannot write fails the prune, not the delivery", async () => {
    d = await startTestDaemon();
    expect((await d.post(events(50))).status).toBe(202);
    // query_only is a setting of one connection: only the worker's refuses writes.
    await d.daemon.appendThread.pragma('query_only = 1');
    const [refused] = await d.daemon.exporter.flush();
    expect(refused?.rows).toBe(50);
    expect(refused?.error).toMatch(/readonly|read-only/i);
    expect(d.daemon.spool.counters().depth).toBe(50);
    await d.daemon.appendThread.pragma('query_only = 0');
    const [pruned] = await d.daemon.exporter.flush();
    expect(pruned?.error).toBeUndefined();
    expect([pruned?.rows, pruned?.pruned]).toEqual([0, 50]);
    expect(d.daemon.spool.counters().depth).toBe(0);
  });

  it('prunes the final cycle\'s deliveries on the append worker, which closes after that cycle', async () => {
    const { dir, remove } = tempDir();
    cleanups.push(remove);
    d = await startTestDaemon({}, dir);
    expect((await d.post(events(40))).status).toBe(202);
    // The worker's prune calls, counted on their way to it.
    const thread = d.daemon.appendThread as { pruneAll: AppendThread['pruneAll']; pruneStep: AppendThread['pruneStep'] };
    const calls: string[] = [];
    const [pruneAll, pruneStep] = [thread.pruneAll.bind(thread), thread.pruneStep.bind(thread)];
    thread.pruneAll = async (...args) => (calls.push('pruneAll'), pruneAll(...args));
    thread.pruneStep = async (...args) => (calls.push('pruneStep'), pruneStep(...args));
    await d.stop();
    d = undefined;
    expect(calls).toContain('pruneAll');
    const spool = openSpool({ path: join(dir, 'spool.db') });
    try {
      expect(spool.db.prepare('SELECT committed_seq FROM export_cursors').pluck().all()).toEqual([40]); // delivered by the final cycle
      expect(spool.counters().depth).toBe(0); // and pruned
    } finally {
      spool.close();
    }
  });
});
