/**
 * Every runtime SQL statement of the spool, prepared once per connection. Schema changes live in
 * `migrations/`; nothing outside src/spool/ holds SQL.
 */
import type Database from 'better-sqlite3';

/** Prepares the spool's statements on an open, migrated database. */
export function prepareStatements(db: Database.Database) {
  return {
    // --- idempotency (000003: event_keys; event_ids is the read-only legacy table) -------------
    keysAtTime: db.prepare<[number, number], Buffer>(
      'SELECT content FROM event_keys INDEXED BY event_keys_by_time WHERE event_ms = ? AND id_hash = ?',
    ).pluck(),
    insertKey: db.prepare<[number | bigint, number, number, Buffer]>(
      'INSERT INTO event_keys (seq, event_ms, id_hash, content) VALUES (?, ?, ?, ?)',
    ),
    legacyHasId: db.prepare<[string], number>('SELECT 1 FROM event_ids WHERE event_id = ?').pluck(),
    legacyAny: db.prepare<[], number>('SELECT 1 FROM event_ids LIMIT 1').pluck(),
    insertEvent: db.prepare<[string, number, string, string | null]>(
      'INSERT INTO events (dt, received_at, body, raw) VALUES (?, ?, ?, ?)',
    ),
    readStats: db.prepare<[], { depth: number; bytes: number; keys: number }>('SELECT depth, bytes, keys FROM spool_stats WHERE id = 1'),
    addStats: db.prepare<[number, number]>(
      'UPDATE spool_stats SET depth = depth + ?, bytes = bytes + ? WHERE id = 1',
    ),
    addKeys: db.prepare<[number]>('UPDATE spool_stats SET keys = keys + ? WHERE id = 1'),
    oldestEvent: db.prepare<[], { seq: number; received_at: number }>(
      'SELECT seq, received_at FROM events ORDER BY seq LIMIT 1',
    ),
    newestSeq: db.prepare<[], number | null>("SELECT seq FROM sqlite_sequence WHERE name = 'events'").pluck(),
    // Diagnostics and tests only: id_hash has no index of its own, so this scans event_keys.
    hasIdHash: db.prepare<[number], number>('SELECT 1 FROM event_keys WHERE id_hash = ? LIMIT 1').pluck(),
    newestMark: db.prepare<[], number | null>('SELECT max(floor_seq) FROM delivery_marks').pluck(),
    insertMark: db.prepare<[number, number]>('INSERT INTO delivery_marks (floor_seq, at_clock) VALUES (?, ?) ON CONFLICT (floor_seq) DO NOTHING'),
    expiredFloor: db.prepare<[number], number | null>('SELECT max(floor_seq) FROM delivery_marks WHERE at_clock <= ?').pluck(),
    dropMarks: db.prepare<[number]>('DELETE FROM delivery_marks WHERE floor_seq < ?'),
    trimKeysChunk: db.prepare<[number, number]>(
      'DELETE FROM event_keys WHERE seq IN (SELECT seq FROM event_keys WHERE seq <= ? ORDER BY seq LIMIT ?)',
    ),
    trimLegacyChunk: db.prepare<[number, number]>(
      'DELETE FROM event_ids WHERE event_id IN (SELECT event_id FROM event_ids WHERE accepted_at < ? ORDER BY accepted_at LIMIT ?)',
    ),
    countKeys: db.prepare<[], number>('SELECT (SELECT count(*) FROM event_keys) + (SELECT count(*) FROM event_ids)').pluck(),
    clockMeta: db.prepare<[], string>("SELECT value FROM spool_meta WHERE key = 'clock'").pluck(),
    writeClock: db.prepare<[string]>(
      "INSERT INTO spool_meta (key, value) VALUES ('clock', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    ),
    readMeta: db.prepare<[string], string>('SELECT value FROM spool_meta WHERE key = ?').pluck(),
    writeProbe: db.prepare<[string]>(
      "INSERT INTO spool_meta (key, value) VALUES ('write_probe', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    ),
    insertMeta: db.prepare<[string, string]>(
      'INSERT INTO spool_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING',
    ),
    // --- exports -----------------------------------------------------------------------------
    readCursor: db.prepare<[string], CursorRow>('SELECT * FROM export_cursors WHERE export = ?'),
    readCursors: db.prepare<[], CursorRow>('SELECT * FROM export_cursors ORDER BY export'),
    insertCursor: db.prepare<[string]>(
      'INSERT INTO export_cursors (export, committed_seq, planned_seq) VALUES (?, 0, 0) ON CONFLICT (export) DO NOTHING',
    ),
    minCommitted: db.prepare<[], number | null>('SELECT min(committed_seq) FROM export_cursors').pluck(),
    deleteCursor: db.prepare<[string]>('DELETE FROM export_cursors WHERE export = ?'),
    deleteBatchesOf: db.prepare<[string]>('DELETE FROM export_batches WHERE export = ?'),
    setPlanned: db.prepare<[number, string]>('UPDATE export_cursors SET planned_seq = ? WHERE export = ?'),
    commitPlan: db.prepare<[number, string, number]>(
      'UPDATE export_cursors SET committed_seq = planned_seq, last_success = ?, last_error = NULL, last_error_at = NULL WHERE export = ? AND planned_seq = ?',
    ),
    // A skipped batch (`exports skip-batch`) moves the cursor without a delivery: no last_success.
    commitPlanSkipped: db.prepare<[string, number]>(
      'UPDATE export_cursors SET committed_seq = planned_seq WHERE export = ? AND planned_seq = ?',
    ),
    noteSuccess: db.prepare<[number, string]>(
      'UPDATE export_cursors SET last_success = ?, last_error = NULL, last_error_at = NULL WHERE export = ?',
    ),
    noteCursorError: db.prepare<[string, number, string]>(
      'UPDATE export_cursors SET last_error = ?, last_error_at = ? WHERE export = ?',
    ),
    maxSeq: db.prepare<[], number | null>('SELECT max(seq) FROM events').pluck(),
    // Planning reads only the index entries of the plan's range: the next dt after a dt (one
    // seek, a skip over the index), and a dt's next run of rows after a seq (a range search
    // of (dt, seq) pairs, LIMIT-bounded). Cost follows the plan, not the spool.
    nextDt: db.prepare<[string], string>('SELECT dt FROM events INDEXED BY events_by_dt WHERE dt > ? ORDER BY dt LIMIT 1').pluck(),
    runOfDt: db.prepare<[string, number, number, number], { n: number; first: number | null; last: number | null }>(
      'SELECT count(*) AS n, min(seq) AS first, max(seq) AS last FROM (SELECT seq FROM events INDEXED BY events_by_dt WHERE dt = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?)',
    ),
    insertBatch: db.prepare<[string, number, string, number, number, number, string, string, string, string, number]>(
      `INSERT INTO export_batches (export, plan_to, dt, seq_from, seq_to, row_count, destination, format, compression, object_key, state, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'planned', ?)`,
    ),
    lastDestination: db.prepare<[string], string>('SELECT destination FROM export_batches WHERE export = ? ORDER BY id DESC LIMIT 1').pluck(),
    batchOwner: db.prepare<[string, string], string>('SELECT export FROM export_batches WHERE destination = ? AND object_key = ?').pluck(),
    openBatches: db.prepare<[string], BatchRow>(
      "SELECT * FROM export_batches WHERE export = ? AND state = 'planned' ORDER BY id",
    ),
    readBatch: db.prepare<[number], BatchRow>('SELECT * FROM export_batches WHERE id = ?'),
    markBatchDone: db.prepare<[number, number, number]>(
      "UPDATE export_batches SET state = 'done', bytes = ?, done_at = ? WHERE id = ? AND state = 'planned'",
    ),
    rekeyBatch: db.prepare<[string, number, string]>(
      "UPDATE export_batches SET object_key = ? WHERE id = ? AND object_key = ? AND state = 'planned'",
    ),
    countOpenInPlan: db.prepare<[string, number], number>(
      "SELECT count(*) FROM export_batches WHERE export = ? AND plan_to = ? AND state = 'planned'",
    ).pluck(),
    noteBatchError: db.prepare<[string, number]>(
      'UPDATE export_batches SET attempts = attempts + 1, last_error = ? WHERE id = ?',
    ),
    // Stored sizes only: octet_length reads the record header, not the (overflow) pages of the text.
    batchPageSizes: db.prepare<[string, number, number, number], [number, number]>(
      'SELECT seq, octet_length(body) + coalesce(octet_length(raw), 0) FROM events INDEXED BY events_by_dt WHERE dt = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?',
    ).raw(),
    batchPage: db.prepare<[string, number, number, number], [number, string, string | null]>(
      'SELECT seq, body, raw FROM events INDEXED BY events_by_dt WHERE dt = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?',
    ).raw(),
    // The next page's extent: rows, last seq, stored bytes and how many rows carry a raw record.
    // The sizes are computed inside the subquery, where octet_length and IS NOT NULL read the
    // record header only; selecting body and raw there would load every value in full (a review
    // measured 500 ms against 2.8 ms for 3,000 rows of 200 KB raw records).
    batchPageExtent: db.prepare<[string, number, number, number], { n: number; last: number | null; bytes: number; raws: number | null }>(
      'SELECT count(*) AS n, max(seq) AS last, total(b) AS bytes, sum(r) AS raws FROM (SELECT seq, octet_length(body) + coalesce(octet_length(raw), 0) AS b, octet_length(raw) IS NOT NULL AS r FROM events INDEXED BY events_by_dt WHERE dt = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?)',
    ),
    // The next page of (after, upTo] in one pass (readBatchLines): its row count and last seq, how
    // many rows have no raw record and a body of at most the given bytes, and those bodies joined
    // by "\n" with their seqs, as batchPageLines gives them. The per-row bound keeps the joined
    // value within the page's byte bound without reading the sizes first (batchPageExtent).
    batchPageLinesBounded: db.prepare<[number, string, number, number, number], [number, number | null, number, Buffer | null, string]>(
      'SELECT count(*), max(seq), count(line), CAST(group_concat(line, char(10)) AS BLOB), json_group_array(seq) FROM (SELECT seq, CASE WHEN raw IS NULL AND octet_length(body) <= ? THEN body END AS line FROM events INDEXED BY events_by_dt WHERE dt = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?)',
    ).raw(),
    // The bodies of (after, upTo] joined by "\n" in one value, and their seqs as a JSON array in
    // the order the aggregate saw the rows (the caller checks it ascends). The ordered subquery
    // feeds the aggregate as a co-routine; `group_concat(… ORDER BY seq)` would sort the rows
    // again in a temporary B-tree (2.5-3× slower for the bench's 200,000 rows).
    batchPageLines: db.prepare<[string, number, number], [Buffer | null, string]>(
      'SELECT CAST(group_concat(body, char(10)) AS BLOB), json_group_array(seq) FROM (SELECT seq, body FROM events INDEXED BY events_by_dt WHERE dt = ? AND seq > ? AND seq <= ? ORDER BY seq)',
    ).raw(),
    // The quarantine rows still held (a range of the dt index: 'quarantine:' < dt < 'quarantine;').
    quarantineHeld: db.prepare<[], number>("SELECT count(*) FROM events INDEXED BY events_by_dt WHERE dt > 'quarantine:' AND dt < 'quarantine;'").pluck(),
    pendingCount: db.prepare<[number], number>('SELECT count(*) FROM events WHERE seq > ?').pluck(),
    oldestPending: db.prepare<[number], number>('SELECT received_at FROM events WHERE seq > ? ORDER BY seq LIMIT 1').pluck(),
    batchSummary: db.prepare<[string], { open: number; failing: number; attempts: number | null; last_error: string | null }>(
      `SELECT count(*) AS open, count(last_error) AS failing, sum(attempts) AS attempts,
              (SELECT last_error FROM export_batches b2 WHERE b2.export = b.export AND b2.state = 'planned' AND b2.last_error IS NOT NULL ORDER BY id DESC LIMIT 1) AS last_error
         FROM export_batches b WHERE export = ? AND state = 'planned'`,
    ),
    lastDone: db.prepare<[string], { object_key: string; destination: string; done_at: number; bytes: number; row_count: number }>(
      "SELECT object_key, destination, done_at, bytes, row_count FROM export_batches WHERE export = ? AND state = 'done' AND skipped_at IS NULL ORDER BY done_at DESC, id DESC LIMIT 1",
    ),
    pruneChunkStats: db.prepare<[number, number], { n: number; bytes: number }>(
      // Sizes computed inside the subquery: there octet_length reads the record header only (the
      // body and raw record are not loaded; selecting them there would load them in full).
      'SELECT count(*) AS n, total(b) AS bytes FROM (SELECT octet_length(body) + coalesce(octet_length(raw), 0) AS b FROM events WHERE seq <= ? ORDER BY seq LIMIT ?)',
    ),
    pruneChunk: db.prepare<[number, number]>(
      'DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE seq <= ? ORDER BY seq LIMIT ?)',
    ),
    // No WHERE clause: SQLite truncates the table and its indexes instead of deleting row by row.
    pruneAll: db.prepare('DELETE FROM events'),
    clearStats: db.prepare('UPDATE spool_stats SET depth = 0, bytes = 0 WHERE id = 1'),
    // --- operator levers for a stuck export (000007) ----------------------------------------------
    setPaused: db.prepare<[number | null, string | null, string]>('UPDATE export_cursors SET paused_at = ?, paused_reason = ? WHERE export = ?'),
    markBatchSkipped: db.prepare<[number, number, string, number]>(
      "UPDATE export_batches SET state = 'done', bytes = 0, done_at = ?, skipped_at = ?, dead_letter = ? WHERE id = ? AND state = 'planned'",
    ),
    // The export's last error, when it is the given batch's last failure (a skipped batch is reported as skipped).
    clearCursorErrorOfBatch: db.prepare<[string, number]>(
      'UPDATE export_cursors SET last_error = NULL, last_error_at = NULL WHERE export = ? AND last_error = (SELECT last_error FROM export_batches WHERE id = ?)',
    ),
    skippedSummary: db.prepare<[string], { batches: number; rows: number }>(
      'SELECT count(*) AS batches, total(row_count) AS rows FROM export_batches WHERE export = ? AND skipped_at IS NOT NULL',
    ),
    // The open batch that failed most often: what keeps a stuck export from moving (attempts reset by delivery: a done batch is not open).
    stuckBatch: db.prepare<[string], { id: number; object_key: string; dt: string; row_count: number; attempts: number; last_error: string | null }>(
      "SELECT id, object_key, dt, row_count, attempts, last_error FROM export_batches WHERE export = ? AND state = 'planned' AND attempts > 0 ORDER BY attempts DESC, id LIMIT 1",
    ),
    // --- late objects of sealed days (000004) ------------------------------------------------------
    batchRows: db.prepare<[string, string], number>('SELECT row_count FROM export_batches WHERE destination = ? AND object_key = ?').pluck(),
    insertLate: db.prepare<[string, string, string, number, string, number]>(
      'INSERT INTO seal_late_objects (export, object_key, dt, row_count, seal_id, detected_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (export, object_key) DO NOTHING',
    ),
    deleteLate: db.prepare<[string, string]>('DELETE FROM seal_late_objects WHERE export = ? AND object_key = ?'),
    deleteLateOf: db.prepare<[string]>('DELETE FROM seal_late_objects WHERE export = ?'),
    lateOf: db.prepare<[string], LateRow>('SELECT * FROM seal_late_objects WHERE export = ? ORDER BY dt, object_key'),
  };
}

/** A row of export_cursors. */
export interface CursorRow {
  export: string;
  committed_seq: number;
  planned_seq: number;
  last_success: number | null;
  last_error: string | null;
  last_error_at: number | null;
  /** Epoch ms when `exports pause` paused it (000007); null while it runs. */
  paused_at: number | null;
  paused_reason: string | null;
}

/** A row of export_batches. */
export interface BatchRow {
  id: number;
  export: string;
  plan_to: number;
  dt: string;
  seq_from: number;
  seq_to: number;
  row_count: number;
  destination: string;
  format: string;
  compression: string;
  object_key: string;
  state: 'planned' | 'done';
  attempts: number;
  last_error: string | null;
  bytes: number | null;
  created_at: number;
  done_at: number | null;
  /** Epoch ms when `exports skip-batch` skipped it (000007): done without a delivery. */
  skipped_at: number | null;
  /** Where its rows went when skipped (a local dead-letter file). */
  dead_letter: string | null;
}

/** A row of seal_late_objects. */
export interface LateRow {
  export: string;
  object_key: string;
  dt: string;
  row_count: number;
  seal_id: string;
  detected_at: number;
}

/** The prepared statements of one connection. */
export type Statements = ReturnType<typeof prepareStatements>;
