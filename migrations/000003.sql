-- 000003: idempotency keyed by the event's own time and content; the window runs from delivery.

-- One row per stored event while it is remembered. A producer's retry repeats EVENT_TIME, so
-- keys arrive roughly in time order and inserts stay near the right edge of the index (a key
-- led by a random EVENT_ID dirtied about one page per row: probe-results.md measured 214k
-- inserts/s for a time-led key against 42k for event_ids). `seq` is the stored copy's
-- events.seq (the rowid, also in order), so the window can be trimmed by delivery.
--   duplicate: a row with the same (event_ms, id_hash, content) exists: stored once.
--   conflict:  rows with the same (event_ms, id_hash) exist, none with this content: stored too.
CREATE TABLE event_keys (
  seq      INTEGER PRIMARY KEY,  -- events.seq of the stored copy
  event_ms INTEGER NOT NULL,     -- EVENT_TIME, epoch ms
  id_hash  INTEGER NOT NULL,     -- first 48 bits of SHA-256(EVENT_ID)
  content  BLOB    NOT NULL      -- first 16 bytes of SHA-256 of the mapped record
);
CREATE INDEX event_keys_by_time ON event_keys (event_ms, id_hash, content);

-- Delivery marks: when the prune floor (the lowest cursor of every recorded export) reached
-- floor_seq, on the spool clock (spool_meta clock_ms: milliseconds a logbarge process had the
-- spool open, so a wall-clock jump while running does not move it). Keys of events at or below
-- a mark older than the window are forgotten.
CREATE TABLE delivery_marks (
  floor_seq INTEGER PRIMARY KEY,
  at_clock  INTEGER NOT NULL
);

-- Remembered keys, counted against spool.maxBytes without a scan.
ALTER TABLE spool_stats ADD COLUMN keys INTEGER NOT NULL DEFAULT 0;

-- event_ids (000001) stays, read-only, for the ids a spool accepted before this migration: a
-- retry of one of them is still a duplicate (by EVENT_ID alone, as before) until the old rule
-- (accepted_at older than the window) forgets it. New events are never written to it.
UPDATE spool_stats SET keys = (SELECT count(*) FROM event_ids) WHERE id = 1;
