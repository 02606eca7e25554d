/**
 * Group commit: concurrent appends (one per request) that arrive while the event loop is busy
 * are written in one SQLite transaction, and every caller's promise settles only after that
 * transaction is durable. One fsync then covers many requests.
 */
import { LogbargeError } from '../errors.js';
import type { AppendOutcome, Spool, SpoolLimits, SpoolRow } from './spool.js';

interface Pending {
  readonly rows: readonly SpoolRow[];
  readonly resolve: (outcome: AppendOutcome) => void;
  readonly reject: (err: unknown) => void;
}

/** Appends through group commit. */
export interface GroupCommitter {
  /** Resolves after the rows are durable; rejects with SPOOL_FULL or SPOOL_UNAVAILABLE, storing nothing. */
  append(rows: readonly SpoolRow[]): Promise<AppendOutcome>;
  /** Resolves when everything queued so far has been written. */
  drain(): Promise<void>;
}

/** Rows per transaction at most; beyond this a second transaction follows at once, so one commit stays short. */
const maxRowsPerTransaction = 20_000;

/** Creates a group committer over an open spool. */
export function createGroupCommitter(options: {
  spool: Spool;
  limits: SpoolLimits;
  now?: () => number;
  /** Called after each commit with the number of groups and rows written (metrics). */
  onCommit?: (info: { groups: number; rows: number; ms: number }) => void;
  /** Called when a transaction fails (disk full, I/O error); every group in it was rejected. */
  onError?: (err: unknown) => void;
}): GroupCommitter {
  const { spool, limits } = options;
  const now = options.now ?? Date.now;
  let queue: Pending[] = [];
  let scheduled = false;
  let idle: (() => void)[] = [];

  function flush(): void {
    scheduled = false;
    while (queue.length > 0) {
      let rows = 0;
      let take = 0;
      while (take < queue.length && (take === 0 || rows + (queue[take]?.rows.length ?? 0) <= maxRowsPerTransaction)) {
        rows += queue[take]?.rows.length ?? 0;
        take++;
      }
      const batch = queue.slice(0, take);
      queue = queue.slice(take);
      const started = performance.now();
      let outcomes: (AppendOutcome | 'full')[];
      try {
        outcomes = spool.appendGroups(
          batch.map((p) => p.rows),
          { now: now(), limits },
        );
      } catch (err) {
        const wrapped = new LogbargeError('SPOOL_UNAVAILABLE', `append to spool: ${(err as Error).message}`, {
          cause: err,
        });
        for (const p of batch) p.reject(wrapped);
        options.onError?.(err);
        continue;
      }
      options.onCommit?.({ groups: batch.length, rows, ms: performance.now() - started });
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
    const waiters = idle;
    idle = [];
    for (const w of waiters) w();
  }

  return {
    append(rows) {
      if (rows.length === 0) return Promise.resolve({ accepted: 0, duplicates: 0, duplicateRows: [], conflictRows: [] });
      return new Promise<AppendOutcome>((resolve, reject) => {
        queue.push({ rows, resolve, reject });
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      });
    },
    drain() {
      if (!scheduled && queue.length === 0) return Promise.resolve();
      return new Promise<void>((resolve) => idle.push(resolve));
    },
  };
}
