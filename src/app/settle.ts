/** Bounded waits of the drain. */

/** Waits for `work` to settle or `signal` to abort, whichever comes first; true when `work` settled. */
export async function settledBefore(work: Promise<unknown>, signal: AbortSignal | undefined): Promise<boolean> {
  if (!signal) {
    await work.catch(() => undefined);
    return true;
  }
  if (signal.aborted) return false;
  let onAbort: () => void = () => {};
  const aborted = new Promise<false>((resolve) => (onAbort = () => resolve(false)));
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    return await Promise.race([work.then(() => true, () => true), aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
