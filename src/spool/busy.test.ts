/**
 * retryBusy against a real second connection holding the write lock of a real SQLite file.
 */
import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isBusy, retryBusy } from './busy.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Two connections to one WAL file; `holder` can take the write lock with BEGIN IMMEDIATE. */
function pair(): { writer: Database.Database; holder: Database.Database; close: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'logbarge-busy-'));
  dirs.push(dir);
  const path = join(dir, 'db.sqlite');
  const writer = new Database(path, { timeout: 1 });
  writer.pragma('journal_mode = WAL');
  writer.exec('CREATE TABLE t (x INTEGER)');
  const holder = new Database(path, { timeout: 1 });
  return {
    writer,
    holder,
    close: () => {
      writer.close();
      holder.close();
    },
  };
}

describe('retryBusy', () => {
  it('retries a write while another connection holds the lock, and then stores it once', async () => {
    const { writer, holder, close } = pair();
    holder.exec('BEGIN IMMEDIATE');
    setTimeout(() => holder.exec('COMMIT'), 40);
    let tries = 0;
    await retryBusy(() => {
      tries++;
      writer.prepare('INSERT INTO t VALUES (1)').run();
    });
    expect(tries).toBeGreaterThan(1);
    expect(writer.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 1 });
    close();
  });

  it('retries an asynchronous write (a request to the append worker) that rejects with SQLITE_BUSY', async () => {
    const { writer, holder, close } = pair();
    holder.exec('BEGIN IMMEDIATE');
    setTimeout(() => holder.exec('COMMIT'), 40);
    let tries = 0;
    await retryBusy(async () => {
      tries++;
      await new Promise((resolve) => setImmediate(resolve));
      writer.prepare('INSERT INTO t VALUES (1)').run();
    });
    expect(tries).toBeGreaterThan(1);
    expect(writer.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 1 });
    close();
  });

  it('rethrows other errors at once, and SQLITE_BUSY after giveUpMs', async () => {
    const { writer, holder, close } = pair();
    await expect(retryBusy(() => writer.exec('INSERT INTO nope VALUES (1)'))).rejects.toThrow(/no such table/);
    holder.exec('BEGIN IMMEDIATE');
    const err = await retryBusy(() => writer.exec('INSERT INTO t VALUES (1)'), { giveUpMs: 30 }).catch((e: unknown) => e);
    expect(isBusy(err)).toBe(true);
    holder.exec('ROLLBACK');
    close();
  });

  it('stops retrying when its signal aborts (a drain past shutdownTimeoutMs), with the signal\'s reason', async () => {
    const { writer, holder, close } = pair();
    holder.exec('BEGIN IMMEDIATE');
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('the exporter is closing')), 30);
    const err = await retryBusy(() => writer.exec('INSERT INTO t VALUES (1)'), { signal: controller.signal }).catch((e: unknown) => e);
    // The abort's reason, not SQLITE_BUSY: the abort ended it, not the 60 s give-up (the test's
    // own timeout would end a wait that long first).
    expect((err as Error).message).toBe('the exporter is closing');
    holder.exec('ROLLBACK');
    expect(writer.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 0 });
    close();
  });
});
