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

/**
 * Per spool connection, the fewest free pages seen since its last shrink (noteFreePages, and the
 * free pages a shrink left): a lower bound on the pages that stayed free all that time.
 */
const fewestFree = new WeakMap<Spool, number>();

/**
 * Notes the spool's free pages now, for reclaimFreePages's `stayedFree`: an export cycle notes
 * them when it starts and again right before it prunes (appends during its delivery may have
 * taken some).
 */
export function noteFreePages(spool: Spool): void {
  const free = spool.freePages().free;
  fewestFree.set(spool, Math.min(fewestFree.get(spool) ?? Number.POSITIVE_INFINITY, free));
}

/**
 * Gives free pages back to the file system when they are at least `minFreePages` and at least
 * half of the file: all the free pages, or with `stayedFree` only those that stayed free since
 * the last shrink through this connection (the fewest noted since by noteFreePages, or what that
 * shrink left free), and never before a first note. The pages freed since are kept: a steady
 * stream refills what each cycle prunes, so pages given back at every cycle (most of the file,
 * when a cycle delivers all it holds) would be taken from the file system again before the next
 * one, at the cost of the shrink (2-3 ms per MiB on the bench machine: 280 ms for 160 MiB, 2.2 s
 * for 804 MiB) and of appends that grow the file. After a backlog, the pages the stream did not
 * reuse are given back at the next cycle. The record is one per spool connection, so the
 * overlapping cycles of several exports neither give back the same pages twice nor, between
 * them, those one of them just pruned.
 *
 * Pages go back in steps of `stepPages` (on `step`'s connection) with a turn of the event loop
 * between steps (a step that finds another process's write lock is retried after a timer), then
 * the WAL is checkpointed (`checkpoint`, the spool's connection by default; the file is truncated
 * when the checkpoint completes; a reader in the way leaves that to a later checkpoint).
 */
export async function reclaimFreePages(
  spool: Spool,
  options: {
    stepPages?: number;
    minFreePages?: number;
    stopped?: () => boolean;
    signal?: AbortSignal;
    /** Give back only the pages that stayed free since the last shrink (see noteFreePages). */
    stayedFree?: boolean;
    /** Runs one step, returning the free pages left (the daemon: on its append worker); Spool.reclaimStep by default. */
    step?: (pages: number) => number | Promise<number>;
    /** Runs the passive WAL checkpoint after the steps (the daemon: on its append worker). */
    checkpoint?: () => unknown;
  } = {},
): Promise<ReclaimResult> {
  const step = options.stepPages ?? reclaimStepPages;
  const start = spool.freePages();
  const allowance = options.stayedFree ? Math.min(start.free, fewestFree.get(spool) ?? 0) : start.free;
  let left = start.free;
  try {
    if (!start.incremental || allowance < (options.minFreePages ?? reclaimMinFreePages) || allowance * 2 < start.total) return { pages: 0, bytes: 0 };
    // Free pages to keep: those freed since the last shrink (with stayedFree).
    const keep = start.free - allowance;
    while (left > keep && !options.stopped?.() && !options.signal?.aborted) {
      const pages = Math.min(step, left - keep);
      const next = await retryBusy(() => (options.step ? options.step(pages) : spool.reclaimStep(pages)), options.signal ? { signal: options.signal } : {});
      // Nothing moved: pages freed meanwhile on another connection (a trim, a prune) make up the
      // count; what is left is for the next shrink.
      if (next >= left) break;
      left = next;
      if (left > keep) await yieldToLoop();
    }
    await (options.checkpoint ? options.checkpoint() : spool.db.pragma('wal_checkpoint(PASSIVE)'));
    const pages = start.free - left;
    return { pages, bytes: pages * start.pageSize };
  } finally {
    // The next interval starts from what this one leaves free (unknown, and so nothing, when the
    // spool cannot be read: a closed connection must not hide the error that ended the steps).
    if (options.stayedFree) {
      try {
        fewestFree.set(spool, spool.freePages().free);
      } catch {
        fewestFree.delete(spool);
      }
    }
  }
}
