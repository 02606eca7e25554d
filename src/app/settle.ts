/** Bounded waits of the drain. */

/** Waits for `work` to settle or `signal` to abort, whichever comes first; true when `work` settled. */
export async function settledBefore(work: Promise<unknown>, signal: AbortSignal | undefined): Promise<boolean> {
  if (!signal) {
    await work.catch(() => undefined);
    return true;
  }
  if (signal.aborted) {
    work.catch(() => undefined); // not waited for; a later rejection is not unhandled
    return false;
  }
  let onAbort: () => void = () => {};
  const aborted = new Promise<false>((resolve) => (onAbort = () => resolve(false)));
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await Promise.race([work.then(() => true, () => true), aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/**
 * Waits for `work` to settle, for at most `graceMs` past the moment `signal` aborts (or past now,
 * when it has already aborted); true when `work` settled. For the last steps of the drain, which
 * usually end in a moment (a commit finishing, a thread closing) and should get it even once the
 * deadline has passed, but must not hold the process beyond the deadline by more than that.
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
