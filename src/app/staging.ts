/**
 * Disk space of staged files, counted against `spool.minFreeBytes`: every staged file is reserved
 * at its expected size before it is written, an export whose file would not fit in the free space
 * fails that batch with the sizes (retried later), and ingest sees the part of each reservation
 * not written yet, so it stops (503 disk_low) before staging can fill the disk.
 */
import { statSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { LogbargeError } from '../errors.js';

/** Free bytes for unprivileged writers on the file system holding `dir`. */
export type FreeBytes = (dir: string) => Promise<number>;

/** statfs: blocks available to unprivileged users × block size. */
export const statfsFreeBytes: FreeBytes = async (dir) => {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
};

/** One file of a reservation: where it is written and how large it is expected to get. */
export interface StagedFile {
  readonly path: string;
  readonly bytes: number;
}

/** The reservations of one process. */
export interface StagingLedger {
  /**
   * Reserves each file's expected bytes (a staged file, and for Parquet the NDJSON copy DuckDB
   * reads); throws EXPORT_FAILED when their total would not fit. Returns the release.
   */
  reserve(staging: { files: readonly StagedFile[]; what: string }): Promise<() => void>;
  /** Reserved bytes not written yet (as of the last reserve, release or refresh). */
  outstanding(): number;
  /** Re-measures the staged files written so far; returns outstanding(). */
  refresh(): number;
}

/** Creates the ledger of staged files under `dir`. */
export function createStagingLedger(options: { dir: string; freeBytes?: FreeBytes }): StagingLedger {
  const freeBytes = options.freeBytes ?? statfsFreeBytes;
  // `seen`: the largest size a file was measured at. A file deleted after it was written (the
  // NDJSON copy of a Parquet batch) no longer takes room, and statfs already shows that.
  const held = new Set<{ path: string; bytes: number; seen: number }>();
  let outstanding = 0;
  const sizeOf = (path: string): number => {
    try {
      return statSync(path).size;
    } catch {
      return 0; // not created yet
    }
  };
  const refresh = (): number => {
    let sum = 0;
    for (const h of held) {
      h.seen = Math.max(h.seen, sizeOf(h.path));
      sum += Math.max(0, h.bytes - h.seen);
    }
    outstanding = sum;
    return sum;
  };
  return {
    async reserve({ files, what }) {
      const bytes = files.reduce((sum, f) => sum + f.bytes, 0);
      const free = await freeBytes(options.dir);
      const available = free - refresh();
      if (bytes > available) {
        throw new LogbargeError('EXPORT_FAILED', `${what}: needs about ${bytes} bytes of staging, ${Math.max(0, available)} free next to the spool (${options.dir})`, {
          hint: 'free disk space next to the spool; spool.minFreeBytes is the room ingest leaves for staging (raise it), and a smaller maxRowsPerFile stages smaller files',
        });
      }
      const entries = files.map((f) => ({ path: f.path, bytes: f.bytes, seen: 0 }));
      for (const e of entries) held.add(e);
      outstanding += bytes;
      return () => {
        for (const e of entries) held.delete(e);
        refresh();
      };
    },
    outstanding: () => outstanding,
    refresh,
  };
}
