/**
 * Every runtime SQL statement of the spool, prepared once per connection. Schema changes live in
 * `migrations/`; nothing outside src/spool/ holds SQL.
 */
import type Database from 'better-sqlite3';

/** Prepares the spool's statements on an open, migrated database. */
export function prepareStatements(db: Database.Database) {
  return {
    insertEventId: db.prepare<[string, number]>(
      'INSERT INTO event_ids (event_id, accepted_at) VALUES (?, ?) ON CONFLICT (event_id) DO NOTHING',
    ),
    insertEvent: db.prepare<[string, number, string]>(
      'INSERT INTO events (dt, received_at, body) VALUES (?, ?, ?)',
    ),
    readStats: db.prepare<[], { depth: number; bytes: number }>('SELECT depth, bytes FROM spool_stats WHERE id = 1'),
    addStats: db.prepare<[number, number]>(
      'UPDATE spool_stats SET depth = depth + ?, bytes = bytes + ? WHERE id = 1',
    ),
    oldestEvent: db.prepare<[], { seq: number; received_at: number }>(
      'SELECT seq, received_at FROM events ORDER BY seq LIMIT 1',
    ),
    newestSeq: db.prepare<[], number | null>("SELECT seq FROM sqlite_sequence WHERE name = 'events'").pluck(),
    hasEventId: db.prepare<[string], number>('SELECT 1 FROM event_ids WHERE event_id = ?').pluck(),
    pruneEventIds: db.prepare<[number, number]>(
      'DELETE FROM event_ids WHERE event_id IN (SELECT event_id FROM event_ids WHERE accepted_at < ? ORDER BY accepted_at LIMIT ?)',
    ),
    countEventIds: db.prepare<[], number>('SELECT count(*) FROM event_ids').pluck(),
    readMeta: db.prepare<[string], string>('SELECT value FROM spool_meta WHERE key = ?').pluck(),
    insertMeta: db.prepare<[string, string]>(
      'INSERT INTO spool_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING',
    ),
  };
}

/** The prepared statements of one connection. */
export type Statements = ReturnType<typeof prepareStatements>;
