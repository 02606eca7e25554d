/**
 * Wires the exports of a config: one runner per export, the stores and encoders they share,
 * destination verification (no upload to a destination that has not passed verify), cron
 * schedules, the early run when an export has maxRowsPerFile rows pending, and flush.
 * Used by the daemon and by `logbarge flush`, so both run the same cycle.
 */
import { dirname, join } from 'node:path';
import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';
import type { Config, ExportConfig } from '../config/schema.js';
import { settledBefore } from './settle.js';
import { describeError } from '../errors.js';
import { createExportRunner, type CycleReason, type CycleResult, type ExportRunner } from '../export/cycle.js';
import type { Pruner } from '../export/pruner.js';
import { createParquetEncoder } from '../export/encoders/parquet.js';
import { createCsvEncoder, createNdjsonEncoder } from '../export/encoders/text.js';
import type { Encoder, Format } from '../export/encoders/types.js';
import type { ReadinessReason } from '../ingest/server.js';
import type { Metrics } from '../metrics.js';
import { loadNamedSchema } from '../schema/schema.js';
import { lastSuccessAt, oldestPendingAt, pausedState, registerExports, unnamedCursors } from '../spool/exports.js';
import type { Spool } from '../spool/spool.js';
import { openStore } from '../store/open.js';
import type { ObjectStore } from '../store/store.js';
import { sweepVerifyObjects, verifyStore, type VerifyResult } from '../store/verify.js';
import { createDigester, loadIntegrityKeys, type Digester, type DigestResult } from './digester.js';
import { checkLateObjects } from './sealer.js';
import { startSweeps } from './sweep.js';
import { claimWorkDir } from './workdir.js';
import { createStagingLedger, type FreeBytes, type StagingLedger } from './staging.js';

/** Verification state of one destination. */
export interface DestinationState {
  readonly destination: string;
  ok: boolean;
  /** The last verify result, or undefined before the first attempt. */
  last?: VerifyResult;
  attempts: number;
}

/** The exports of one process. */
export interface Exporter {
  readonly runners: ReadonlyMap<string, ExportRunner>;
  /** The digest writers of the exports with `integrity`. */
  readonly digesters: ReadonlyMap<string, Digester>;
  readonly destinations: ReadonlyMap<string, DestinationState>;
  /** Verifies every destination (or those of `exportName`) now; returns the results. */
  verify(exportName?: string): Promise<VerifyResult[]>;
  /** Keeps retrying failed destinations with backoff until close(). */
  startVerifyLoop(): void;
  /** Starts cron schedules and the size trigger. */
  startSchedules(): void;
  /**
   * Stops cron schedules, size triggers and verify retries (the first step of a drain): no run
   * starts after this except through flush(), and a queued tick is dropped.
   */
  stopSchedules(): void;
  /** Aborts every running cycle and verify (their S3 calls get the signal); what they delivered stays delivered. */
  abort(reason: Error): void;
  /** Checks pending rows and starts early runs (called by housekeeping). */
  checkSizeTriggers(): void;
  /**
   * Runs every export (or one) until what is spooled now is delivered. For reason 'shutdown'
   * (the drain) each export with `integrity` then writes the digest of the partial period.
   */
  flush(options?: { exportName?: string; reason?: CycleReason; signal?: AbortSignal }): Promise<CycleResult[]>;
  /** Writes the partial-period digest of every export with `integrity` (or of one) now. */
  writeDigests(options?: { exportName?: string; reason?: 'drain' | 'flush'; signal?: AbortSignal }): Promise<DigestResult[]>;
  /** Reasons the daemon is not ready: one destination_unverified per destination that has not passed verify. */
  readinessReasons(): ReadinessReason[];
  /** Disk space reserved by staged files of this process (counted against spool.minFreeBytes). */
  readonly staging: StagingLedger;
  /**
   * Stops schedules and retries, aborts and waits for running cycles and digest writes, releases
   * encoders and stores. An aborted `signal` (the drain's deadline) ends the wait: what still runs
   * (a step that does not see the abort) is logged and left to end with the process; an
   * unfinished plan stays recorded in the spool.
   */
  close(options?: { signal?: AbortSignal }): Promise<void>;
}

/** Backoff of verify retries and of early runs after a failure: 5 s doubling to 5 min. */
const minBackoffMs = 5_000;
const maxBackoffMs = 300_000;
/** DuckDB's memory limit and threads for Parquet encoding: bounded, and leaves a core for ingest. */
const duckdbMemoryLimit = '256MB';
const duckdbThreads = 1;

/** How often close() checks whether a running cycle has ended, in ms. */
const closePollMs = 20;

/** Creates the exporter for a config over an open spool. */
export function createExporter(options: {
  config: Config;
  spool: Spool;
  logger: Logger;
  metrics: Metrics;
  /** Store factory (tests inject credentials); defaults to openStore with the s3 config. */
  openStore?: (destination: string) => ObjectStore;
  /** Free space next to the spool (tests); defaults to statfs. */
  freeBytes?: FreeBytes;
  /** Where the cycles' prune transactions run (the daemon: its append worker); defaults to the spool's connection. */
  pruner?: Pruner;
}): Exporter {
  const { config, spool, logger, metrics } = options;
  const schema = loadNamedSchema(config.schema);
  // Signing keys first: a bad key is a config error (exit 2) before anything is written or started.
  const integrityKeys = loadIntegrityKeys(config.exports);
  // A directory of its own (random id, owner record), and a sweep of those left by dead processes.
  const work = claimWorkDir(join(dirname(spool.path), 'work'));
  const workDir = work.path;
  const staging = createStagingLedger({ dir: workDir, ...(options.freeBytes ? { freeBytes: options.freeBytes } : {}) });

  const stores = new Map<string, ObjectStore>();
  const storeFor = (destination: string): ObjectStore => {
    let store = stores.get(destination);
    if (!store) {
      store = options.openStore ? options.openStore(destination) : openStore(destination, config.s3);
      stores.set(destination, store);
    }
    return store;
  };
  const sweeps = startSweeps({
    spoolPath: spool.path,
    work,
    stores: () => [...new Set(config.exports.map((e) => e.destination))].filter((d) => d.startsWith('file:')).map(storeFor),
    logger,
  });
  const encoders = new Map<Format, Encoder>();
  const encoderFor = (format: Format): Encoder => {
    let encoder = encoders.get(format);
    if (!encoder) {
      encoder =
        format === 'parquet'
          ? createParquetEncoder({ schema, memoryLimit: duckdbMemoryLimit, threads: duckdbThreads })
          : format === 'csv'
            ? createCsvEncoder(schema)
            : createNdjsonEncoder(schema);
      encoders.set(format, encoder);
    }
    return encoder;
  };

  const destinations = new Map<string, DestinationState>();
  for (const e of config.exports) {
    if (!destinations.has(e.destination)) destinations.set(e.destination, { destination: e.destination, ok: false, attempts: 0 });
  }
  const gate = (destination: string): string | undefined => {
    const state = destinations.get(destination);
    if (!state) return undefined; // a batch planned for a destination no longer configured: verified when it was planned
    if (state.ok) return undefined;
    return `destination ${destination} has not passed verify${state.last?.message ? `: ${state.last.message}` : ''}`;
  };

  const names = config.exports.map((e) => e.name);
  const runners = new Map<string, ExportRunner>();
  const lifetime = new AbortController();
  const digesters = new Map<string, Digester>();
  try {
    registerExports(spool, names);
    const unnamed = unnamedCursors(spool, names);
    if (unnamed.length > 0) {
      logger.warn(
        { cursors: unnamed, hint: `see \`logbarge exports\`; retire one on purpose with \`logbarge exports forget ${unnamed[0]} --yes\`` },
        'the spool records export cursors this config does not name; events are kept until those exports deliver them (or are forgotten)',
      );
    }
    for (const e of config.exports) {
      runners.set(
        e.name,
        createExportRunner({
          config: e,
          spool,
          writerId: config.writerId,
          stagingDir: workDir,
          storeFor,
          encoderFor,
          gate,
          reserveStaging: staging.reserve,
          logger,
          metrics,
          ...(options.pruner ? { pruner: options.pruner } : {}),
        }),
      );
    }
    for (const e of config.exports) {
      const integrity = integrityKeys.get(e.name);
      if (!integrity) continue;
      digesters.set(
        e.name,
        createDigester({ config: e, spool, writerId: config.writerId, signingKey: integrity.key, periodMs: integrity.periodMs, storeFor, gate, logger, metrics, signal: lifetime.signal }),
      );
    }
  } catch (err) {
    // Registering the cursors is a write (SQLITE_BUSY while another process holds the lock):
    // a failed start gives back its work directory and stops the sweeps that keep it claimed.
    sweeps.stop();
    for (const store of stores.values()) store.close();
    work.release();
    throw err;
  }

  async function writeDigests(options: { exportName?: string; reason?: 'drain' | 'flush'; signal?: AbortSignal } = {}): Promise<DigestResult[]> {
    const results: DigestResult[] = [];
    for (const digester of digesters.values()) {
      if (options.exportName && digester.exportName !== options.exportName) continue;
      results.push(await digester.write(options.reason ?? 'flush', options.signal ? { signal: options.signal } : {}));
    }
    return results;
  }

  async function verifyDestination(state: DestinationState, signal?: AbortSignal): Promise<VerifyResult> {
    state.attempts++;
    const result = await verifyStore({ store: storeFor(state.destination), writerId: config.writerId, now: new Date(), ...(signal ? { signal } : {}) });
    state.last = result;
    state.ok = result.ok;
    const fields = { destination: state.destination, key: result.key, notes: result.notes };
    if (result.ok) {
      logger.info(fields, 'destination verified');
      await sweepVerify(state.destination, signal);
    } else logger.error({ ...fields, failure: result.failure, err: result.message, hint: result.hint }, 'destination failed verify; spooling continues, uploads wait');
    return result;
  }

  /** Deletes this writer's old verify objects at a destination that just passed verify (a failure is only noted). */
  async function sweepVerify(destination: string, signal?: AbortSignal): Promise<void> {
    try {
      const swept = await sweepVerifyObjects({ store: storeFor(destination), writerId: config.writerId, now: new Date(), ...(signal ? { signal } : {}) });
      if (swept.deleted.length > 0) logger.info({ destination, deleted: swept.deleted.length }, 'deleted old verify-test objects');
    } catch (err) {
      logger.info(
        { destination, err: describeError(err), hint: 'allow s3:GetObject and s3:DeleteObject on _verify/ (`logbarge ddl iam --verify-extras`), or expire _verify/ with a lifecycle rule' },
        'old verify-test objects not swept',
      );
    }
  }


  /** Aborted by abort() and close(): every cycle and verify runs under it. */
  const timers = new Set<NodeJS.Timeout>();
  const tasks: ScheduledTask[] = [];
  const failures = new Map<string, { count: number; until: number }>();
  let closed = false;

  function scheduleVerifyRetry(state: DestinationState): void {
    if (closed || state.ok) return;
    const delay = Math.min(maxBackoffMs, minBackoffMs * 2 ** Math.max(0, state.attempts - 1));
    const timer = setTimeout(() => {
      timers.delete(timer);
      verifyDestination(state, lifetime.signal)
        .catch((err: unknown) => logger.error({ err: describeError(err) }, 'verify failed unexpectedly'))
        .finally(() => scheduleVerifyRetry(state));
    }, delay);
    timer.unref();
    timers.add(timer);
  }

  /**
   * After a run of a sealed export: notes objects delivered into already sealed days (a failure
   * to check is logged; the delivery stands and the next run checks again).
   */
  async function noteLate(result: CycleResult): Promise<void> {
    const e = config.exports.find((x) => x.name === result.export);
    if (!e?.seal) return;
    try {
      await checkLateObjects({ spool, store: storeFor(e.destination), exportConfig: e, keys: result.keys, now: Date.now(), logger });
    } catch (err) {
      logger.warn({ export: e.name, err: describeError(err) }, 'check for objects delivered into sealed days failed');
    }
  }

  /**
   * Scheduled and size-triggered runs, per export: at most one started by a trigger (it may wait
   * behind a flush) and at most one queued after it; a trigger beyond that is coalesced into the
   * queued one and counted.
   */
  const triggered = new Map<string, { running: boolean; queued: CycleReason | undefined }>();

  function trigger(runner: ExportRunner, reason: CycleReason): void {
    if (closed) return;
    const state = triggered.get(runner.name) ?? { running: false, queued: undefined };
    triggered.set(runner.name, state);
    if (state.running) {
      if (state.queued === undefined) state.queued = reason;
      else {
        metrics.ticksCoalesced.inc({ export: runner.name });
        logger.debug({ export: runner.name, reason }, 'a run is already running and another queued: coalesced this one into it');
      }
      return;
    }
    state.running = true;
    runner
      .run(reason, { signal: lifetime.signal })
      .then(async (result) => {
        await noteLate(result);
        if (result.error) {
          const f = failures.get(runner.name) ?? { count: 0, until: 0 };
          f.count++;
          f.until = Date.now() + Math.min(maxBackoffMs, minBackoffMs * 2 ** (f.count - 1));
          failures.set(runner.name, f);
        } else {
          failures.delete(runner.name);
        }
      })
      .catch((err: unknown) => logger.error({ export: runner.name, err: describeError(err) }, 'export run failed unexpectedly'))
      .finally(() => {
        state.running = false;
        const next = state.queued;
        state.queued = undefined;
        if (next !== undefined) trigger(runner, next);
      });
  }

  const cronLogger = (name: string) => {
    const log = logger.child({ export: name, component: 'scheduler' });
    return {
      info: (m: string) => log.debug(m),
      warn: (m: string) => log.warn(m),
      error: (m: string | Error, err?: Error) => log.error({ err: describeError(err ?? m) }, 'scheduler error'),
      debug: (m: string | Error) => log.debug(String(m)),
    };
  };

  return {
    runners,
    digesters,
    destinations,
    writeDigests,
    staging,
    async verify(exportName) {
      const wanted = exportName ? config.exports.filter((e) => e.name === exportName) : config.exports;
      const unique = [...new Set(wanted.map((e: ExportConfig) => e.destination))];
      const results: VerifyResult[] = [];
      for (const destination of unique) results.push(await verifyDestination(destinations.get(destination)!, lifetime.signal));
      return results;
    },
    startVerifyLoop() {
      for (const state of destinations.values()) scheduleVerifyRetry(state);
    },
    startSchedules() {
      if (closed) return;
      for (const e of config.exports) {
        const runner = runners.get(e.name)!;
        tasks.push(
          cron.schedule(e.schedule, () => trigger(runner, 'schedule'), {
            name: `export:${e.name}`,
            timezone: 'UTC',
            // No noOverlap: the callback returns before the run ends, so node-cron cannot see
            // overlap; trigger() coalesces instead.
            logger: cronLogger(e.name),
          }),
        );
      }
      for (const digester of digesters.values()) digester.start();
    },
    checkSizeTriggers() {
      if (closed) return;
      const newestSeq = spool.stats().newestSeq;
      for (const e of config.exports) {
        const runner = runners.get(e.name)!;
        if (runner.busy() || pausedState(spool, e.name)) continue;
        if ((failures.get(e.name)?.until ?? 0) > Date.now()) continue;
        const cursor = spool.sql.readCursor.get(e.name);
        const pending = newestSeq - (cursor?.committed_seq ?? 0);
        if (pending >= e.maxRowsPerFile && !gate(e.destination)) trigger(runner, 'size');
      }
    },
    async flush(flushOptions = {}) {
      const wanted = flushOptions.exportName ? [flushOptions.exportName] : names;
      const results: CycleResult[] = [];
      for (const name of wanted) {
        const runner = runners.get(name);
        if (!runner) throw new Error(`flush: no export named ${name}`);
        const destination = config.exports.find((e) => e.name === name)!.destination;
        if (gate(destination)) {
          await verifyDestination(destinations.get(destination)!, flushOptions.signal ? AbortSignal.any([lifetime.signal, flushOptions.signal]) : lifetime.signal);
        }
        const signal = flushOptions.signal ? AbortSignal.any([lifetime.signal, flushOptions.signal]) : lifetime.signal;
        const result = await runner.run(flushOptions.reason ?? 'flush', { untilCaughtUp: true, signal });
        await noteLate(result);
        results.push(result);
      }
      if (flushOptions.reason === 'shutdown') {
        await writeDigests({
          reason: 'drain',
          ...(flushOptions.exportName ? { exportName: flushOptions.exportName } : {}),
          signal: flushOptions.signal ? AbortSignal.any([lifetime.signal, flushOptions.signal]) : lifetime.signal,
        });
      }
      return results;
    },
    readinessReasons() {
      return [...destinations.values()]
        .filter((s) => !s.ok)
        .map((s) => ({ code: 'destination_unverified' as const, failure: s.last?.failure ?? 'pending', detail: gate(s.destination)! }));
    },
    stopSchedules() {
      closed = true;
      sweeps.stop();
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const task of tasks.splice(0)) void task.destroy();
      for (const state of triggered.values()) state.queued = undefined;
      // Their timers stop now; a running digest write ends on the lifetime signal.
      for (const digester of digesters.values()) void digester.close();
    },
    abort(reason) {
      lifetime.abort(reason);
    },
    async close(closeOptions = {}) {
      const { signal } = closeOptions;
      this.stopSchedules();
      // Whatever still runs now is cut short: S3 calls end on the signal, a plan stays recorded.
      lifetime.abort(new Error('the exporter is closing'));
      const running: string[] = [];
      for (const digester of digesters.values()) if (!(await settledBefore(digester.close(), signal))) running.push(`digest write of ${digester.exportName}`);
      for (const runner of runners.values()) {
        while (runner.busy() && !signal?.aborted) await settledBefore(new Promise((r) => setTimeout(r, closePollMs)), signal);
        if (runner.busy()) running.push(`export cycle of ${runner.name}`);
      }
      if (running.length > 0) {
        logger.warn(
          { running, err: describeError(signal?.reason) },
          'still running at the drain deadline (a step that does not see the abort); left to end with the process: an unfinished plan stays recorded and the next start delivers it',
        );
      }
      for (const encoder of encoders.values()) await encoder.close();
      for (const store of stores.values()) store.close();
      work.release();
    },
  };
}

/** Per-export age of the oldest undelivered event, for /metrics (no counting scans). */
export function exportLag(spool: Spool, config: Config, now: number): { export: string; seconds: number }[] {
  return config.exports.map((e) => {
    const oldest = oldestPendingAt(spool, e.name);
    return { export: e.name, seconds: oldest === null ? 0 : Math.max(0, (now - oldest) / 1000) };
  });
}

/** Per-export time of the last delivered object as the spool recorded it, for /metrics. */
export function exportLastSuccess(spool: Spool, config: Config): { export: string; at: number | null }[] {
  return config.exports.map((e) => ({ export: e.name, at: lastSuccessAt(spool, e.name) }));
}

/** Per-export verify state, for /metrics. */
export function exportVerified(exporter: Exporter, config: Config): { export: string; ok: boolean }[] {
  return config.exports.map((e) => ({ export: e.name, ok: exporter.destinations.get(e.destination)?.ok ?? false }));
}
