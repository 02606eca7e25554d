-- 000007: operator levers for a stuck export (`logbarge exports pause|resume|skip-batch`).

-- A paused export plans and uploads nothing until resumed; its cursor still holds pruning, so
-- nothing it has not delivered is deleted. Set and cleared by the CLI, read by every cycle.
ALTER TABLE export_cursors ADD COLUMN paused_at INTEGER;  -- epoch ms; NULL: running
ALTER TABLE export_cursors ADD COLUMN paused_reason TEXT;

-- A batch an operator skipped (a poison batch): state 'done' like a delivered one, so the
-- cursor moves past it, but its rows went to a local dead-letter file instead of the
-- destination. skipped_at and dead_letter tell it from a delivery in status and metrics.
ALTER TABLE export_batches ADD COLUMN skipped_at INTEGER;  -- epoch ms
ALTER TABLE export_batches ADD COLUMN dead_letter TEXT;    -- absolute path of the dead-letter file
