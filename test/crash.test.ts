/**
 * kill -9 right after a 202: every acknowledged event is in the spool when it is reopened.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
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

describe('kill -9 after 202', () => {
  it.each([1, 7, 40])('keeps every acknowledged event (kill after %i acknowledgements)', async (killAfter) => {
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
});
