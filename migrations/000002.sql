-- 000002: export cursors and batch plans.

-- Lets a batch read its rows by (dt, seq range) without scanning event bodies.
CREATE INDEX events_by_dt ON events (dt);

-- One row per export. Every event with seq <= committed_seq has been delivered by that export.
-- planned_seq > committed_seq means a plan covering (committed_seq, planned_seq] is open: its
-- batches are in export_batches and must all be delivered before a new plan is made.
CREATE TABLE export_cursors (
  export        TEXT    PRIMARY KEY,
  committed_seq INTEGER NOT NULL,
  planned_seq   INTEGER NOT NULL,
  last_success  INTEGER,          -- epoch ms of the last delivered batch
  last_error    TEXT,             -- last failure of a cycle, cleared by a success
  last_error_at INTEGER
) WITHOUT ROWID;

-- One row per object to write. Recorded before any byte is uploaded, with everything needed
-- to write it again identically: the same key, the same rows (dt + seq range), the same format.
CREATE TABLE export_batches (
  id           INTEGER PRIMARY KEY,
  export       TEXT    NOT NULL,
  plan_to      INTEGER NOT NULL,   -- planned_seq of the plan this batch belongs to
  dt           TEXT    NOT NULL,
  seq_from     INTEGER NOT NULL,
  seq_to       INTEGER NOT NULL,
  row_count    INTEGER NOT NULL,
  destination  TEXT    NOT NULL,
  format       TEXT    NOT NULL,
  compression  TEXT    NOT NULL,
  object_key   TEXT    NOT NULL,   -- relative to destination
  state        TEXT    NOT NULL CHECK (state IN ('planned', 'done')),
  attempts     INTEGER NOT NULL DEFAULT 0,
  last_error   TEXT,
  bytes        INTEGER,
  created_at   INTEGER NOT NULL,
  done_at      INTEGER,
  UNIQUE (destination, object_key)
);
CREATE INDEX export_batches_open ON export_batches (export, state);
