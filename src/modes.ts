/**
 * File modes of what logbarge creates that holds events (the spool and its -wal/-shm, staged
 * export files, `logbarge ingest` temp files): private to the user running logbarge. Exported
 * objects in file:// destinations are not created with these; they are meant to be read by others.
 */

/** Files: owner read/write only. */
export const privateFileMode = 0o600;

/** Directories logbarge creates for them: owner only. */
export const privateDirMode = 0o700;
