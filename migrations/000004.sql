-- 000004: the record as the sender sent it, beside the typed body.

-- RAW (DESIGN "Columns beyond the schema"): the sent record's JSON text (for EventBridge, the
-- whole envelope), NULL when the typed columns hold everything it carried. Stored once per event;
-- exports write it after the schema's columns unless the export says "raw": false.
ALTER TABLE events ADD COLUMN raw TEXT;
