-- 000005: late objects of sealed days.

-- One row per object this spool delivered into a day that was already sealed, and that the day's
-- seal record does not cover: its events are not in the sealed files until the day is re-sealed
-- (`logbarge seal --date`). Removed once a seal record covers the object. Read by status and
-- /metrics; written only after the object was delivered, so it never holds up an export.
CREATE TABLE seal_late_objects (
  export      TEXT    NOT NULL,
  object_key  TEXT    NOT NULL,  -- relative to the export's destination
  dt          TEXT    NOT NULL,
  row_count   INTEGER NOT NULL,
  seal_id     TEXT    NOT NULL,  -- the seal the object arrived after
  detected_at INTEGER NOT NULL,  -- epoch ms
  PRIMARY KEY (export, object_key)
) WITHOUT ROWID;
