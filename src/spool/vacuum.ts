/**
 * Giving freed pages back to the file system: pruning and trimming the idempotency window free
 * pages inside the spool file, and SQLite reuses them, but only incremental vacuum makes the file
 * itself smaller (a 3M-event backlog otherwise leaves a file of gigabytes behind for good).
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { retryBusy } from './busy.js';
import type Database from 'better-sqlite3';
import type { Spool } from './spool.js';

/**
 * Pages given back per step: 256 pages (1 MiB at 4 KiB pages). Moving pages is slow work for
 * SQLite: 2,048-page steps took up to 280 ms each under ingest load (the bench's 1M-row export,
 * longest stall 283 ms); 256-page steps took up to 50 ms (longest stall 63 ms). Ingest gets the
 * write lock between steps.
 */
export const reclaimStepPages = 256;

/**
 * Free pages below which nothing is reclaimed: 4,096 pages (16 MiB at 4 KiB pages) is left for
 * SQLite to reuse, so a spool in steady state does not shrink and grow the file every cycle.
 */
export const reclaimMinFreePages = 4_096;

/** What reclaimFreePages did. */
export interface ReclaimResult {
  /** Pages given back to the file system. */
  readonly pages: number;
  /** Bytes they held. */
  readonly bytes: number;
}

/**
 * Gives `pages` free pages back on connection `db` (one incremental vacuum step, in its own
 * transaction); returns the free pages left. Nothing on a spool without incremental auto-vacuum.
 */
export function incrementalVacuumStep(db: Database.Database, pages: number): number {
  if (db.pragma('auto_vacuum', { simple: true }) !== 2) return 0;
  db.pragma(`incremental_vacuum(${Math.max(1, Math.floor(pages))})`);
  return db.pragma('freelist_count', { simple: true }) as number;
}

/** Free pages of the spool as Spool.freePages reads them. */
export type FreePages = ReturnType<Spool['freePages']>;

/**
 * Gives back free pages that stayed free: `settled` is what Spool.freePages read at an earlier
 * point (the start of an export cycle), and at most that many
 * pages are given back, and only when they were at least `minFreePages` and at least half of the
 * file then. Pages freed since are kept: a steady stream refills what each cycle prunes, so pages
 * given back at every cycle (most of the file, when a cycle delivers all it holds) would be taken
 * from the file system again before the next one, at the cost of the shrink (2-3 ms per MiB on
 * the bench machine: 280 ms for 160 MiB, 2.2 s for 804 MiB) and of appends that grow the file. After a backlog, the pages the
 * stream did not reuse are given back at the next cycle. Without `settled`, the free pages now are
 * judged (and given back).
 *
 * Pages go back in steps of `stepPages` (on `step`'s connection) with a turn of the event loop between steps (a step that
 * finds another process's write lock is retried after a timer), then the WAL is checkpointed (the
 * file is truncated when the checkpoint completes; a reader in the way leaves that to a later
 * checkpoint).
 */
export async function reclaimFreePages(
  spool: Spool,
  options: {
    stepPages?: number;
    minFreePages?: number;
    stopped?: () => boolean;
    signal?: AbortSignal;
    settled?: FreePages;
    /** Runs one step, returning the free pages left (the daemon: on its append worker); Spool.reclaimStep by default. */
    step?: (pages: number) => number | Promise<number>;
  } = {},
): Promise<ReclaimResult> {
  const step = options.stepPages ?? reclaimStepPages;
  const start = spool.freePages();
  const judged = options.settled ?? start;
  if (!start.incremental || judged.free < (options.minFreePages ?? reclaimMinFreePages) || judged.free * 2 < judged.total) return { pages: 0, bytes: 0 };
  // Free pages to keep: those freed since `settled` was read.
  const keep = start.free - Math.min(judged.free, start.free);
  let left = start.free;
  while (left > keep && !options.stopped?.() && !options.signal?.aborted) {
    const pages = Math.min(step, left - keep);
    const next = await retryBusy(() => (options.step ? options.step(pages) : spool.reclaimStep(pages)), options.signal ? { signal: options.signal } : {});
    if (next >= left) break; // nothing moved (should not happen): do not spin
    left = next;
    if (left > keep) await yieldToLoop();
  }
  spool.db.pragma('wal_checkpoint(PASSIVE)');
  const pages = start.free - left;
  return { pages, bytes: pages * start.pageSize };
}
