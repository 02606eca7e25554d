import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { createGroupCommitter } from './group-commit.js';
import { migrate, readMigrations } from './migrate.js';
import { registerExports, pruneDelivered } from './exports.js';
import { contentKey, keyBytes, openSpool, type Spool, type SpoolRow } from './spool.js';

const dirs: string[] = [];
function spoolPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'logbarge-spool-'));
  dirs.push(dir);
  return join(dir, 'sub', 'spool.db');
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const eventMs = Date.UTC(2026, 2, 14, 9, 26, 53, 589);
const row = (id: string, dt = '2026-03-14', extra: { ms?: number; text?: string } = {}): SpoolRow => {
  const body = JSON.stringify({ EVENT_ID: id, pad: 'é', ...(extra.text === undefined ? {} : { text: extra.text }) });
  return { eventId: id, eventMs: extra.ms ?? eventMs, dt, body, raw: null, content: contentKey(body) };
};
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
      { accepted: 2, duplicates: 1, duplicateRows: [2], conflictRows: [] },
      { accepted: 1, duplicates: 1, duplicateRows: [0], conflictRows: [] },
    ]);
    const stats = s.stats();
    expect(stats.depth).toBe(3);
    expect(stats.bytes).toBe(3 * Buffer.byteLength(row('a').body));
    expect(stats.oldestReceivedAt).toBe(1000);
    expect(stats.newestSeq).toBe(3);
    expect(s.counters()).toEqual({ depth: stats.depth, bytes: stats.bytes, keys: 3 });
    expect(s.hasEventId('c')).toBe(true);
    expect(s.hasEventId('d')).toBe(false);
    s.close();
  });

  it('answers full for a group past a limit and stores nothing of it', () => {
    const s = openSpool({ path: spoolPath() });
    const out = s.appendGroups([[row('a'), row('b')], [row('c'), row('d')], [row('e')]], { now: 1, limits: { maxEvents: 3, maxBytes: 1e9 } });
    const ok = (accepted: number) => ({ accepted, duplicates: 0, duplicateRows: [], conflictRows: [] });
    expect(out).toEqual([ok(2), 'full', ok(1)]);
    expect(s.hasEventId('c')).toBe(false);
    // Remembered keys count against maxBytes too: three events and three keys fill this budget.
    const bytes = Buffer.byteLength(row('x').body) + keyBytes;
    expect(s.appendGroups([[row('f')]], { now: 1, limits: { maxEvents: 100, maxBytes: 3 * bytes } })).toEqual(['full']);
    expect(s.stats().depth).toBe(3);
    expect(s.appendGroups([[row('f')]], { now: 1, limits: { maxEvents: 100, maxBytes: 4 * bytes } })).toEqual([ok(1)]);
    s.close();
  });

  it('stores the same EVENT_ID with other content as a conflict, and a repeat of either as a duplicate', () => {
    const s = openSpool({ path: spoolPath() });
    const a = row('same', '2026-03-14', { text: 'first' });
    const b = row('same', '2026-03-14', { text: 'second' });
    const later = row('same', '2026-03-14', { text: 'first', ms: eventMs + 1 });
    const out = s.appendGroups([[a], [b], [a, b], [later]], { now: 1, limits: roomy });
    expect(out).toEqual([
      { accepted: 1, duplicates: 0, duplicateRows: [], conflictRows: [] },
      { accepted: 1, duplicates: 0, duplicateRows: [], conflictRows: [0] },
      { accepted: 0, duplicates: 2, duplicateRows: [0, 1], conflictRows: [] },
      // Another EVENT_TIME is another key: stored, not compared with the others.
      { accepted: 1, duplicates: 0, duplicateRows: [], conflictRows: [] },
    ]);
    const bodies = s.db.prepare('SELECT body FROM events ORDER BY seq').pluck().all();
    expect(bodies).toEqual([a.body, b.body, later.body]);
    s.close();
  });

  it('remembers an undelivered event whatever its age, and forgets it a window after every export delivered it', () => {
    let wall = Date.UTC(2026, 2, 14);
    let mono = 0;
    const clocks = { wall: () => wall, monotonic: () => mono };
    const day = 86_400_000;
    const s = openSpool({ path: spoolPath(), clocks });
    registerExports(s, ['a']);
    s.appendGroups([[row('old1'), row('old2'), row('old3')]], { now: wall, limits: roomy });
    // Ten days pass with export a unable to deliver: the ids stay, however old.
    wall += 10 * day;
    mono += 10 * day;
    expect(s.forgetDelivered({ windowMs: 7 * day, limit: 10, wallNow: wall })).toBe(0);
    expect(s.appendGroups([[row('old1')]], { now: wall, limits: roomy })).toEqual([{ accepted: 0, duplicates: 1, duplicateRows: [0], conflictRows: [] }]);
    // a delivers all three; pruning records when.
    s.db.prepare("UPDATE export_cursors SET committed_seq = 3, planned_seq = 3 WHERE export = 'a'").run();
    expect(pruneDelivered(s, 10)).toBe(3);
    wall += 6 * day;
    mono += 6 * day;
    expect(s.forgetDelivered({ windowMs: 7 * day, limit: 10, wallNow: wall })).toBe(0);
    expect(s.appendGroups([[row('old2')]], { now: wall, limits: roomy })[0]).toMatchObject({ duplicates: 1 });
    wall += 1 * day + 1;
    mono += 1 * day + 1;
    expect(s.forgetDelivered({ windowMs: 7 * day, limit: 2, wallNow: wall })).toBe(2);
    expect(s.forgetDelivered({ windowMs: 7 * day, limit: 2, wallNow: wall })).toBe(1);
    expect(s.forgetDelivered({ windowMs: 7 * day, limit: 2, wallNow: wall })).toBe(0);
    expect(s.counters().keys).toBe(0);
    expect(s.hasEventId('old1')).toBe(false);
    s.close();
  });

  it('does not forget early when the wall clock jumps forward while running', () => {
    let wall = Date.UTC(2026, 2, 14);
    let mono = 0;
    const day = 86_400_000;
    const path = spoolPath();
    const s = openSpool({ path, clocks: { wall: () => wall, monotonic: () => mono } });
    registerExports(s, ['a']);
    s.appendGroups([[row('x')]], { now: wall, limits: roomy });
    s.db.prepare("UPDATE export_cursors SET committed_seq = 1, planned_seq = 1 WHERE export = 'a'").run();
    pruneDelivered(s, 10);
    // An NTP correction moves the wall clock a year ahead; only a minute really passed.
    wall += 365 * day;
    mono += 60_000;
    expect(s.forgetDelivered({ windowMs: 7 * day, limit: 10, wallNow: wall })).toBe(0);
    expect(s.appendGroups([[row('x')]], { now: wall, limits: roomy })[0]).toMatchObject({ duplicates: 1 });
    // The saved clock carries over: a process started later counts the wall time since it was saved.
    s.close();
    wall += 6 * day;
    const t = openSpool({ path, clocks: { wall: () => wall, monotonic: () => 0 } });
    expect(t.forgetDelivered({ windowMs: 7 * day, limit: 10, wallNow: wall })).toBe(0);
    t.close();
    wall += 1 * day;
    const u = openSpool({ path, clocks: { wall: () => wall, monotonic: () => 0 } });
    expect(u.forgetDelivered({ windowMs: 7 * day, limit: 10, wallNow: wall })).toBe(1);
    u.close();
  });

  it('keeps the ids of a pre-000003 spool as duplicates until the old window forgets them', () => {
    const path = spoolPath();
    openSpool({ path }).close();
    const db = new Database(path);
    db.prepare("INSERT INTO event_ids (event_id, accepted_at) VALUES ('legacy', 1000)").run();
    db.prepare('UPDATE spool_stats SET keys = keys + 1').run();
    db.close();
    const s = openSpool({ path });
    expect(s.appendGroups([[row('legacy')]], { now: 2000, limits: roomy })[0]).toMatchObject({ accepted: 0, duplicates: 1 });
    expect(s.forgetDelivered({ windowMs: 5000, limit: 10, wallNow: 3000 })).toBe(0);
    expect(s.forgetDelivered({ windowMs: 5000, limit: 10, wallNow: 7000 })).toBe(1);
    expect(s.appendGroups([[row('legacy')]], { now: 8000, limits: roomy })[0]).toMatchObject({ accepted: 1, duplicates: 0 });
    expect(s.counters().keys).toBe(1);
    s.close();
  });

  it('idempotency key bytes: keyBytes covers what one remembered key takes in the file', () => {
    const path = spoolPath();
    const s = openSpool({ path });
    const pages = () => (s.db.pragma('page_count', { simple: true }) as number) * (s.db.pragma('page_size', { simple: true }) as number);
    const before = pages();
    const n = 50_000;
    const insert = s.db.prepare('INSERT INTO event_keys (seq, event_ms, id_hash, content) VALUES (?, ?, ?, ?)');
    s.db.transaction(() => {
      for (let i = 1; i <= n; i++) insert.run(i, eventMs + i * 13, (i * 2654435761) % 2 ** 48, contentKey(String(i)));
    })();
    const perKey = (pages() - before) / n;
    expect(perKey).toBeGreaterThan(keyBytes / 3);
    expect(perKey).toBeLessThanOrEqual(keyBytes);
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
    expect(s.appendGroups([[row('after')]], { now: 3, limits: roomy })).toEqual([{ accepted: 1, duplicates: 0, duplicateRows: [], conflictRows: [] }]);
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

  it('bounds each transaction by rows and bytes, yields to the event loop between them, and keeps a large group whole', async () => {
    spool = openSpool({ path: spoolPath() });
    const events: string[] = [];
    const gc = createGroupCommitter({
      spool,
      limits: roomy,
      maxRowsPerTransaction: 100,
      maxBytesPerTransaction: 1e9,
      onCommit: ({ rows }) => {
        events.push(`commit ${rows}`);
        setImmediate(() => events.push('loop'));
      },
    });
    const groups = [60, 60, 150, 10].map((n, i) => Array.from({ length: n }, (_, j) => row(`y${i}-${j}`)));
    const results = await Promise.all(groups.map((g) => gc.append(g)));
    expect(results.map((r) => r.accepted)).toEqual([60, 60, 150, 10]);
    // 60 + 60 > 100: separate; the 150-row group alone and whole; a turn of the loop between each.
    expect(events.slice(0, 7)).toEqual(['commit 60', 'loop', 'commit 60', 'loop', 'commit 150', 'loop', 'commit 10']);

    const bytes: number[] = [];
    const big = (id: string): SpoolRow => ({ ...row(id), body: JSON.stringify({ id, pad: 'x'.repeat(1000) }) });
    const byBytes = createGroupCommitter({ spool, limits: roomy, maxRowsPerTransaction: 1e6, maxBytesPerTransaction: 5_000, onCommit: ({ rows }) => bytes.push(rows) });
    await Promise.all([0, 1, 2].map((i) => byBytes.append(Array.from({ length: 3 }, (_, j) => big(`b${i}-${j}`)))));
    expect(bytes).toEqual([3, 3, 3]);
  });

  it("waits for another connection's write lock by retrying later, not by failing, and keeps the request pending", async () => {
    const path = spoolPath();
    spool = openSpool({ path, busyTimeoutMs: 0 });
    const other = new Database(path);
    try {
      other.exec('BEGIN IMMEDIATE');
      const gc = createGroupCommitter({ spool, limits: roomy });
      let settled = false;
      const pending = gc.append([row('while-locked')]).finally(() => (settled = true));
      // Several retries come and go while the lock is held; the request stays pending.
      for (let i = 0; i < 20; i++) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(settled).toBe(false);
      other.exec('COMMIT');
      expect((await pending).accepted).toBe(1);
      expect(spool.stats().depth).toBe(1);
    } finally {
      other.close();
    }
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
