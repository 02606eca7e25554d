/**
 * Sweeps of what dead processes leave on disk, at start and then periodically: working
 * directories under `<spool dir>/work/` (staged files, DuckDB scratch), `logbarge ingest`
 * staging (`<spool dir>/.ingest-*`), and temp files of file destinations (`.logbarge-tmp-*`).
 * Also keeps this process's own working directory's heartbeat fresh.
 */
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { describeError } from '../errors.js';
import type { ObjectStore } from '../store/store.js';
import { heartbeatMs, staleAfterMs, sweepWorkDirs, type WorkDir } from './workdir.js';

/** Temp files younger than this are left alone: a file destination's upload in progress (one day is far past any upload). */
export const tempFileMaxAgeMs = 86_400_000;
/** Temp files of file destinations are swept every this many heartbeats (hourly): it walks the destination's tree. */
const tempSweepEvery = 60;

/** What one sweep removed. */
export interface SweepResult {
  readonly workDirs: string[];
  readonly ingestDirs: string[];
  readonly tempFiles: number;
}

/** One sweep now; `stores` are the file destinations' stores (others have no temp files). */
export async function sweepOnce(options: { spoolPath: string; work: WorkDir; stores: readonly ObjectStore[]; temps: boolean; now?: number }): Promise<SweepResult> {
  const now = options.now ?? Date.now();
  const spoolDir = dirname(options.spoolPath);
  const workDirs = sweepWorkDirs(join(spoolDir, 'work'), { keep: options.work.path, now });
  const ingestDirs = sweepWorkDirs(spoolDir, { prefix: '.ingest-', now });
  let tempFiles = 0;
  if (options.temps) for (const store of options.stores) tempFiles += (await store.sweepTemp?.({ olderThanMs: tempFileMaxAgeMs, now })) ?? 0;
  return { workDirs, ingestDirs, tempFiles };
}

/** Sweeps now and every heartbeatMs until the returned stop(); failures are logged and retried at the next tick. */
export function startSweeps(options: { spoolPath: string; work: WorkDir; stores: () => readonly ObjectStore[]; logger: Logger }): { stop(): void } {
  let ticks = 0;
  let running = false;
  const tick = (): void => {
    options.work.heartbeat();
    if (running) return;
    running = true;
    const temps = ticks++ % tempSweepEvery === 0;
    sweepOnce({ spoolPath: options.spoolPath, work: options.work, stores: options.stores(), temps })
      .then((r) => {
        if (r.workDirs.length + r.ingestDirs.length + r.tempFiles > 0) {
          options.logger.info({ workDirs: r.workDirs, ingestDirs: r.ingestDirs, tempFiles: r.tempFiles, staleAfterMs }, 'removed what dead processes left behind');
        }
      })
      .catch((err: unknown) => options.logger.warn({ err: describeError(err) }, 'sweep of stale working files failed; retried later'))
      .finally(() => {
        running = false;
      });
  };
  tick();
  const timer = setInterval(tick, heartbeatMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
