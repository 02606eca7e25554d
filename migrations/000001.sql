-- 000001: the spool. Append-only: never edit a migration that has shipped; add the next number.

-- One row per accepted event until every export has passed it. `body` is the canonical JSON
-- object (schema key order, null for missing), stored once and streamed out without re-parsing.
-- AUTOINCREMENT: a sequence number is never reused after pruning, because object names are
-- built from sequence ranges.
CREATE TABLE events (
  seq         INTEGER PRIMARY KEY AUTOINCREMENT,
  dt          TEXT    NOT NULL,  -- the event's own UTC date, its dt= partition
  received_at INTEGER NOT NULL,  -- epoch ms when the spool accepted it
  body        TEXT    NOT NULL
);

-- Idempotency: every EVENT_ID accepted within the window. Outlives export and pruning of
-- `events`, so a producer's retry after export is still a duplicate.
CREATE TABLE event_ids (
  event_id    TEXT    PRIMARY KEY,
  accepted_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX event_ids_by_accepted_at ON event_ids (accepted_at);

-- Counters kept in the same transactions as `events`, so limits and status need no scan.
CREATE TABLE spool_stats (
  id     INTEGER PRIMARY KEY CHECK (id = 1),
  depth  INTEGER NOT NULL,  -- rows in events
  bytes  INTEGER NOT NULL   -- sum of UTF-8 body sizes in events
);
INSERT INTO spool_stats (id, depth, bytes) VALUES (1, 0, 0);

-- Facts about this spool file (its random id, part of every object name).
CREATE TABLE spool_meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
