-- 000006: tamper evidence (export option `integrity`): what each object delivered holds, and the
-- signed, chained digests that list them.

-- One row per object an export with `integrity` delivered (quarantine objects included), written
-- in the transaction that marks its batch done, so no delivered object can miss its digest.
-- digest_end is NULL until a digest plan lists the object (it then holds that digest's period
-- end); rows are deleted once that digest is written.
CREATE TABLE delivered_objects (
  id           INTEGER PRIMARY KEY,
  export       TEXT    NOT NULL,
  destination  TEXT    NOT NULL,
  object_key   TEXT    NOT NULL,   -- relative to destination
  bytes        INTEGER NOT NULL,   -- size of the object as uploaded
  sha256       TEXT    NOT NULL,   -- hex SHA-256 of the object's bytes as uploaded
  row_count    INTEGER NOT NULL,
  dt           TEXT    NOT NULL,   -- YYYY-MM-DD, or quarantine:YYYY-MM-DD
  seq_from     INTEGER NOT NULL,
  seq_to       INTEGER NOT NULL,
  delivered_at INTEGER NOT NULL,   -- epoch ms (wall clock) of the commit: decides the period
  digest_end   INTEGER             -- period end (epoch ms) of the digest that lists it
);
CREATE INDEX delivered_objects_by_digest ON delivered_objects (export, digest_end);

-- One row per digest, recorded with its signed bytes before it is uploaded, so a crash uploads
-- exactly the same bytes under the same key again. The chain of an export continues from its
-- newest row (period_start = the previous period_end). `body` is dropped once written.
CREATE TABLE digests (
  export       TEXT    NOT NULL,
  period_end   INTEGER NOT NULL,   -- epoch ms
  period_start INTEGER NOT NULL,   -- epoch ms
  destination  TEXT    NOT NULL,
  writer       TEXT    NOT NULL,
  object_key   TEXT    NOT NULL,   -- relative to destination
  sha256       TEXT    NOT NULL,   -- hex SHA-256 of the digest object's bytes
  objects      INTEGER NOT NULL,   -- objects listed
  body         BLOB,               -- the digest object's bytes while planned
  state        TEXT    NOT NULL CHECK (state IN ('planned', 'written')),
  planned_at   INTEGER NOT NULL,
  written_at   INTEGER,
  PRIMARY KEY (export, period_end)
) WITHOUT ROWID;
