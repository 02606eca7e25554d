/**
 * Giving freed pages back to the file system: pruning and trimming the idempotency window free
 * pages inside the spool file, and SQLite reuses them, but only incremental vacuum makes the file
 * itself smaller (a 3M-event backlog otherwise leaves a file of gigabytes behind for good).
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { retryBusy } from './busy.js';
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
 * When the spool holds at least `minFreePages` free pages and they are at least half of the file
 * (a large prune, after a backlog: a routine prune's pages are reused by the next appends),
 * gives them all back in steps of
 * `stepPages` with a turn of the event loop between steps (a step that finds another process's
 * write lock is retried after a timer), then checkpoints the WAL (the file is
 * truncated when the checkpoint completes; a reader in the way leaves that to a later checkpoint).
 */
export async function reclaimFreePages(
  spool: Spool,
  options: { stepPages?: number; minFreePages?: number; stopped?: () => boolean; signal?: AbortSignal } = {},
): Promise<ReclaimResult> {
  const step = options.stepPages ?? reclaimStepPages;
  const start = spool.freePages();
  if (!start.incremental || start.free < (options.minFreePages ?? reclaimMinFreePages) || start.free * 2 < start.total) return { pages: 0, bytes: 0 };
  let left = start.free;
  while (left > 0 && !options.stopped?.() && !options.signal?.aborted) {
    const next = await retryBusy(() => spool.reclaimStep(step), options.signal ? { signal: options.signal } : {});
    if (next >= left) break; // nothing moved (should not happen): do not spin
    left = next;
    if (left > 0) await yieldToLoop();
  }
  spool.db.pragma('wal_checkpoint(PASSIVE)');
  const pages = start.free - left;
  return { pages, bytes: pages * start.pageSize };
}
