/**
 * One scheduler for the CPU slices of every large request in the process (NDJSON decoding,
 * mapping and validation; see slices.ts). Each request yielding on its own (setImmediate between
 * its slices) is not enough: Node runs every immediate queued before a turn in that same turn, so
 * three concurrent 5 MiB bodies put three slices back to back, and the loop's delay is their sum.
 * Here slices wait in one queue, and one turn of the event loop runs them (first come, first
 * served, at most one of each request, since a request queues its next slice only after its last
 * one ran) until turnBudgetMs is spent; the rest run in the next turn.
 */

/** Time one turn of the event loop gives to queued slices, in ms (a slice already started runs to its end). */
export const turnBudgetMs = 8;

interface Slice {
  readonly work: () => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: unknown) => void;
}

const queue: Slice[] = [];
let scheduled = false;

function runTurn(): void {
  scheduled = false;
  const started = performance.now();
  // At least one slice per turn, so a budget smaller than one slice still makes progress.
  for (let ran = 0; queue.length > 0 && (ran === 0 || performance.now() - started < turnBudgetMs); ran++) {
    const slice = queue.shift()!;
    try {
      slice.resolve(slice.work());
    } catch (err) {
      slice.reject(err);
    }
  }
  if (queue.length > 0) {
    scheduled = true;
    setImmediate(runTurn);
  }
}

/** Runs `work` (synchronous, a few ms at most) in a later turn of the event loop, within that turn's budget. */
export function inTurn<T>(work: () => T): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
    if (!scheduled) {
      scheduled = true;
      setImmediate(runTurn);
    }
  });
}
