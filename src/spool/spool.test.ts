import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createGroupCommitter } from './group-commit.js';
import { migrate, readMigrations } from './migrate.js';
import { openSpool, type Spool, type SpoolRow } from './spool.js';

const dirs: string[] = [];
function spoolPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'logbarge-spool-'));
  dirs.push(dir);
  return join(dir, 'sub', 'spool.db');
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const row = (id: string, dt = '2026-03-14'): SpoolRow => ({ eventId: id, dt, body: JSON.stringify({ EVENT_ID: id, pad: 'é' }) });
const roomy = { maxEvents: 1_000_000, maxBytes: 1e12 };

describe('spool', () => {
  it('creates the file, applies migrations once, and keeps a stable spool id', () => {
    const path = spoolPath();
    const a = openSpool({ path });
    const id = a.id;
    expect(id).toMatch(/^[0-9a-f]{8}$/);
    expect(a.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(a.db.pragma('synchronous', { simple: true })).toBe(2); // FULL
    a.close();
    const b = openSpool({ path });
    expect(b.id).toBe(id);
    expect(migrate(b.db)).toEqual([]);
    expect(b.db.prepare('SELECT count(*) FROM migrations').pluck().get()).toBe(readMigrations().length);
    b.close();
  });

  it('refuses a spool written by a newer version', () => {
    const path = spoolPath();
    openSpool({ path }).close();
    const db = new Database(path);
    db.prepare("INSERT INTO migrations VALUES (999, '000999.sql', 'now')").run();
    db.close();
    expect(() => openSpool({ path })).toThrow(/written by a newer logbarge \(migration 999/);
  });

  it('refuses to open a missing spool read-only, with a hint', () => {
    expect(() => openSpool({ path: spoolPath(), readonly: true })).toThrow(/no such file/);
  });

  it('appends groups, skipping duplicates within and across groups', () => {
    const s = openSpool({ path: spoolPath() });
    const out = s.appendGroups([[row('a'), row('b'), row('a')], [row('b'), row('c')]], { now: 1000, limits: roomy });
    expect(out).toEqual([
      { accepted: 2, duplicates: 1, duplicateRows: [2] },
      { accepted: 1, duplicates: 1, duplicateRows: [0] },
    ]);
    const stats = s.stats();
    expect(stats.depth).toBe(3);
    expect(stats.bytes).toBe(3 * Buffer.byteLength(row('a').body));
    expect(stats.oldestReceivedAt).toBe(1000);
    expect(stats.newestSeq).toBe(3);
    expect(s.counters()).toEqual({ depth: stats.depth, bytes: stats.bytes });
    expect(s.hasEventId('c')).toBe(true);
    expect(s.hasEventId('d')).toBe(false);
    s.close();
  });

  it('answers full for a group past a limit and stores nothing of it', () => {
    const s = openSpool({ path: spoolPath() });
    const out = s.appendGroups([[row('a'), row('b')], [row('c'), row('d')], [row('e')]], { now: 1, limits: { maxEvents: 3, maxBytes: 1e9 } });
    expect(out).toEqual([{ accepted: 2, duplicates: 0, duplicateRows: [] }, 'full', { accepted: 1, duplicates: 0, duplicateRows: [] }]);
    expect(s.hasEventId('c')).toBe(false);
    const bytes = Buffer.byteLength(row('x').body);
    expect(s.appendGroups([[row('f')]], { now: 1, limits: { maxEvents: 100, maxBytes: 3 * bytes } })).toEqual(['full']);
    expect(s.stats().depth).toBe(3);
    s.close();
  });

  it('forgets event ids older than the window, in chunks', () => {
    const s = openSpool({ path: spoolPath() });
    s.appendGroups([[row('old1'), row('old2'), row('old3')]], { now: 100, limits: roomy });
    s.appendGroups([[row('new')]], { now: 500, limits: roomy });
    expect(s.pruneEventIds(200, 2)).toBe(2);
    expect(s.pruneEventIds(200, 2)).toBe(1);
    expect(s.pruneEventIds(200, 2)).toBe(0);
    expect(s.hasEventId('old1')).toBe(false);
    expect(s.hasEventId('new')).toBe(true);
    s.close();
  });

  it('rolls the whole transaction back when SQLite runs out of space', () => {
    const s = openSpool({ path: spoolPath() });
    s.appendGroups([[row('first')]], { now: 1, limits: roomy });
    const pages = s.db.pragma('page_count', { simple: true }) as number;
    s.db.pragma(`max_page_count = ${pages + 2}`);
    const big = Array.from({ length: 2000 }, (_, i) => row(`big-${i}`));
    expect(() => s.appendGroups([big], { now: 2, limits: roomy })).toThrow(/full/i);
    expect(s.stats().depth).toBe(1);
    expect(s.hasEventId('big-0')).toBe(false);
    expect(s.db.pragma('integrity_check', { simple: true })).toBe('ok');
    s.db.pragma('max_page_count = 1073741823');
    expect(s.appendGroups([[row('after')]], { now: 3, limits: roomy })).toEqual([{ accepted: 1, duplicates: 0, duplicateRows: [] }]);
    s.close();
  });
});

describe('group commit', () => {
  let spool: Spool;
  afterEach(() => spool?.close());

  it('writes concurrent appends in few transactions and settles each after commit', async () => {
    spool = openSpool({ path: spoolPath() });
    const commits: number[] = [];
    const gc = createGroupCommitter({ spool, limits: roomy, onCommit: ({ groups }) => commits.push(groups) });
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => gc.append([row(`g${i}-a`), row(`g${i}-b`)])));
    expect(results.every((r) => r.accepted === 2)).toBe(true);
    expect(commits.reduce((a, b) => a + b, 0)).toBe(50);
    expect(commits.length).toBeLessThan(5);
    expect(spool.stats().depth).toBe(100);
  });

  it('rejects only the groups that do not fit', async () => {
    spool = openSpool({ path: spoolPath() });
    const gc = createGroupCommitter({ spool, limits: { maxEvents: 3, maxBytes: 1e9 } });
    const settled = await Promise.allSettled([gc.append([row('a'), row('b')]), gc.append([row('c'), row('d')]), gc.append([row('e')])]);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((settled[1] as PromiseRejectedResult).reason.code).toBe('SPOOL_FULL');
  });

  it('rejects every waiting group with SPOOL_UNAVAILABLE when the transaction fails', async () => {
    spool = openSpool({ path: spoolPath() });
    const gc = createGroupCommitter({ spool, limits: roomy });
    spool.db.pragma(`max_page_count = ${spool.db.pragma('page_count', { simple: true }) as number}`);
    const settled = await Promise.allSettled(
      Array.from({ length: 3 }, (_, i) => gc.append(Array.from({ length: 500 }, (_, j) => row(`u${i}-${j}`)))),
    );
    expect(settled.every((s) => s.status === 'rejected' && (s.reason as { code: string }).code === 'SPOOL_UNAVAILABLE')).toBe(true);
    expect(spool.stats().depth).toBe(0);
  });
});
