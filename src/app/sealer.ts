/**
 * Sealing wired to a config: the context a seal run needs (store, staging directory, owner,
 * DuckDB threads), the daemon's `seal.schedule` cron tasks, and the late-object check that runs
 * after an export cycle. `logbarge seal` and the schedule call the same sealExport.
 */
import { availableParallelism, hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';
import type { Config, ExportConfig } from '../config/schema.js';
import { settledBefore } from './settle.js';
import { describeError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import { loadNamedSchema } from '../schema/schema.js';
import type { SealContext } from '../seal/day.js';
import { classifyObjects } from '../seal/late.js';
import { sealExport, type SealRunResult } from '../seal/run.js';
import { lateObjects, updateLate } from '../spool/late.js';
import { retryBusy } from '../spool/busy.js';
import type { Spool } from '../spool/spool.js';
import type { ObjectStore } from '../store/store.js';

/** DuckDB threads for a seal's sort: all cores but one, which stays with ingest. */
const sealThreads = Math.max(1, availableParallelism() - 1);

/** Where seals stage their downloads and DuckDB files: `seal.stagingDir`, else `work/` beside the spool. */
export function sealWorkRoot(config: Config, exportConfig: ExportConfig): string {
  return exportConfig.seal?.stagingDir ? resolve(exportConfig.seal.stagingDir) : join(dirname(resolve(config.spool.path)), 'work');
}

/** The context of a seal run of `exportConfig` (which must have a `seal` section). */
export function sealContextFor(options: {
  config: Config;
  exportConfig: ExportConfig;
  store: ObjectStore;
  logger?: Logger;
  now?: () => number;
  signal?: AbortSignal;
}): SealContext {
  const { config, exportConfig } = options;
  if (!exportConfig.seal) throw new Error(`seal context: export ${exportConfig.name} has no seal section`);
  return {
    store: options.store,
    exportConfig,
    seal: exportConfig.seal,
    schema: loadNamedSchema(config.schema),
    workRoot: sealWorkRoot(config, exportConfig),
    owner: `${config.writerId}/${hostname()}/${process.pid}`,
    threads: sealThreads,
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.now ? { now: options.now } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  };
}

/**
 * After a cycle of a sealed export delivered `keys`: records those that landed in an already
 * sealed day without being covered by its seal, and forgets recorded ones a seal now covers.
 */
export async function checkLateObjects(options: { spool: Spool; store: ObjectStore; exportConfig: ExportConfig; keys: readonly string[]; now: number; logger: Logger }): Promise<void> {
  const { spool, exportConfig } = options;
  const recorded = lateObjects(spool, exportConfig.name).map((r) => r.object_key);
  const keys = [...options.keys, ...recorded];
  if (keys.length === 0) return;
  const { late, notLate } = await classifyObjects({ store: options.store, keys, now: options.now });
  const known = new Set(recorded);
  const fresh = late.filter((l) => !known.has(l.key));
  // The append worker may hold the write lock: waited for, as the cycle's other writes.
  await retryBusy(() =>
    updateLate(spool, {
      exportName: exportConfig.name,
      destination: exportConfig.destination,
      late: fresh,
      covered: notLate.filter((k) => known.has(k)),
      now: options.now,
    }),
  );
  for (const dt of new Set(fresh.map((l) => l.dt))) {
    options.logger.warn(
      { export: exportConfig.name, dt, objects: fresh.filter((l) => l.dt === dt).map((l) => l.key), hint: `logbarge seal --export ${exportConfig.name} --date ${dt}` },
      'objects arrived in a day that is already sealed; its sealed files do not hold their events until the day is re-sealed',
    );
  }
}

/** The daemon's scheduled seals. */
export interface Sealer {
  /** Starts the cron task of every export with a `seal.schedule`. */
  startSchedules(): void;
  /** Runs one export's seal now, as its schedule does. */
  run(exportName: string): Promise<SealRunResult>;
  /**
   * Stops the schedules, cancels a running seal (the day keeps its previous state) and waits for
   * it. An aborted `signal` (the drain's deadline) ends the wait: a seal still running (in a call
   * that does not see the abort) is logged and left to end with the process.
   */
  close(options?: { signal?: AbortSignal }): Promise<void>;
}

/** Creates the scheduled sealer of a config. */
export function createSealer(options: { config: Config; logger: Logger; metrics: Metrics; storeFor: (destination: string) => ObjectStore }): Sealer {
  const { config, logger, metrics } = options;
  const controller = new AbortController();
  const tasks: ScheduledTask[] = [];
  const running = new Map<string, Promise<SealRunResult>>();

  function run(exportName: string): Promise<SealRunResult> {
    const current = running.get(exportName);
    if (current) return current;
    const exportConfig = config.exports.find((e) => e.name === exportName);
    if (!exportConfig?.seal) return Promise.reject(new Error(`seal: export ${exportName} has no seal section`));
    const log = logger.child({ export: exportName, component: 'seal' });
    const promise = sealExport(
      sealContextFor({ config, exportConfig, store: options.storeFor(exportConfig.destination), logger: log, signal: controller.signal }),
    )
      .then((result) => {
        for (const day of result.days) metrics.sealDays.inc({ export: exportName, outcome: day.outcome });
        if (!result.days.some((d) => d.outcome === 'failed') && result.deleteErrors.length === 0) metrics.sealLastRun.set({ export: exportName }, Date.now() / 1000);
        for (const day of result.days.filter((d) => d.outcome === 'late')) {
          log.warn({ dt: day.dt, objects: day.newObjects, hint: `logbarge seal --export ${exportName} --date ${day.dt}` }, 'sealed day has objects its seal does not cover');
        }
        for (const e of result.deleteErrors) log.error({ err: e }, 'delete replaced objects failed; the next run retries');
        return result;
      })
      .finally(() => running.delete(exportName));
    running.set(exportName, promise);
    return promise;
  }

  return {
    startSchedules() {
      for (const e of config.exports) {
        const schedule = e.seal?.schedule;
        if (!schedule) continue;
        tasks.push(
          cron.schedule(
            schedule,
            // Returns the run, so the task is busy (noOverlap) until it ends.
            () => run(e.name).catch((err: unknown) => logger.error({ export: e.name, err: describeError(err) }, 'seal run failed unexpectedly')),
            { name: `seal:${e.name}`, timezone: 'UTC', noOverlap: true },
          ),
        );
      }
    },
    run,
    async close({ signal } = {}) {
      for (const task of tasks) await task.destroy();
      controller.abort(new Error('the daemon is stopping'));
      if (running.size === 0 || (await settledBefore(Promise.allSettled(running.values()), signal))) return;
      const left = [...running.keys()].map((name) => `seal of ${name}`);
      if (left.length === 0) return;
      logger.warn(
        { running: left, err: describeError(signal?.reason) },
        'still running at the drain deadline (a step that does not see the abort); left to end with the process: the day keeps its previous state until the next run',
      );
    },
  };
}
