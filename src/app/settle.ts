/** Bounded waits of the drain and of cycles waiting for one another. */

/**
 * Waits for `work` to settle, for at most `graceMs` past the moment `signal` aborts (or past now,
 * when it has already aborted); true when `work` settled. With a grace, the last steps of the
 * drain (a commit finishing, a thread closing) still get a moment once the deadline has passed,
 * without holding the process beyond it by more than that. Never rejects; a rejection of `work`
 * counts as settled.
 */
export async function settledWithin(work: Promise<unknown>, signal: AbortSignal, graceMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: () => void = () => {};
  const expired = new Promise<false>((resolve) => {
    const start = () => {
      timer = setTimeout(() => resolve(false), graceMs);
    };
    if (signal.aborted) start();
    else {
      onAbort = start;
      signal.addEventListener('abort', onAbort, { once: true });
    }
  });
  try {
    return await Promise.race([work.then(() => true, () => true), expired]);
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
  }
}

/**
 * Waits for `work` to settle or `signal` to abort, whichever comes first; true when `work`
 * settled (work that has already settled when the signal is found aborted still counts). Without
 * a signal, waits for `work`. Never rejects.
 */
export async function settledBefore(work: Promise<unknown>, signal: AbortSignal | undefined): Promise<boolean> {
  if (signal) return settledWithin(work, signal, 0);
  await work.catch(() => undefined);
  return true;
}
