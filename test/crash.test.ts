/**
 * kill -9 right after a 202: every acknowledged event is in the spool when it is reopened.
 *
 * These tests prove ordering: a 202 is sent only after the spool transaction holding the request's
 * events has committed (the write-lock case pins that order), so nothing acknowledged is lost when
 * the PROCESS dies (the kill cases). They do not prove power-loss durability: kill -9 leaves the OS
 * page cache alone, so a committed transaction survives it with or without an fsync. Only
 * spool.synchronous = FULL (an fsync per commit) covers power loss, and no test here can show that.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openSpool } from '../src/spool/spool.js';
import { event, tempDir } from './support/daemon.js';
import { spawnDaemon, writeConfig } from './support/process.js';

async function postUntilKilled(url: string, child: import('node:child_process').ChildProcess, killAfter: number): Promise<string[]> {
  const acknowledged: string[] = [];
  let acks = 0;
  let killed = false;
  // 8 concurrent producers, each posting 5-event batches until the process dies.
  const producer = async (): Promise<void> => {
    while (!killed) {
      const batch = Array.from({ length: 5 }, () => event());
      try {
        const res = await fetch(`${url}/v1/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(batch),
        });
        if (res.status === 202) {
          await res.json();
          acknowledged.push(...batch.map((e) => e.EVENT_ID as string));
          acks++;
          if (acks >= killAfter && !killed) {
            killed = true;
            child.kill('SIGKILL');
          }
        }
      } catch {
        return; // connection refused or reset: the process is gone
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, producer));
  return acknowledged;
}

describe('kill -9 after 202 (ordering: a 202 only after the commit; not power-loss durability)', () => {
  it.each([1, 7, 40])('keeps every acknowledged event when the process dies (kill after %i acknowledgements)', async (killAfter) => {
    const temp = tempDir();
    try {
      const spoolPath = join(temp.dir, 'spool.db');
      const configPath = writeConfig(temp.dir, {
        writerId: 'crash',
        server: { port: 0 },
        spool: { path: spoolPath, minFreeBytes: 0 },
        exports: [{ name: 'default', destination: `file://${temp.dir}/exports/` }],
      });
      const d = await spawnDaemon(configPath);
      const acknowledged = await postUntilKilled(d.url, d.child, killAfter);
      expect(await d.exited).toBe('SIGKILL');
      expect(acknowledged.length).toBeGreaterThanOrEqual(killAfter * 5);

      const spool = openSpool({ path: spoolPath });
      try {
        const stored = new Set(
          (spool.db.prepare('SELECT body FROM events').pluck().all() as string[]).map((b) => JSON.parse(b).EVENT_ID as string),
        );
        const missing = acknowledged.filter((id) => !stored.has(id));
        expect(missing).toEqual([]);
        expect(acknowledged.every((id) => spool.hasEventId(id))).toBe(true);
        expect(spool.stats().depth).toBe(stored.size);
        expect(spool.db.pragma('integrity_check', { simple: true })).toBe('ok');
      } finally {
        spool.close();
      }
    } finally {
      temp.remove();
    }
  });
  // The test above cannot tell a 202 sent just before the commit from one sent after it: the
  // group commit runs on the next event-loop turn, before a kill from this process lands. Here this
  // process holds the spool's write lock, so the daemon cannot commit at all; a 202 while it is
  // held would acknowledge events that are not stored, and the kill -9 right after the answer
  // keeps a late commit from hiding that.
  it('answers no 202 while the spool cannot commit (another connection holds the write lock)', async () => {
    const temp = tempDir();
    try {
      const spoolPath = join(temp.dir, 'spool.db');
      const configPath = writeConfig(temp.dir, {
        writerId: 'crash-lock',
        server: { port: 0 },
        spool: { path: spoolPath, minFreeBytes: 0 },
        exports: [{ name: 'default', destination: `file://${temp.dir}/exports/` }],
      });
      const d = await spawnDaemon(configPath);
      const lock = new Database(spoolPath);
      lock.exec('BEGIN IMMEDIATE');
      const batch = [event(), event()];
      let status: number | string;
      try {
        // The request waits (pending, no answer) while the lock is held; the daemon dies meanwhile.
        let settled = false;
        const answer = fetch(`${d.url}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(batch) })
          .then(async (res) => (await res.text(), res.status))
          .catch(() => 'no answer' as const)
          .finally(() => (settled = true));
        await new Promise((resolve) => setTimeout(resolve, 500)); // lets the request reach the locked spool
        expect(settled).toBe(false);
        d.child.kill('SIGKILL');
        await d.exited;
        status = await answer;
      } finally {
        d.child.kill('SIGKILL');
        await d.exited;
        lock.exec('ROLLBACK');
        lock.close();
      }
      const spool = openSpool({ path: spoolPath });
      try {
        const stored = batch.filter((e) => spool.hasEventId(e.EVENT_ID as string));
        // No commit, so no 202 (and nothing stored): the request was still waiting for the lock.
        expect({ status, stored }).toEqual({ status: 'no answer', stored: [] });
      } finally {
        spool.close();
      }
    } finally {
      temp.remove();
    }
  });
});
