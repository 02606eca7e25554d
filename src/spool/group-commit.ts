/**
 * Group commit: concurrent appends (one per request) that arrive while the event loop is busy
 * are written in one SQLite transaction, and every caller's promise settles only after that
 * transaction is durable. One fsync then covers many requests. Transactions are bounded in rows
 * and bytes, with a turn of the event loop between two of them; when another process holds the
 * write lock, the transaction is retried after a timer while its requests wait.
 */
import { LogbargeError } from '../errors.js';
import { busyDelay, busyGiveUpMs, isBusy } from './busy.js';
import type { AppendThread } from './append-thread.js';
import type { AppendOutcome, Spool, SpoolCounters, SpoolLimits, SpoolRow } from './spool.js';

interface Pending {
  readonly rows: readonly SpoolRow[];
  /** UTF-16 length of the rows' bodies and raw records (a cheap stand-in for their bytes). */
  readonly bytes: number;
  readonly resolve: (outcome: AppendOutcome) => void;
  readonly reject: (err: unknown) => void;
}

/** Appends through group commit. */
export interface GroupCommitter {
  /** Resolves after the rows are durable; rejects with SPOOL_FULL or SPOOL_UNAVAILABLE, storing nothing. */
  append(rows: readonly SpoolRow[]): Promise<AppendOutcome>;
  /**
   * Resolves when everything queued so far has been written. An aborted `signal` (the drain's
   * deadline) gives up the groups not yet handed to the worker (waiting behind a commit, or for
   * another process's write lock): they are rejected with SPOOL_UNAVAILABLE, storing nothing, a
   * commit in flight that finds the lock taken is not retried, and it resolves once a commit in
   * flight on the worker (if any) has ended.
   */
  drain(signal?: AbortSignal): Promise<void>;
}

/**
 * Rows and bytes (bodies and raw records) one transaction takes at most when it combines groups.
 * On the spool's own connection the commit runs on the event loop, so it is kept small and the
 * loop gets a turn between two commits. On the append worker the loop is not blocked; the bound
 * is larger (fewer fsyncs per request) and keeps a request's wait and the worker's hold of the
 * write lock (which the export cycle's writes wait for) short. A single group larger than the
 * bound (one big request) is written alone and whole: a request is all-or-nothing.
 */
const defaultMaxRowsPerTransaction = 2_000;
const defaultMaxBytesPerTransaction = 1 << 20;
const threadMaxRowsPerTransaction = 10_000;
const threadMaxBytesPerTransaction = 8 << 20;

/** Where group commit writes: the spool's own connection, or the daemon's append worker (append-thread.ts). */
export type GroupAppender =
  | { readonly spool: Spool; readonly thread?: undefined }
  | { readonly thread: AppendThread; readonly spool?: undefined };

/** Creates a group committer over an open spool (or its append worker). */
export function createGroupCommitter(
  options: GroupAppender & {
    limits: SpoolLimits;
    now?: () => number;
    /**
     * Called after each commit with the number of groups and rows written and how long the commit
     * took (metrics); `counters` are the spool's figures right after it when the worker read them.
     */
    onCommit?: (info: { groups: number; rows: number; ms: number; counters?: SpoolCounters }) => void;
    /** Called when a transaction fails (disk full, I/O error); every group in it was rejected. */
    onError?: (err: unknown) => void;
    /** Rows one transaction combines at most (default 2,000; 10,000 on the append worker). */
    maxRowsPerTransaction?: number;
    /** Characters (bodies and raw records) one transaction combines at most (default 1 Mi; 8 Mi on the append worker). */
    maxBytesPerTransaction?: number;
  },
): GroupCommitter {
  const { limits } = options;
  const now = options.now ?? Date.now;
  const maxRows = options.maxRowsPerTransaction ?? (options.thread ? threadMaxRowsPerTransaction : defaultMaxRowsPerTransaction);
  const maxBytes = options.maxBytesPerTransaction ?? (options.thread ? threadMaxBytesPerTransaction : defaultMaxBytesPerTransaction);
  let queue: Pending[] = [];
  // A flush is scheduled (setImmediate, or a timer after SQLITE_BUSY), or a worker commit is in flight.
  let scheduled = false;
  // The groups of the worker commit in flight (the head of the queue), and the timer of a retry after SQLITE_BUSY.
  let inFlight = 0;
  let retryTimer: NodeJS.Timeout | undefined;
  // Set once the drain's deadline passed: SQLITE_BUSY is no longer retried, it fails with this.
  let givenUp: LogbargeError | undefined;
  let idle: (() => void)[] = [];
  // While another process holds the write lock: when the first try failed, and retries so far.
  let busySince: number | undefined;
  let busyAttempts = 0;

  /** Writes one transaction's worth of the queue, then schedules the next (after the loop had a turn). */
  function flush(): void {
    scheduled = false;
    retryTimer = undefined;
    if (queue.length === 0) {
      const waiters = idle;
      idle = [];
      for (const w of waiters) w();
      return;
    }
    let rows = 0;
    let bytes = 0;
    let take = 0;
    while (take < queue.length) {
      const group = queue[take]!;
      const size = group.bytes;
      if (take > 0 && (rows + group.rows.length > maxRows || bytes + size > maxBytes)) break;
      rows += group.rows.length;
      bytes += size;
      take++;
    }
    const batch = queue.slice(0, take);
    const groups = batch.map((p) => p.rows);
    const started = performance.now();
    if (options.thread) {
      scheduled = true; // nothing else is written until the worker answers
      inFlight = batch.length;
      options.thread.appendGroups(groups, { now: now(), limits }).then(
        (result) => {
          inFlight = 0;
          committed(batch, rows, result.outcomes, performance.now() - started, result.counters);
          next();
        },
        (err: unknown) => {
          inFlight = 0;
          failed(batch, err);
        },
      );
      return;
    }
    let outcomes: (AppendOutcome | 'full')[];
    try {
      outcomes = options.spool.appendGroups(groups, { now: now(), limits });
    } catch (err) {
      failed(batch, err);
      return;
    }
    committed(batch, rows, outcomes, performance.now() - started);
    next();
  }

  /** Schedules the next flush after a turn of the event loop. */
  function next(): void {
    scheduled = true;
    setImmediate(flush);
  }

  function failed(batch: readonly Pending[], err: unknown): void {
    if (isBusy(err) && givenUp === undefined && Date.now() - (busySince ??= Date.now()) < busyGiveUpMs) {
      // Another process holds the write lock; nothing was stored. The groups stay first in the
      // queue, their requests pending, and the transaction is tried again after a timer.
      scheduled = true;
      retryTimer = setTimeout(flush, busyDelay(busyAttempts++));
      return;
    }
    queue = queue.slice(batch.length);
    busySince = undefined;
    busyAttempts = 0;
    const wrapped = isBusy(err) && givenUp ? givenUp : new LogbargeError('SPOOL_UNAVAILABLE', `append to spool: ${(err as Error).message}`, {
      cause: err,
      ...(isBusy(err) ? { hint: `another process held the spool's write lock for ${busyGiveUpMs / 1000} s; check for a stuck logbarge ingest or flush` } : {}),
    });
    for (const p of batch) p.reject(wrapped);
    options.onError?.(wrapped === givenUp ? givenUp : err);
    next();
  }

  function committed(batch: readonly Pending[], rows: number, outcomes: readonly (AppendOutcome | 'full')[], ms: number, counters?: SpoolCounters): void {
    queue = queue.slice(batch.length);
    busySince = undefined;
    busyAttempts = 0;
    options.onCommit?.({ groups: batch.length, rows, ms, ...(counters ? { counters } : {}) });
    batch.forEach((p, i) => {
      const outcome = outcomes[i];
      if (outcome === 'full' || outcome === undefined) {
        p.reject(
          new LogbargeError('SPOOL_FULL', 'append to spool: the spool is full', {
            hint: 'exports are behind; check `logbarge status` and the destination, or raise spool.maxEvents / spool.maxBytes',
          }),
        );
      } else {
        p.resolve(outcome);
      }
    });
  }

  return {
    append(rows) {
      if (rows.length === 0) return Promise.resolve({ accepted: 0, duplicates: 0, duplicateRows: [], conflictRows: [] });
      return new Promise<AppendOutcome>((resolve, reject) => {
        let bytes = 0;
        for (const row of rows) bytes += row.body.length + (row.raw?.length ?? 0);
        queue.push({ rows, bytes, resolve, reject });
        if (!scheduled) next();
      });
    },
    drain(signal) {
      if (!scheduled && queue.length === 0) return Promise.resolve();
      const done = new Promise<void>((resolve) => idle.push(resolve));
      if (!signal) return done;
      const giveUp = () => {
        // Everything not in the worker's hands now: rejected, and no retry runs any more.
        const waiting = queue.slice(inFlight);
        queue = queue.slice(0, inFlight);
        if (retryTimer !== undefined) {
          clearTimeout(retryTimer);
          retryTimer = undefined;
          scheduled = false;
        }
        busySince = undefined;
        busyAttempts = 0;
        givenUp ??= new LogbargeError('SPOOL_UNAVAILABLE', 'append to spool: shutting down before the spool could be written', {
          cause: signal.reason,
          hint: 'the drain deadline (shutdownTimeoutMs) passed before the request could be written (another process holding the spool write lock, or a slow disk); nothing of it was stored, the sender retries',
        });
        for (const p of waiting) p.reject(givenUp);
        if (!scheduled) next();
      };
      if (signal.aborted) giveUp();
      else signal.addEventListener('abort', giveUp, { once: true });
      return done.finally(() => signal.removeEventListener('abort', giveUp));
    },
  };
}
