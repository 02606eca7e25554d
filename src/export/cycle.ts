/**
 * The export cycle of one export: plan (recorded in the spool before any upload) → encode each
 * batch to a staged file → upload under the planned key → commit (batch done, cursor advanced)
 * → prune what every export has passed. `logbarge flush`, POST /v1/flush, the scheduler and the
 * SIGTERM drain all call run(). A crash at any point leaves a plan that the next run finishes
 * with the same keys and rows.
 */
import { mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { ExportConfig } from '../config/schema.js';
import { describeError, LogbargeError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import { privateDirMode } from '../modes.js';
import {
  completeBatch,
  noteBatchError,
  noteExportError,
  planExport,
  pruneFloor,
  pruneStep,
  readBatchPage,
  type BatchRow,
} from '../spool/exports.js';
import type { Spool } from '../spool/spool.js';
import type { ObjectStore } from '../store/store.js';
import { contentTypeOf, type Compression, type Encoder, type ExportRow, type Format } from './encoders/types.js';
import { objectKey } from './keys.js';

/** Why a cycle runs (a log and metrics label). */
export type CycleReason = 'schedule' | 'size' | 'flush' | 'shutdown' | 'startup';

/** What one run delivered. */
export interface CycleResult {
  readonly export: string;
  readonly batches: number;
  readonly rows: number;
  readonly bytes: number;
  readonly keys: string[];
  readonly pruned: number;
  /** Milliseconds from the start of the run until the last object was committed (pruning follows). */
  readonly deliveredMs?: number;
  /** Set when the run stopped on an error (what was delivered before it stays delivered). */
  readonly error?: string;
}

/** Rows read from the spool per page: large enough for few statements, small enough to keep each read under a few ms. */
const pageRows = 5_000;
/** Rows deleted per pruning transaction (a few ms each), so ingest never waits long for the write lock. */
const pruneChunk = 2_000;
/** Most rows one plan covers, so planning a large backlog stays a short transaction. */
const maxRowsPerPlan = 2_000_000;

/** Dependencies of an export runner. */
export interface ExportRunnerDeps {
  readonly config: ExportConfig;
  readonly spool: Spool;
  readonly writerId: string;
  /** Directory for staged files (under the spool's directory). */
  readonly stagingDir: string;
  /** The store of a destination URL (batches keep the destination they were planned with). */
  readonly storeFor: (destination: string) => ObjectStore;
  /** The encoder of a format (batches keep the format they were planned with). */
  readonly encoderFor: (format: Format) => Encoder;
  /** Undefined when uploads to `destination` may proceed, else why not (not verified yet). */
  readonly gate: (destination: string) => string | undefined;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly now?: () => number;
}

/** Runs the cycle of one export; runs never overlap. */
export interface ExportRunner {
  readonly name: string;
  /** True while a run is in progress. */
  busy(): boolean;
  /**
   * Runs a cycle. `untilCaughtUp` keeps planning until every event present at the start is
   * delivered (flush, shutdown); otherwise one plan is delivered. A call while a run is in
   * progress waits for it and then runs again, so a flush always covers what came before it.
   */
  run(reason: CycleReason, options?: { untilCaughtUp?: boolean; signal?: AbortSignal }): Promise<CycleResult>;
}

async function* pagesOf(spool: Spool, batch: BatchRow, signal?: AbortSignal): AsyncGenerator<ExportRow[]> {
  let after = batch.seq_from - 1;
  for (;;) {
    signal?.throwIfAborted();
    const rows = readBatchPage(spool, batch, after, pageRows);
    if (rows.length === 0) return;
    after = rows[rows.length - 1]![0];
    yield rows.map(([, body, raw]) => ({ body, raw }));
    if (rows.length < pageRows) return;
    await yieldToLoop(); // let ingest requests in between pages
  }
}

/** Creates the runner of one export. */
export function createExportRunner(deps: ExportRunnerDeps): ExportRunner {
  const { config, spool, logger, metrics } = deps;
  const now = deps.now ?? Date.now;
  const log = logger.child({ export: config.name });
  let current: Promise<CycleResult> | undefined;

  async function deliver(batch: BatchRow, signal?: AbortSignal): Promise<{ bytes: number; alreadyExisted: boolean }> {
    const blocked = deps.gate(batch.destination);
    if (blocked) throw new LogbargeError('EXPORT_FAILED', `upload ${batch.object_key}: ${blocked}`);
    const format = batch.format as Format;
    const compression = batch.compression as Compression;
    mkdirSync(deps.stagingDir, { recursive: true, mode: privateDirMode });
    const staged = join(deps.stagingDir, `${config.name}-${batch.id}-${process.pid}-${randomBytes(3).toString('hex')}`);
    const started = performance.now();
    try {
      const encoded = await deps.encoderFor(format).encode({
        pages: pagesOf(spool, batch, signal),
        includeRaw: config.raw,
        outPath: staged,
        compression,
        ...(signal ? { signal } : {}),
      });
      if (encoded.rows !== batch.row_count) {
        throw new LogbargeError(
          'EXPORT_FAILED',
          `encode ${batch.object_key}: read ${encoded.rows} rows from the spool, the plan recorded ${batch.row_count}`,
        );
      }
      const encodedAt = performance.now();
      const store = deps.storeFor(batch.destination);
      const put = await store.putFile(batch.object_key, staged, {
        ...contentTypeOf(format, compression),
        ifAbsent: true,
        ...(signal ? { signal } : {}),
      });
      metrics.uploadSeconds.observe({ export: config.name }, (performance.now() - started) / 1000);
      log.debug(
        { key: batch.object_key, rows: encoded.rows, bytes: put.bytes, encodeMs: Math.round(encodedAt - started), ...encoded.timings, uploadMs: Math.round(performance.now() - encodedAt) },
        'object delivered',
      );
      return { bytes: put.bytes, alreadyExisted: put.alreadyExisted };
    } finally {
      await rm(staged, { force: true }); // off the event loop: a staged file can be hundreds of MB
    }
  }

  /** Prunes what every export delivered, yielding to the event loop between short transactions. */
  async function prune(): Promise<number> {
    const floor = pruneFloor(spool);
    spool.noteDelivered(floor);
    let total = 0;
    for (;;) {
      const n = pruneStep(spool, floor, pruneChunk);
      total += n;
      if (n < pruneChunk) return total;
      await yieldToLoop();
    }
  }

  async function cycle(reason: CycleReason, untilCaughtUp: boolean, signal?: AbortSignal): Promise<CycleResult> {
    const started = performance.now();
    const target = spool.stats().newestSeq;
    const result = { export: config.name, batches: 0, rows: 0, bytes: 0, keys: [] as string[], pruned: 0 };
    try {
      for (;;) {
        const plan = planExport(spool, {
          exportName: config.name,
          maxRowsPerFile: config.maxRowsPerFile,
          maxRowsPerPlan,
          destination: config.destination,
          format: config.format,
          compression: config.compression,
          keyFor: ({ dt, seqFrom, seqTo }) =>
            objectKey({ dt, writerId: deps.writerId, spoolId: spool.id, seqFrom, seqTo, format: config.format, compression: config.compression as Compression }),
          now: now(),
        });
        if (plan.batches.length === 0) break;
        if (plan.resumed) log.info({ batches: plan.batches.length }, 'resuming an unfinished plan with its recorded keys');
        for (const batch of plan.batches) {
          signal?.throwIfAborted();
          try {
            const { bytes, alreadyExisted } = await deliver(batch, signal);
            completeBatch(spool, batch, { bytes, now: now() });
            result.batches++;
            result.rows += batch.row_count;
            result.bytes += bytes;
            result.keys.push(batch.object_key);
            metrics.batchesUploaded.inc({ export: config.name });
            metrics.rowsExported.inc({ export: config.name }, batch.row_count);
            metrics.bytesUploaded.inc({ export: config.name }, bytes);
            metrics.lastSuccess.set({ export: config.name }, now() / 1000);
            if (alreadyExisted) log.info({ key: batch.object_key }, 'object already present: an earlier attempt delivered it');
          } catch (err) {
            metrics.batchesFailed.inc({ export: config.name });
            noteBatchError(spool, batch, describeError(err), now());
            throw err;
          }
        }
        const cursor = spool.sql.readCursor.get(config.name);
        if (!untilCaughtUp || (cursor?.committed_seq ?? 0) >= target) break;
      }
      const deliveredMs = Math.round(performance.now() - started);
      result.pruned = await prune();
      log.info(
        { reason, batches: result.batches, rows: result.rows, bytes: result.bytes, pruned: result.pruned, deliveredMs, ms: Math.round(performance.now() - started), keys: result.keys },
        'export cycle done',
      );
      return { ...result, deliveredMs };
    } catch (err) {
      const message = describeError(err);
      if (result.batches === 0) noteExportError(spool, config.name, message, now());
      log.error({ reason, delivered: result.batches, err: message }, 'export cycle failed; spooled events stay and are retried');
      return { ...result, error: message };
    }
  }

  return {
    name: config.name,
    busy: () => current !== undefined,
    async run(reason, options = {}) {
      while (current) await current.catch(() => undefined);
      current = cycle(reason, options.untilCaughtUp ?? false, options.signal);
      try {
        return await current;
      } finally {
        current = undefined;
      }
    },
  };
}
