/**
 * The daemon: wires config, spool, ingest server and periodic housekeeping together, and shuts
 * them down in reverse order of setup. `logbarge run` is a thin layer over startDaemon.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { dirname, resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { describeError } from '../errors.js';
import { createIngestServer, type IngestServer, type ReadinessReason } from '../ingest/server.js';
import { createPreparer } from '../ingest/prepare.js';
import { createMetrics, type Metrics } from '../metrics.js';
import { loadNamedSchema } from '../schema/schema.js';
import { createGroupCommitter } from '../spool/group-commit.js';
import { startAppendThread, type AppendThread } from '../spool/append-thread.js';
import { settledWithin } from './settle.js';
import type { ObjectStore } from '../store/store.js';
import { createExporter, exportLag, exportLastSuccess, exportVerified, type Exporter } from './exporter.js';
import { createSealer, type Sealer } from './sealer.js';
import { statfsFreeBytes, type FreeBytes } from './staging.js';
import { lateSummary } from '../spool/late.js';
import { exportHealth } from '../spool/exports.js';
import { workerPruner } from '../export/pruner.js';
import { openStore } from '../store/open.js';
import { keyBytes, openSpool, type Spool } from '../spool/spool.js';
import { retryBusy } from '../spool/busy.js';

/** A running daemon. */
export interface Daemon {
  readonly address: AddressInfo;
  readonly spool: Spool;
  readonly metrics: Metrics;
  readonly exporter: Exporter;
  /** Group commit's worker thread (its own connection to the spool). */
  readonly appendThread: AppendThread;
  /** The scheduled seals (seal.schedule); `run` seals an export now. */
  readonly sealer: Sealer;
  /** Stops accepting, finishes in-flight requests, closes the spool. Safe to call twice. */
  stop(reason?: string): Promise<void>;
}

/** How often spool figures and free disk space are refreshed: 2 s keeps /metrics and 503s current. */
const housekeepingIntervalMs = 2_000;
/** How often the idempotency window is trimmed (and the spool clock saved), and how many keys per short transaction. */
const idPruneIntervalMs = 60_000;
const idPruneChunk = 5_000;
/**
 * SQLite busy timeout of the daemon's connection once it serves, in ms. SQLite's busy handler
 * sleeps synchronously, blocking the event loop; so the daemon waits only this long for another
 * process's write lock (a `logbarge ingest` or `flush`), then retries after a timer (busy.ts)
 * while its requests stay pending. Opening and migrating use the default (5 s): nothing is served yet.
 */
const servingBusyTimeoutMs = 5;

/**
 * The append worker's busy timeout, in ms: its busy handler sleeps the worker thread only, so it
 * may wait longer; past it, group commit retries after a timer (up to busyGiveUpMs) as before.
 */
const appendBusyTimeoutMs = 1000;

/** How long past shutdownTimeoutMs the drain still waits for the commit in flight and the append worker to close, in ms. */
const drainGraceMs = 1000;

/**
 * Forgets the idempotency keys of events delivered longer than `windowMs` ago (spool clock), in
 * short transactions with a turn of the event loop between them, so ingest keeps being served;
 * saves the spool clock first. Returns how many keys were forgotten. An aborted `signal` ends a
 * wait for another process's write lock with the signal's reason (what is left is trimmed later).
 */
export async function forgetDeliveredIds(options: { spool: Spool; windowMs: number; chunk: number; stopped?: () => boolean; signal?: AbortSignal }): Promise<number> {
  const { spool, windowMs, chunk } = options;
  const busy = options.signal ? { signal: options.signal } : {};
  await retryBusy(() => spool.saveClock(), busy);
  let total = 0;
  for (;;) {
    const n = await retryBusy(() => spool.forgetDelivered({ windowMs, limit: chunk, wallNow: Date.now() }), busy);
    total += n;
    if (n < chunk || options.stopped?.()) return total;
    await yieldToLoop();
  }
}

/** Starts the daemon on a parsed config. */
export async function startDaemon(options: {
  config: Config;
  logger: Logger;
  /** Store factory for tests (credentials for a loopback S3); the default uses the SDK chain. */
  openStore?: (destination: string) => ObjectStore;
  /** Free space next to the spool, for tests; the default asks statfs. */
  freeBytes?: FreeBytes;
  /** How often the idempotency window is trimmed, for tests; the default is idPruneIntervalMs. */
  trimIntervalMs?: number;
}): Promise<Daemon> {
  // Run in reverse by stop(); by a start that fails, too, so it leaves nothing open (the spool,
  // the append worker, which would keep the process alive).
  const cleanups: (() => Promise<void> | void)[] = [];
  try {
    return await start(options, cleanups);
  } catch (err) {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch (cleanupErr) {
        options.logger.error({ err: describeError(cleanupErr) }, 'releasing what a failed start opened failed');
      }
    }
    throw err;
  }
}

async function start(options: Parameters<typeof startDaemon>[0], cleanups: (() => Promise<void> | void)[]): Promise<Daemon> {
  const { config, logger } = options;
  // Set as the start returns: a start that fails runs no final cycle as it releases.
  let started = false;
  const schema = loadNamedSchema(config.schema);
  const spoolPath = resolve(config.spool.path);
  const spool = openSpool({ path: spoolPath, synchronous: config.spool.synchronous });
  cleanups.push(() => spool.close());
  const metrics = createMetrics({
    sources: {
      spool: () => stats,
      full: () => capacityProblem() !== undefined,
      exportLag: () => exportLag(spool, config, Date.now()),
      lastSuccess: () => exportLastSuccess(spool, config),
      capacity: () => ({
        usedBytes: stats.bytes + stats.keys * keyBytes,
        maxEvents: config.spool.maxEvents,
        maxBytes: config.spool.maxBytes,
        minFreeBytes: config.spool.minFreeBytes,
        freeDiskBytes: Number.isFinite(diskFree) ? diskFree : undefined,
      }),
      verified: () => exportVerified(exporter, config),
      exportHealth: () =>
        config.exports.map((e) => {
          const h = exportHealth(spool, e.name);
          return { export: e.name, paused: h.paused !== null, stuckBatch: h.stuckBatch, skippedRows: h.skipped.rows };
        }),
      sealLate: () => config.exports.filter((e) => e.seal).map((e) => ({ export: e.name, ...lateSummary(spool, e.name) })),
    },
    labels: { exports: config.exports.map((e) => e.name), sources: Object.keys(config.sources ?? {}) },
  });
  const freeBytes = options.freeBytes ?? statfsFreeBytes;
  // Aborted shutdownTimeoutMs after stop() began: ends the final cycle, any cycle still running,
  // and every wait of the drain (the exporter's close, a trim of the idempotency window).
  const drainDeadline = new AbortController();
  // Group commit's transactions run on a worker thread with its own connection to the spool.
  const appendThread = await startAppendThread({ path: spoolPath, synchronous: config.spool.synchronous, busyTimeoutMs: appendBusyTimeoutMs });
  // Bounded like the rest of the drain (with drainGraceMs past the deadline, so a commit about to
  // end still ends): a commit hung in the worker (an fsync that never returns) is left to end with
  // the process, which then stops as after a kill -9 (SQLite's commit is atomic; the senders of
  // the requests in it got no answer and retry).
  const leftRunning = (what: string) =>
    logger.warn({ running: [what], err: describeError(drainDeadline.signal.reason) }, 'still running at the drain deadline; left to end with the process');
  // Pushed before the exporter's and the final cycle's cleanups, so it runs after them (cleanups
  // run in reverse): the final cycle prunes on the worker too.
  cleanups.push(async () => {
    if (!(await settledWithin(appendThread.close(), drainDeadline.signal, drainGraceMs))) leftRunning('append worker');
  });
  // The cycles, the drain's final one included, prune on the append worker; a call it refuses as
  // closed (or gone) runs on the spool's connection (workerPruner).
  const pruner = workerPruner({ spool, thread: appendThread });
  const exporter = createExporter({ config, spool, logger, metrics, freeBytes, pruner, ...(options.openStore ? { openStore: options.openStore } : {}) });
  cleanups.push(() => exporter.close({ signal: drainDeadline.signal }));
  // Scheduled seals (seal.schedule) use stores of their own; stopping cancels a running seal.
  const sealStores = new Map<string, ObjectStore>();
  const sealer = createSealer({
    config,
    logger,
    metrics,
    storeFor: (destination) => {
      let store = sealStores.get(destination);
      if (!store) {
        store = options.openStore ? options.openStore(destination) : openStore(destination, config.s3);
        sealStores.set(destination, store);
      }
      return store;
    },
  });
  cleanups.push(async () => {
    await sealer.close({ signal: drainDeadline.signal });
    for (const store of sealStores.values()) store.close();
  });
  // Runs after the server stopped taking requests (cleanups run in reverse): the final cycle.
  cleanups.push(async () => {
    if (!started) return;
    const results = await exporter.flush({ reason: 'shutdown', signal: drainDeadline.signal });
    const failed = results.filter((r) => r.error);
    if (failed.length > 0) logger.warn({ exports: failed.map((r) => r.export) }, 'final export incomplete; the spool keeps the rest for the next start');
  });

  const limits = { maxEvents: config.spool.maxEvents, maxBytes: config.spool.maxBytes };
  // Set when a spool transaction fails; cleared by the next commit or a successful write probe.
  let writeFailure: string | undefined;
  const committer = createGroupCommitter({
    thread: appendThread,
    limits,
    onError: (err) => {
      writeFailure = `spool write failed at ${new Date().toISOString()}: ${describeError(err)}`;
      logger.error({ err: describeError(err) }, 'spool transaction failed; the requests in it got 503');
    },
    onCommit: ({ rows, ms, counters }) => {
      metrics.groupCommit.observe(ms / 1000);
      metrics.groupCommitRows.observe(rows);
      // Read by the worker right after the commit; keeps the capacity check exact between housekeeping runs.
      stats = counters ?? spool.counters();
      writeFailure = undefined;
    },
  });
  cleanups.push(async () => {
    if (!(await settledWithin(committer.drain(drainDeadline.signal), drainDeadline.signal, drainGraceMs))) leftRunning('spool commit');
  });

  let draining = false;
  // Free bytes next to the spool at the last housekeeping; staged files reserved since count against it.
  let diskFree = Number.POSITIVE_INFINITY;
  let stats = spool.counters();
  const capacityProblem = (): { code: 'spool_full' | 'disk_low'; detail: string } | undefined => {
    if (stats.depth >= limits.maxEvents) return { code: 'spool_full', detail: `spool holds ${stats.depth} events, spool.maxEvents is ${limits.maxEvents}` };
    if (stats.bytes + stats.keys * keyBytes >= limits.maxBytes) {
      return {
        code: 'spool_full',
        detail: `spool holds ${stats.bytes} bytes of events and ${stats.keys} idempotency keys (${stats.keys * keyBytes} bytes), spool.maxBytes is ${limits.maxBytes}`,
      };
    }
    const staged = exporter.staging.outstanding();
    if (diskFree - staged < config.spool.minFreeBytes) {
      return {
        code: 'disk_low',
        detail: `less than spool.minFreeBytes (${config.spool.minFreeBytes}) free next to the spool${staged > 0 ? ` once the ${staged} bytes reserved for staged export files are written` : ''}`,
      };
    }
    return undefined;
  };

  async function housekeeping(): Promise<void> {
    stats = spool.counters();
    if (writeFailure) {
      try {
        // On the worker's connection: the one whose commits failed.
        await appendThread.probeWrite(Date.now());
        logger.info('spool is writable again');
        writeFailure = undefined;
      } catch {
        // still failing; /readyz keeps saying so
      }
    }
    exporter.checkSizeTriggers();
    try {
      diskFree = await freeBytes(dirname(spoolPath));
      exporter.staging.refresh();
    } catch (err) {
      logger.warn({ err: describeError(err) }, 'check free disk space failed');
    }
  }
  await housekeeping();
  const timer = setInterval(() => {
    housekeeping().catch((err: unknown) => logger.error({ err: describeError(err) }, 'housekeeping failed'));
  }, housekeepingIntervalMs);
  timer.unref();
  cleanups.push(() => clearInterval(timer));

  const windowMs = config.spool.idempotencyWindowDays * 86_400_000;
  let trimming: Promise<void> | undefined;
  // The drain awaits a running trim (below): it stops between chunks once draining, and a wait for
  // another process's write lock ends on the drain's deadline, not after busyGiveUpMs.
  const trimIds = (): void => {
    const signal = drainDeadline.signal;
    // The pages a trim frees are the next ids' and appends'; those still free at the next export
    // cycle are given back by it (reclaimFreePages). A trim runs every minute, so giving back what
    // was free at its start would give back the pages the last cycle kept for the next appends.
    trimming ??= forgetDeliveredIds({ spool, windowMs, chunk: idPruneChunk, stopped: () => draining, signal })
      .then((total) => {
        if (total > 0) logger.info({ forgotten: total }, 'trimmed idempotency window');
      })
      .catch((err: unknown) => {
        if (signal.aborted) logger.warn({ err: describeError(err) }, 'trim of the idempotency window stopped by the drain deadline; the next start trims the rest');
        else logger.error({ err: describeError(err) }, 'trim idempotency window failed');
      })
      .finally(() => {
        trimming = undefined;
      });
  };
  const pruneTimer = setInterval(trimIds, options.trimIntervalMs ?? idPruneIntervalMs);
  pruneTimer.unref();
  cleanups.push(async () => {
    clearInterval(pruneTimer);
    await trimming;
  });

  const preparer = createPreparer(schema, { ...config.ingest, sources: config.sources, apiKeyHeader: config.server.apiKeyHeader });
  const server: IngestServer = createIngestServer({
    options: { ...config.server, sources: config.sources },
    preparer,
    committer,
    metrics,
    logger,
    admission: () => {
      if (draining) return { reason: 'logbarge is shutting down; retry against another replica or later', retryAfterSeconds: 5 };
      const problem = capacityProblem();
      return problem ? { reason: `spool is full (${problem.detail}); retry later`, retryAfterSeconds: 30 } : undefined;
    },
    readiness: () => {
      const reasons: ReadinessReason[] = [];
      if (draining) reasons.push({ code: 'draining', detail: 'shutting down' });
      const problem = capacityProblem();
      if (problem) reasons.push(problem);
      if (writeFailure) reasons.push({ code: 'spool_write_failed', detail: writeFailure });
      reasons.push(...exporter.readinessReasons());
      return reasons;
    },
    flush: async (signal) => ({ exports: await exporter.flush({ signal }) }),
  });
  spool.db.pragma(`busy_timeout = ${servingBusyTimeoutMs}`);
  const address = await server.listen();
  cleanups.push(() => server.close());
  logger.info(
    {
      address: `${address.address}:${address.port}`,
      tls: config.server.tls !== null,
      auth: config.server.apiKeys.length > 0 ? `${config.server.apiKeys.length} key(s)` : 'none (loopback only)',
      spool: spoolPath,
      spoolId: spool.id,
      depth: stats.depth,
      writerId: config.writerId,
    },
    'logbarge listening',
  );

  // Verify every destination before any upload; failures are retried with backoff while
  // ingest keeps spooling, and /readyz says why it is not ready.
  void exporter
    .verify()
    .catch((err: unknown) => logger.error({ err: describeError(err) }, 'verify failed unexpectedly'))
    .finally(() => {
      if (draining) return;
      exporter.startVerifyLoop();
      exporter.startSchedules();
      sealer.startSchedules();
      exporter.checkSizeTriggers();
    });

  let stopping: Promise<void> | undefined;
  started = true;
  return {
    address,
    spool,
    metrics,
    exporter,
    appendThread,
    sealer,
    stop(reason = 'stop requested') {
      stopping ??= (async () => {
        draining = true;
        logger.info({ reason }, 'draining: refusing new events, finishing in-flight requests');
        // No cycle starts from a schedule or size trigger from here on; the final cycle runs below.
        exporter.stopSchedules();
        // Past shutdownTimeoutMs every cycle is aborted (its S3 calls get the signal): the
        // unfinished plans stay recorded in the spool, and the next start delivers them.
        const deadline = setTimeout(() => {
          const why = new Error(`shutdownTimeoutMs (${config.shutdownTimeoutMs} ms) elapsed`);
          drainDeadline.abort(why);
          exporter.abort(why);
          // A slow sender still holding its connection would keep the drain open up to
          // requestTimeoutMs: cut it (a request not yet stored stores nothing; the sender retries).
          server.server.closeAllConnections();
        }, config.shutdownTimeoutMs);
        deadline.unref();
        for (const cleanup of cleanups.reverse()) {
          try {
            await cleanup();
          } catch (err) {
            logger.error({ err: describeError(err) }, 'shutdown step failed');
          }
        }
        clearTimeout(deadline);
        logger.info('stopped');
      })();
      return stopping;
    },
  };
}
