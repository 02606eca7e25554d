/**
 * Where an export cycle's prune and shrink transactions run. On the spool's own connection they
 * block the event loop, so pruneAll keeps short bounds there (loopPruner: `logbarge flush`,
 * tests). The daemon runs them on its append worker (workerPruner), where the event loop goes on
 * and pruneAll may truncate far more at once.
 */
import type { AppendThread } from '../spool/append-thread.js';
import { pruneAll, pruneAllMaxRows, pruneStep } from '../spool/exports.js';
import type { Spool } from '../spool/spool.js';

/** Runs the prune's and shrink's transactions: pruneStep and pruneAll (exports.ts), incremental vacuum steps and the checkpoint after them (vacuum.ts). */
export interface Pruner {
  step(floor: number, chunk: number): Promise<number>;
  /** pruneAll within this pruner's bounds: undefined when it does not apply (then steps prune). */
  all(floor: number): Promise<number | undefined>;
  /** One step of giving free pages back (reclaimFreePages), returning the free pages left. */
  reclaimStep(pages: number): Promise<number>;
  /** The passive WAL checkpoint after a shrink's steps. */
  checkpoint(): Promise<void>;
}

/**
 * Most events a pruneAll off the event loop (on the append worker) deletes: 2,000,000. It holds the
 * write lock, so appends wait for it, about 0.3 ms per MB freed (250 ms for 1,000,000 bench
 * events, ~690 MB, on the bench machine), against ~2.5 s for the same events in 2,000-row steps.
 * It applies only when every event was delivered (nobody sent any since the plan), so few
 * appends wait.
 */
export const offLoopPruneAllMaxRows = 2_000_000;
/** Most stored bytes (bodies and raw records) a pruneAll off the event loop deletes: 1 GiB (about 300 ms). */
export const offLoopPruneAllMaxBytes = 1024 * 1024 * 1024;

/** The pruner on the spool's own connection: on the event loop, so pruneAll keeps its short bounds (pruneAllMaxRows, pruneAllMaxBytes). */
export function loopPruner(spool: Spool): Pruner {
  return {
    step: async (floor, chunk) => pruneStep(spool, floor, chunk),
    all: async (floor) => pruneAll(spool, floor, pruneAllMaxRows),
    reclaimStep: async (pages) => spool.reclaimStep(pages),
    checkpoint: async () => {
      spool.db.pragma('wal_checkpoint(PASSIVE)');
    },
  };
}

/** Codes of append-thread.ts's errors for a worker that is gone: closed, or exited. */
const workerGone = new Set(['APPEND_WORKER_CLOSED', 'APPEND_WORKER_EXITED']);

/**
 * The daemon's pruner: on the append worker, with pruneAll's off-loop bounds. A call the worker
 * refuses or does not answer because it is closed (a cycle still running when the drain closed
 * it) or exited meanwhile runs on the spool's connection instead (loopPruner): each of these
 * transactions can run again (a worker that died in one rolled it back, or committed it).
 */
export function workerPruner(options: { spool: Spool; thread: Pick<AppendThread, 'pruneStep' | 'pruneAll' | 'reclaimStep' | 'pragma'> }): Pruner {
  const { thread } = options;
  const loop = loopPruner(options.spool);
  async function on<T>(worker: () => Promise<T>, fallback: () => Promise<T>): Promise<T> {
    try {
      return await worker();
    } catch (err) {
      const code = (err as { code?: unknown } | null)?.code;
      if (typeof code === 'string' && workerGone.has(code)) return fallback();
      throw err;
    }
  }
  return {
    step: (floor, chunk) => on(() => thread.pruneStep(floor, chunk), () => loop.step(floor, chunk)),
    all: (floor) => on(() => thread.pruneAll(floor, offLoopPruneAllMaxRows, offLoopPruneAllMaxBytes), () => loop.all(floor)),
    reclaimStep: (pages) => on(() => thread.reclaimStep(pages), () => loop.reclaimStep(pages)),
    checkpoint: () => on(async () => void (await thread.pragma('wal_checkpoint(PASSIVE)')), () => loop.checkpoint()),
  };
}
