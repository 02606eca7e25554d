/**
 * Waiting for another connection's write lock without blocking the event loop. The daemon opens
 * the spool with a short busy timeout (SQLite's busy handler sleeps synchronously), and a write
 * that still finds the lock taken (SQLITE_BUSY: the daemon's own append worker in a commit, or a
 * `logbarge ingest` or `flush` process) is retried after a timer, with backoff, instead of failing.
 */

/** True when `err` is SQLite's "database is locked" (SQLITE_BUSY and its extended codes). */
export function isBusy(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

/** First wait after SQLITE_BUSY, in ms; doubled per retry up to busyRetryMaxMs. */
export const busyRetryFirstMs = 2;
/** Longest wait between two tries, in ms: a CLI writer's transactions are short, so the lock frees soon. */
export const busyRetryMaxMs = 50;
/**
 * How long a write keeps retrying a lock held by another process before it fails, in ms: far
 * beyond any transaction a logbarge CLI takes, so only a stuck foreign process makes it fail.
 */
export const busyGiveUpMs = 60_000;

/** The wait before retry number `attempt` (0-based). */
export function busyDelay(attempt: number): number {
  return Math.min(busyRetryMaxMs, busyRetryFirstMs * 2 ** attempt);
}

/**
 * Runs the write `fn` (synchronous, or a request to the append worker's connection); while it
 * throws or rejects with SQLITE_BUSY (it stored nothing: better-sqlite3 rolled the transaction
 * back), retries it after a timer, for up to `giveUpMs` (busyGiveUpMs).
 * An aborted `signal` ends the wait with the signal's reason (a drain past shutdownTimeoutMs
 * does not wait a minute for another process's lock).
 */
export async function retryBusy<T>(fn: () => T | Promise<T>, options: { signal?: AbortSignal; giveUpMs?: number } = {}): Promise<T> {
  const giveUpMs = options.giveUpMs ?? busyGiveUpMs;
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!isBusy(err) || Date.now() - started >= giveUpMs) throw err;
    }
    options.signal?.throwIfAborted();
    await new Promise((resolve) => setTimeout(resolve, busyDelay(attempt)));
  }
}
