/**
 * The export cycle of one export: plan (recorded in the spool before any upload) → encode each
 * batch to a staged file, hashing its rows → upload under the planned key with metadata naming
 * the rows (a key that holds other rows moves the batch to a key of its own) → commit (batch
 * done, cursor advanced; with `integrity`, the object's size and SHA-256 for the next digest)
 * → prune what every export has passed. `logbarge flush`, POST /v1/flush, the scheduler and the
 * SIGTERM drain all call run(). A crash at any point leaves a plan that the
 * next run finishes with the keys recorded in it and the same rows.
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
  pausedState,
  readBatchLines,
  readBatchPage,
  rekeyBatch,
  type BatchRow,
} from '../spool/exports.js';
import { quarantineDate, type Spool } from '../spool/spool.js';
import type { StagedFile } from '../app/staging.js';
import { retryBusy } from '../spool/busy.js';
import { settledBefore } from '../app/settle.js';
import { noteFreePages, reclaimFreePages } from '../spool/vacuum.js';
import { StoreError, type ObjectHead, type ObjectMetadata, type ObjectStore } from '../store/store.js';
import { contentTypeOf, extensionOf, type Compression, type Encoder, type ExportPage, type ExportRow, type Format } from './encoders/types.js';
import { hashFile, hashStream, type ContentHash } from './file-hash.js';
import { loopPruner, type Pruner } from './pruner.js';
import { conflictKey, objectKey } from './keys.js';
import { compareRows, createRowsHasher, dataObjectMetadata, metadataNames, type RowsDigest, type RowsHasher } from './object-meta.js';

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
  /** Set when the export is paused (`logbarge exports pause`): the run planned and uploaded nothing (more). */
  readonly paused?: { readonly at: number; readonly reason: string | null };
}

/** Rows read from the spool per page: large enough for few statements, small enough to keep each read under a few ms. */
const pageRows = 5_000;
/**
 * Most stored bytes (body + raw) per page. An encoder renders a page as one string, and RAW's
 * JSON escaping can make it up to 6× larger (`\u0000` for each control byte): 16 MiB keeps the
 * worst case near 100 MB, far from V8's ~512 MiB string limit (5,000 rows of ~600 KB records
 * exceeded it, and the batch failed on every retry).
 */
export const defaultPageBytes = 16 * 1024 * 1024;
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
  /**
   * Reserves disk space for a staged file before it is written (throws when it would not fit);
   * the returned function releases it once the staged file is gone. None: no accounting.
   */
  readonly reserveStaging?: (staging: { files: readonly StagedFile[]; what: string }) => Promise<() => void>;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly now?: () => number;
  /** Most stored bytes per page read from the spool (defaultPageBytes; tests set it smaller). */
  readonly pageBytes?: number;
  /** Where the prune's and shrink's transactions run (the daemon: its append worker); none: the spool's connection, on the event loop (loopPruner). */
  readonly pruner?: Pruner;
}

/** Runs the cycle of one export; runs never overlap. */
export interface ExportRunner {
  readonly name: string;
  /** True while a run is in progress. */
  busy(): boolean;
  /**
   * Runs a cycle. `untilCaughtUp` keeps planning until every event present at the start is
   * delivered (flush, shutdown); otherwise one plan is delivered. A call while a run is in
   * progress waits for it and then runs again, so a flush always covers what came before it;
   * `signal` ends that wait too (the result then carries an error and nothing ran).
   */
  run(reason: CycleReason, options?: { untilCaughtUp?: boolean; signal?: AbortSignal }): Promise<CycleResult>;
}

/**
 * The batch's rows page by page, in sequence order; every row also goes through `hasher`. With
 * `storedLines` (an encoder that takes them), a page without raw records comes as StoredLines.
 */
async function* pagesOf(
  spool: Spool,
  batch: BatchRow,
  hasher: RowsHasher,
  options: { pageBytes: number; storedLines: boolean; signal?: AbortSignal | undefined },
): AsyncGenerator<ExportPage> {
  const { pageBytes, storedLines, signal } = options;
  let after = batch.seq_from - 1;
  // Pages read otherwise than in one query since the last that was (see readBatchLines: tried again every 8th page).
  let misses = 0;
  for (;;) {
    signal?.throwIfAborted();
    let page: ExportPage;
    if (storedLines) {
      const read = readBatchLines(spool, batch, after, pageRows, pageBytes, { joinedFirst: misses % 8 === 0 });
      if (read === undefined) return;
      after = read.lastSeq;
      misses = 'lines' in read && read.oneQuery ? 0 : misses + 1;
      if ('lines' in read) {
        hasher.addLines(read.lines, read.rows);
        page = { rows: read.rows, lines: read.lines };
      } else page = rowsFrom(read.rows, hasher);
    } else {
      const rows = readBatchPage(spool, batch, after, pageRows, pageBytes);
      if (rows.length === 0) return;
      after = rows[rows.length - 1]![0];
      page = rowsFrom(rows, hasher);
    }
    yield page;
    if (after >= batch.seq_to) return;
    await yieldToLoop(); // let ingest requests in between pages
  }
}

/** Spool rows as export rows, each added to `hasher`. */
function rowsFrom(rows: readonly [number, string, string | null][], hasher: RowsHasher): ExportRow[] {
  const page = rows.map(([, body, raw]) => ({ body, raw }));
  for (const row of page) hasher.add(row.body, row.raw);
  return page;
}

/**
 * Compression ratio assumed for a compressed staged file: audit JSON compresses 5-10× with gzip
 * or zstd (Parquet more), so a quarter stays on the safe side.
 */
const assumedCompression = 4;

/**
 * The files a batch's staging writes and their expected sizes, without reading its rows: its row
 * count times the spool's mean stored bytes per event (body and raw), divided by
 * assumedCompression unless the file is uncompressed text. A Parquet batch is first staged as
 * uncompressed NDJSON (`<path>.ndjson`, deleted once DuckDB has read it) beside the Parquet file
 * DuckDB writes from it, so it reserves both (DuckDB's own temporary files are not counted).
 */
export function stagedFiles(spool: Spool, batch: BatchRow, path: string): StagedFile[] {
  const { depth, bytes } = spool.counters();
  const perRow = depth > 0 ? bytes / depth : 0;
  const raw = Math.ceil(batch.row_count * perRow);
  const compressed = Math.ceil(raw / assumedCompression);
  if (batch.format === 'parquet') return [{ path, bytes: compressed }, { path: `${path}.ndjson`, bytes: raw }];
  return [{ path, bytes: batch.compression === 'none' ? raw : compressed }];
}

/** Creates the runner of one export. */
export function createExportRunner(deps: ExportRunnerDeps): ExportRunner {
  const { config, spool, logger, metrics } = deps;
  const now = deps.now ?? Date.now;
  const log = logger.child({ export: config.name });
  const pruner = deps.pruner ?? loopPruner(spool);
  let current: Promise<CycleResult> | undefined;

  /**
   * Encodes a batch (hashing its rows on the way) and uploads it under its key, with metadata
   * naming the rows. When the key is taken, the existing object's metadata decides: the same rows
   * (an earlier attempt, or a copy of this spool) count as delivered; other rows move the batch to
   * a key of its own, recorded in the spool before the upload; no row count or hash (an older
   * logbarge) counts as delivered. Returns the batch as delivered (its key may have changed).
   */
  async function deliver(batch: BatchRow, signal?: AbortSignal): Promise<{ batch: BatchRow; bytes: number; content?: ContentHash }> {
    const blocked = deps.gate(batch.destination);
    if (blocked) throw new LogbargeError('EXPORT_FAILED', `upload ${batch.object_key}: ${blocked}`);
    const format = batch.format as Format;
    const compression = batch.compression as Compression;
    mkdirSync(deps.stagingDir, { recursive: true, mode: privateDirMode });
    const staged = join(deps.stagingDir, `${config.name}-${batch.id}-${process.pid}-${randomBytes(3).toString('hex')}`);
    const started = performance.now();
    const release = await deps.reserveStaging?.({ files: stagedFiles(spool, batch, staged), what: `stage ${batch.object_key}` });
    try {
      const hasher = createRowsHasher();
      const encoder = deps.encoderFor(format);
      const encoded = await encoder.encode({
        pages: pagesOf(spool, batch, hasher, { pageBytes: deps.pageBytes ?? defaultPageBytes, storedLines: encoder.takesStoredLines === true, signal }),
        // Quarantine lines are already whole records ({received_at, source, errors, record}).
        includeRaw: config.raw && quarantineDate(batch.dt) === undefined,
        asStored: quarantineDate(batch.dt) !== undefined,
        outPath: staged,
        compression,
        ...(signal ? { signal } : {}),
      });
      const digest = hasher.digest();
      if (encoded.rows !== batch.row_count || digest.rows !== batch.row_count) {
        throw new LogbargeError(
          'EXPORT_FAILED',
          `encode ${batch.object_key}: read ${digest.rows} rows from the spool and encoded ${encoded.rows}, the plan recorded ${batch.row_count}`,
        );
      }
      // Exports with integrity: the SHA-256 of the exact bytes uploaded, for the next digest; the
      // text encoders hashed the file as they wrote it, a Parquet file (DuckDB's) is read once.
      const staging = !config.integrity
        ? undefined
        : encoded.sha256 !== undefined
          ? { sha256: encoded.sha256, bytes: encoded.bytes }
          : await hashFile(staged, signal);
      const encodedAt = performance.now();
      const store = deps.storeFor(batch.destination);
      const metadata = dataObjectMetadata({
        ...digest,
        writerId: deps.writerId,
        spoolId: spool.id,
        seqFrom: batch.seq_from,
        seqTo: batch.seq_to,
        format,
        compression,
      });
      let current = batch;
      for (;;) {
        const put = await store.putFile(current.object_key, staged, {
          ...contentTypeOf(format, compression),
          ifAbsent: true,
          metadata,
          ...(signal ? { signal } : {}),
        });
        const existing = put.alreadyExisted ? await headExisting(store, current.object_key, signal) : undefined;
        const verdict = existing === undefined ? undefined : compareRows(existing.metadata, digest);
        if (existing === undefined || verdict !== 'different') {
          metrics.uploadSeconds.observe({ export: config.name }, (performance.now() - started) / 1000);
          const bytes = existing?.size ?? put.bytes;
          log.debug(
            { key: current.object_key, rows: encoded.rows, bytes, encodeMs: Math.round(encodedAt - started), ...encoded.timings, uploadMs: Math.round(performance.now() - encodedAt) },
            'object delivered',
          );
          if (verdict === 'same') log.info({ key: current.object_key }, 'object already present with these rows: an earlier attempt delivered it');
          if (verdict === 'unknown') {
            log.warn({ key: current.object_key }, 'object already present without a row count or hash (written by an older logbarge): taken as this batch\'s delivery');
          }
          // The object already there may hold other bytes for the same rows (an earlier attempt's
          // encoding): the digest lists what is stored, so it is read back and hashed (rare: only
          // after a crash between upload and commit, or a copied spool).
          // Streamed: an object can be hundreds of MB.
          const content = staging && existing ? await hashStream(await store.getStream(current.object_key, signal ? { signal } : {})) : staging;
          return { batch: current, bytes: content?.bytes ?? bytes, ...(content ? { content } : {}) };
        }
        current = await moveBatch(current, { ext: extensionOf(format, compression), digest, existing: existing.metadata, store, signal });
      }
    } finally {
      await rm(staged, { force: true }); // off the event loop: a staged file can be hundreds of MB
      release?.();
    }
  }

  /**
   * Heads the object a conditional put found under `key`. It exists (the put was refused), so a
   * missing one means it was deleted since: an error, and the batch is retried.
   */
  async function headExisting(store: ObjectStore, key: string, signal?: AbortSignal): Promise<ObjectHead> {
    let head: ObjectHead | undefined;
    try {
      head = await store.head(key, signal ? { signal } : {});
    } catch (err) {
      const denied = err instanceof StoreError && err.reason === 'access_denied';
      throw new LogbargeError('EXPORT_FAILED', `check existing object ${store.describe(key)}: ${(err as Error).message}`, {
        cause: err,
        ...(denied
          ? { hint: `the key exists already; logbarge reads its metadata to tell its own earlier upload from another spool's object: allow s3:GetObject on the destination's dt=* and _quarantine/* keys (\`logbarge ddl iam\` prints the policy)` }
          : err instanceof StoreError && err.hint ? { hint: err.hint } : {}),
      });
    }
    if (head === undefined) {
      throw new LogbargeError('EXPORT_FAILED', `check existing object ${store.describe(key)}: it was refused as existing, then not found; retrying later`);
    }
    return head;
  }

  /**
   * Moves a batch whose key holds other rows to the key named by its rows' hash, recorded in the
   * spool before anything is uploaded there; warns naming both keys and counts it.
   */
  async function moveBatch(
    batch: BatchRow,
    { ext, digest, existing, store, signal }: { ext: string; digest: RowsDigest; existing: ObjectMetadata; store: ObjectStore; signal: AbortSignal | undefined },
  ): Promise<BatchRow> {
    const next = conflictKey({ key: batch.object_key, ext, sha256: digest.sha256 });
    if (next === undefined) {
      throw new LogbargeError('EXPORT_FAILED', `upload ${store.describe(batch.object_key)}: the key holds other rows (${existing[metadataNames.rows] ?? '?'} rows, SHA-256 ${existing[metadataNames.rowsSha256] ?? '?'}) although it is named by this batch's own rows`, {
        hint: 'something other than this spool wrote the object; move it aside, then the next cycle delivers the batch',
      });
    }
    // The append worker may hold the write lock: waited for, as the cycle's other writes.
    const moved = await retryBusy(() => rekeyBatch(spool, batch, next), signal ? { signal } : {});
    metrics.keyConflicts.inc({ export: config.name });
    log.warn(
      {
        key: batch.object_key,
        newKey: next,
        destination: batch.destination,
        existing: {
          rows: existing[metadataNames.rows],
          writer: existing[metadataNames.writer],
          spool: existing[metadataNames.spool],
          seq: `${existing[metadataNames.seqFrom] ?? '?'}-${existing[metadataNames.seqTo] ?? '?'}`,
        },
        rows: digest.rows,
        hint: `another spool with spool id ${spool.id} wrote other rows under this key: this spool (or that one) was probably restored from a backup or cloned from a copied volume; give each copy its own writerId`,
      },
      'object key holds other rows: re-keyed the batch',
    );
    return moved;
  }

  /**
   * Prunes what every export delivered (all of it at once when pruneAll can, else in chunks,
   * yielding to the event loop between short transactions), on the pruner's connection (the
   * daemon's append worker: off the event loop), then gives the pages that stayed free since the
   * last shrink (noted at the start of this cycle and again before this prune) back to the file
   * system, in short steps too, when they add up (reclaimFreePages): the pages this prune frees
   * are the next appends'.
   */
  async function prune(signal?: AbortSignal): Promise<number> {
    const floor = pruneFloor(spool);
    const busy = signal ? { signal } : {};
    await retryBusy(() => spool.noteDelivered(floor), busy);
    // Everything delivered and not too much of it: one truncation instead of chunks.
    const all = await retryBusy(() => pruner.all(floor), busy);
    let total = all ?? 0;
    while (all === undefined) {
      // Aborted (a drain past shutdownTimeoutMs): the rest is pruned by the next cycle.
      signal?.throwIfAborted();
      const n = await retryBusy(() => pruner.step(floor, pruneChunk), busy);
      total += n;
      if (n < pruneChunk) break;
      await yieldToLoop();
    }
    const reclaimed = await reclaimFreePages(spool, { stayedFree: true, step: pruner.reclaimStep, checkpoint: pruner.checkpoint, ...(signal ? { signal } : {}) });
    if (reclaimed.pages > 0) log.info({ pages: reclaimed.pages, bytes: reclaimed.bytes }, 'spool file shrunk: pages free since the previous cycle given back');
    return total;
  }

  async function cycle(reason: CycleReason, untilCaughtUp: boolean, signal?: AbortSignal): Promise<CycleResult> {
    const started = performance.now();
    const target = spool.stats().newestSeq;
    // Pages free now and still free when this cycle prunes went unused for a cycle (see prune).
    noteFreePages(spool);
    const result = { export: config.name, batches: 0, rows: 0, bytes: 0, keys: [] as string[], pruned: 0 };
    let paused = pausedState(spool, config.name);
    if (paused) {
      log.debug({ reason, pausedAt: new Date(paused.at).toISOString(), pausedReason: paused.reason }, 'export paused; nothing planned or uploaded (`logbarge exports resume`)');
      return { ...result, paused };
    }
    try {
      plans: for (;;) {
        const plan = await planExport(spool, {
          ...(signal ? { signal } : {}),
          exportName: config.name,
          maxRowsPerFile: config.maxRowsPerFile,
          maxRowsPerPlan,
          destination: config.destination,
          format: config.format,
          compression: config.compression,
          keyFor: ({ dt, seqFrom, seqTo }) =>
            objectKey({ dt, writerId: deps.writerId, spoolId: spool.id, seqFrom, seqTo, format: config.format, compression: config.compression as Compression }),
          quarantineFormat: { format: 'ndjson', compression: 'gzip' },
          now: now(),
        });
        if (plan.batches.length === 0) break;
        if (plan.resumed) log.info({ batches: plan.batches.length }, 'resuming an unfinished plan with its recorded keys');
        for (const batch of plan.batches) {
          signal?.throwIfAborted();
          // Paused by an operator meanwhile (another process may write the flag): stop before the next batch.
          paused = pausedState(spool, config.name);
          if (paused) break plans;
          try {
            const { batch: delivered, bytes, content } = await deliver(batch, signal);
            const at = now();
            await retryBusy(
              () =>
                completeBatch(spool, delivered, {
                  bytes,
                  now: at,
                  // Listed by the digests of the export's destination; a batch planned for an earlier
                  // destination (the config changed since) is not, as its key is not under this one.
                  ...(content && delivered.destination === config.destination
                    ? {
                        object: {
                          export: config.name,
                          destination: delivered.destination,
                          key: delivered.object_key,
                          bytes: content.bytes,
                          sha256: content.sha256,
                          rows: delivered.row_count,
                          dt: delivered.dt,
                          seqFrom: delivered.seq_from,
                          seqTo: delivered.seq_to,
                          deliveredAt: at,
                        },
                      }
                    : {}),
                }),
              signal ? { signal } : {},
            );
            result.batches++;
            result.rows += delivered.row_count;
            result.bytes += bytes;
            result.keys.push(delivered.object_key);
            metrics.batchesUploaded.inc({ export: config.name });
            metrics.rowsExported.inc({ export: config.name }, delivered.row_count);
            metrics.bytesUploaded.inc({ export: config.name }, bytes);
            metrics.lastSuccess.set({ export: config.name }, now() / 1000);
          } catch (err) {
            metrics.batchesFailed.inc({ export: config.name });
            // Only a note: a lock still held when the signal aborts leaves it unwritten.
            await retryBusy(() => noteBatchError(spool, batch, describeError(err), now()), signal ? { signal } : {}).catch(() => undefined);
            throw err;
          }
        }
        const cursor = spool.sql.readCursor.get(config.name);
        if (!untilCaughtUp || (cursor?.committed_seq ?? 0) >= target) break;
      }
      const deliveredMs = Math.round(performance.now() - started);
      noteFreePages(spool);
      result.pruned = await prune(signal);
      log.info(
        { reason, batches: result.batches, rows: result.rows, bytes: result.bytes, pruned: result.pruned, deliveredMs, ms: Math.round(performance.now() - started), keys: result.keys, ...(paused ? { paused: true } : {}) },
        paused ? 'export paused during the cycle; stopped before the next batch' : 'export cycle done',
      );
      return { ...result, deliveredMs, ...(paused ? { paused } : {}) };
    } catch (err) {
      const message = describeError(err);
      if (result.batches === 0) await retryBusy(() => noteExportError(spool, config.name, message, now()), signal ? { signal } : {}).catch(() => undefined);
      log.error({ reason, delivered: result.batches, err: message }, 'export cycle failed; spooled events stay and are retried');
      return { ...result, error: message };
    }
  }

  return {
    name: config.name,
    busy: () => current !== undefined,
    async run(reason, options = {}) {
      const { signal } = options;
      while (current) {
        // Waiting behind a running cycle stops with the caller's signal; the running cycle goes on
        // (it has a signal of its own).
        await settledBefore(current, signal);
        if (signal?.aborted) {
          const message = `${reason} cycle: stopped while waiting for the running cycle: ${describeError(signal.reason)}`;
          return { export: config.name, batches: 0, rows: 0, bytes: 0, keys: [], pruned: 0, error: message };
        }
      }
      current = cycle(reason, options.untilCaughtUp ?? false, options.signal);
      try {
        return await current;
      } finally {
        current = undefined;
      }
    },
  };
}
