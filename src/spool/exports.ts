/**
 * The spool side of exports: per-export cursors, batch plans recorded before any upload,
 * paged reads of a batch's rows, the commit that marks a batch delivered, and pruning of rows
 * every export has passed. Knows nothing of formats or stores: keys come from the caller.
 */
import { LogbargeError } from '../errors.js';
import { forgetDeliveredObjects, recordDeliveredObject, type DeliveredObject } from './digests.js';
import type { BatchRow, CursorRow } from './sql.js';
import { retryBusy } from './busy.js';
import { quarantineDate, type Spool } from './spool.js';

export type { BatchRow, CursorRow } from './sql.js';

/** What an export plans with. */
export interface PlanOptions {
  readonly exportName: string;
  readonly maxRowsPerFile: number;
  /** Most rows one plan covers, so planning stays a short transaction on a large backlog. */
  readonly maxRowsPerPlan: number;
  /** Destination, format and compression recorded with each batch, so a retry writes the same object. */
  readonly destination: string;
  readonly format: string;
  readonly compression: string;
  /** The object key (relative to the destination) of a batch. */
  readonly keyFor: (batch: { dt: string; seqFrom: number; seqTo: number }) => string;
  /** Ends a wait for another process's write lock (retryBusy). */
  readonly signal?: AbortSignal;
  /** The format and compression of a batch of quarantine rows (dt `quarantine:…`), which differ from the export's. */
  readonly quarantineFormat?: { readonly format: string; readonly compression: string };
  readonly now: number;
}

/** A plan's batches and whether it was newly made or an open one resumed. */
export interface Plan {
  readonly batches: BatchRow[];
  readonly resumed: boolean;
}

/**
 * Index entries read between yields to the event loop while a plan is worked out (the bench
 * measured about 40 ms per million entries of events_by_dt, so a slice takes a few ms).
 */
const planSliceRows = 100_000;

/** One file's worth of a plan, before it is recorded. */
interface PlannedRun {
  readonly dt: string;
  readonly seqFrom: number;
  readonly seqTo: number;
  readonly rows: number;
}

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Returns the open plan of an export if there is one (a crash or failure left it), else records
 * a new plan over the events after its cursor: one batch per (dt, run of at most maxRowsPerFile
 * rows). The plan is durable before this resolves.
 *
 * The runs are worked out outside any write transaction, by range searches of the dt index that
 * start at the cursor (so the cost follows the plan's size, not the spool's), yielding to the
 * event loop every planSliceRows entries. The rows of (cursor, newest] cannot change meanwhile:
 * later appends get higher seqs and pruning stops at the lowest cursor. Only recording the plan
 * takes the write lock, after checking that the cursor has not moved (another process, e.g. a
 * `logbarge flush`, may have planned it meanwhile; then its plan is resumed instead).
 */
export async function planExport(spool: Spool, options: PlanOptions): Promise<Plan> {
  const { sql } = spool;
  const busy = options.signal ? { signal: options.signal } : {};
  for (;;) {
    const start = await retryBusy(() => spool.db
      .transaction((): Plan | { from: number; upTo: number } => {
        sql.insertCursor.run(options.exportName);
        const cursor = sql.readCursor.get(options.exportName) as CursorRow;
        if (cursor.planned_seq > cursor.committed_seq) {
          return { batches: sql.openBatches.all(options.exportName), resumed: true };
        }
        const newest = (sql.maxSeq.get() as number | null) ?? 0;
        if (newest <= cursor.committed_seq) return { batches: [], resumed: false };
        return { from: cursor.committed_seq, upTo: Math.min(newest, cursor.committed_seq + options.maxRowsPerPlan) };
      })
      .immediate(), busy);
    if ('batches' in start) return start;
    const { from, upTo } = start;
    const runs = await planRuns(spool, { from, upTo, maxRowsPerFile: options.maxRowsPerFile });
    const recorded = await retryBusy(() => recordPlan(spool, options, { from, upTo, runs }), busy);
    if (recorded !== undefined) return recorded;
  }
}

/** The runs of (from, upTo]: per dt, in order of the dt's first seq, runs of at most maxRowsPerFile rows. */
async function planRuns(spool: Spool, range: { from: number; upTo: number; maxRowsPerFile: number }): Promise<PlannedRun[]> {
  const { sql } = spool;
  const { from, upTo, maxRowsPerFile } = range;
  const perDt: PlannedRun[][] = [];
  let sinceYield = 0;
  for (let dt = sql.nextDt.get('') as string | undefined; dt !== undefined; dt = sql.nextDt.get(dt) as string | undefined) {
    const runs: PlannedRun[] = [];
    let after = from;
    let open: { seqFrom: number; seqTo: number; rows: number } | undefined;
    for (;;) {
      const limit = Math.min(planSliceRows, maxRowsPerFile - (open?.rows ?? 0));
      const step = sql.runOfDt.get(dt, after, upTo, limit)!;
      sinceYield += step.n + 1;
      if (step.n > 0) {
        open = open === undefined ? { seqFrom: step.first!, seqTo: step.last!, rows: step.n } : { ...open, seqTo: step.last!, rows: open.rows + step.n };
        after = step.last!;
        if (open.rows >= maxRowsPerFile) {
          runs.push({ dt, ...open });
          open = undefined;
        }
      }
      if (sinceYield >= planSliceRows) {
        sinceYield = 0;
        await yieldToLoop();
      }
      if (step.n < limit) break;
    }
    if (open !== undefined) runs.push({ dt, ...open });
    if (runs.length > 0) perDt.push(runs);
  }
  perDt.sort((a, b) => a[0]!.seqFrom - b[0]!.seqFrom);
  return perDt.flat();
}

/** Records the runs as the export's plan in one short transaction; undefined when the cursor moved since `from` was read. */
function recordPlan(spool: Spool, options: PlanOptions, plan: { from: number; upTo: number; runs: readonly PlannedRun[] }): Plan | undefined {
  const { sql } = spool;
  return spool.db
    .transaction((): Plan | undefined => {
      const cursor = sql.readCursor.get(options.exportName);
      if (cursor === undefined || cursor.committed_seq !== plan.from || cursor.planned_seq > cursor.committed_seq) return undefined;
      const ids: number[] = [];
      for (const { dt, seqFrom, seqTo, rows } of plan.runs) {
        const key = options.keyFor({ dt, seqFrom, seqTo });
        const owner = sql.batchOwner.get(options.destination, key) as string | undefined;
        if (owner !== undefined) {
          throw new LogbargeError(
            'EXPORT_FAILED',
            `plan export ${options.exportName}: object key ${key} at ${options.destination} is already recorded by export ${owner}`,
            {
              hint: `two exports must not write one destination (a query over it would read their events twice); give ${options.exportName} its own destination (see \`logbarge exports\`)`,
            },
          );
        }
        const quarantine = quarantineDate(dt) !== undefined;
        const info = sql.insertBatch.run(
          options.exportName, plan.upTo, dt, seqFrom, seqTo, rows,
          options.destination,
          quarantine ? (options.quarantineFormat?.format ?? options.format) : options.format,
          quarantine ? (options.quarantineFormat?.compression ?? options.compression) : options.compression,
          key, options.now,
        );
        ids.push(Number(info.lastInsertRowid));
      }
      sql.setPlanned.run(plan.upTo, options.exportName);
      return { batches: ids.map((id) => sql.readBatch.get(id) as BatchRow), resumed: false };
    })
    .immediate();
}

/**
 * Reads up to `limit` rows of a batch after `afterSeq`, in sequence order, as [seq, body, raw],
 * and, with `maxBytes`, no more rows than fit in that many stored bytes (body + raw, UTF-8) —
 * but always at least one, so a single large row still moves the page on.
 */
export function readBatchPage(
  spool: Spool,
  batch: BatchRow,
  afterSeq: number,
  limit: number,
  maxBytes = Number.POSITIVE_INFINITY,
): [number, string, string | null][] {
  const after = Math.max(afterSeq, batch.seq_from - 1);
  let upTo = batch.seq_to;
  let rows = limit;
  if (Number.isFinite(maxBytes)) {
    const sizes = spool.sql.batchPageSizes.all(batch.dt, after, batch.seq_to, limit);
    let total = 0;
    let n = 0;
    for (const [seq, bytes] of sizes) {
      if (n > 0 && total + bytes > maxBytes) break;
      total += bytes;
      n++;
      upTo = seq;
    }
    if (n === 0) return [];
    rows = n;
  }
  return spool.sql.batchPage.all(batch.dt, after, upTo, rows);
}

/** A page of a batch as readBatchLines reads it: stored lines, or rows as readBatchPage reads them. */
export type BatchLinesPage =
  | { readonly lastSeq: number; readonly rows: number; readonly lines: Buffer; /** Read in one query (see readBatchLines). */ readonly oneQuery: boolean }
  | { readonly lastSeq: number; readonly rows: [number, string, string | null][] };

/**
 * Reads the next page of a batch like readBatchPage (after `afterSeq`, at most `limit` rows and
 * `maxBytes` stored bytes, at least one row), but when none of its rows carries a raw record and
 * they fit in `maxBytes`, as one buffer: the stored bodies in sequence order joined by "\n" (UTF-8,
 * no newline after the last), concatenated by SQLite, with no JavaScript string per row. Other
 * pages come as rows. Undefined when no row follows `afterSeq`.
 *
 * A page without raw records whose bodies are each at most `maxBytes / limit` bytes is read in one query
 * (batchPageLinesBounded), which bounds the joined value by the page's bound without reading the
 * rows' sizes first. Otherwise (a larger body, a raw record) the sizes are read, then the page:
 * one pass more. `joinedFirst: false` skips the one-query attempt, for a caller whose previous
 * page was not read in one query (raw records and large bodies tend to come in runs: a sender that
 * sends them sends them all).
 */
export function readBatchLines(
  spool: Spool,
  batch: BatchRow,
  afterSeq: number,
  limit: number,
  maxBytes = Number.POSITIVE_INFINITY,
  options: { joinedFirst?: boolean } = {},
): BatchLinesPage | undefined {
  const after = Math.max(afterSeq, batch.seq_from - 1);
  if (options.joinedFirst !== false) {
    const perRow = Number.isFinite(maxBytes) ? Math.floor(maxBytes / limit) : Number.MAX_SAFE_INTEGER;
    const [n, last, fit, lines, seqs] = spool.sql.batchPageLinesBounded.get(perRow, batch.dt, after, batch.seq_to, limit)!;
    if (n === 0 || last === null) return undefined;
    if (fit === n && lines !== null && ascending(JSON.parse(seqs) as number[], n)) return { lastSeq: last, rows: n, lines, oneQuery: true };
  }
  const extent = spool.sql.batchPageExtent.get(batch.dt, after, batch.seq_to, limit);
  if (!extent || extent.n === 0 || extent.last === null) return undefined;
  if (extent.raws === 0 && extent.bytes <= maxBytes) {
    const [lines, seqs] = spool.sql.batchPageLines.get(batch.dt, after, extent.last)!;
    if (lines !== null && ascending(JSON.parse(seqs) as number[], extent.n)) return { lastSeq: extent.last, rows: extent.n, lines, oneQuery: false };
  }
  // Raw records (spliced into each line by the encoder), rows larger than the bound, or (never
  // seen) the rows not reaching the aggregate in order.
  const rows = readBatchPage(spool, batch, after, limit, maxBytes);
  return rows.length === 0 ? undefined : { lastSeq: rows[rows.length - 1]![0], rows };
}

/** True when `seqs` holds `n` strictly ascending numbers. */
function ascending(seqs: readonly number[], n: number): boolean {
  if (seqs.length !== n) return false;
  for (let i = 1; i < seqs.length; i++) if (!(seqs[i]! > seqs[i - 1]!)) return false;
  return true;
}

/**
 * Marks a batch delivered and, when it was the last open batch of its plan, advances the
 * export's cursor over the whole plan, in one transaction. Idempotent. `object` (exports with
 * `integrity`) records the delivered object's size and SHA-256 in the same transaction, for the
 * next digest.
 */
export function completeBatch(
  spool: Spool,
  batch: BatchRow,
  info: { bytes: number; now: number; object?: DeliveredObject },
): { cursorAdvanced: boolean } {
  const { sql } = spool;
  return spool.db
    .transaction(() => {
      if (sql.markBatchDone.run(info.bytes, info.now, batch.id).changes === 0) return { cursorAdvanced: false }; // already done
      if (info.object) recordDeliveredObject(spool, info.object);
      if ((sql.countOpenInPlan.get(batch.export, batch.plan_to) as number) > 0) {
        sql.noteSuccess.run(info.now, batch.export);
        return { cursorAdvanced: false };
      }
      return { cursorAdvanced: sql.commitPlan.run(info.now, batch.export, batch.plan_to).changes > 0 };
    })
    .immediate();
}

/**
 * Records a new object key for a planned batch (its planned key holds other rows), durably,
 * before anything is uploaded under it; retries then use the new key. Returns the updated batch.
 */
export function rekeyBatch(spool: Spool, batch: BatchRow, objectKey: string): BatchRow {
  if (spool.sql.rekeyBatch.run(objectKey, batch.id, batch.object_key).changes === 0) {
    throw new LogbargeError('EXPORT_FAILED', `re-key batch ${batch.id}: it is no longer planned under ${batch.object_key}`);
  }
  return spool.sql.readBatch.get(batch.id) as BatchRow;
}

/** Records a failed attempt at a batch (it stays planned and is retried with the same key). */
export function noteBatchError(spool: Spool, batch: BatchRow, message: string, now: number): void {
  spool.db.transaction(() => {
    spool.sql.noteBatchError.run(message, batch.id);
    spool.sql.noteCursorError.run(message, now, batch.export);
  })();
}

/** Records a failed cycle that never reached a batch (verify failed, planning failed). */
export function noteExportError(spool: Spool, exportName: string, message: string, now: number): void {
  spool.sql.insertCursor.run(exportName);
  spool.sql.noteCursorError.run(message, now, exportName);
}

/**
 * Records a cursor for each export (starting before the oldest spooled event) unless it has one.
 * Every process that writes the spool for a config calls it (the daemon, `flush`, `ingest`), so
 * an export is waited for by pruning from the moment any of them knew it.
 */
export function registerExports(spool: Spool, exportNames: readonly string[]): void {
  spool.db.transaction(() => {
    for (const name of exportNames) spool.sql.insertCursor.run(name);
  }).immediate();
}

/**
 * The highest sequence number every export recorded in the spool has delivered (0: nothing to
 * prune). Every recorded cursor counts, named in this process's config or not: a flush with a
 * config that lacks an export must not delete what that export has not delivered. A cursor is
 * retired only by forgetExport.
 */
export function pruneFloor(spool: Spool): number {
  return (spool.sql.minCommitted.get() as number | null) ?? 0;
}

/** Names of every cursor recorded in the spool, in name order. */
export function recordedCursors(spool: Spool): string[] {
  return (spool.sql.readCursors.all() as CursorRow[]).map((c) => c.export);
}

/** Names of the cursors recorded in the spool that `exportNames` does not include. */
export function unnamedCursors(spool: Spool, exportNames: readonly string[]): string[] {
  const named = new Set(exportNames);
  return (spool.sql.readCursors.all() as CursorRow[]).map((c) => c.export).filter((name) => !named.has(name));
}

/**
 * Retires an export's cursor and every batch recorded for it, in one transaction, so pruning
 * stops waiting for it. Returns false when no such cursor is recorded.
 */
export function forgetExport(spool: Spool, exportName: string): boolean {
  return spool.db
    .transaction((): boolean => {
      if (spool.sql.readCursor.get(exportName) === undefined) return false;
      spool.sql.deleteBatchesOf.run(exportName);
      spool.sql.deleteLateOf.run(exportName);
      forgetDeliveredObjects(spool, exportName);
      spool.sql.deleteCursor.run(exportName);
      return true;
    })
    .immediate();
}

/**
 * Pauses an export (`logbarge exports pause`): its cycles plan and upload nothing until
 * resumeExport. Its cursor keeps holding pruning. Returns false when no such cursor is recorded.
 */
export function pauseExport(spool: Spool, exportName: string, options: { reason: string | null; now: number }): boolean {
  return spool.sql.setPaused.run(options.now, options.reason, exportName).changes > 0;
}

/** Resumes a paused export; returns false when no such cursor is recorded. */
export function resumeExport(spool: Spool, exportName: string): boolean {
  return spool.sql.setPaused.run(null, null, exportName).changes > 0;
}

/** Why an export is paused (epoch ms and reason), or undefined while it runs. */
export function pausedState(spool: Spool, exportName: string): { at: number; reason: string | null } | undefined {
  const cursor = spool.sql.readCursor.get(exportName);
  return cursor?.paused_at == null ? undefined : { at: cursor.paused_at, reason: cursor.paused_reason };
}

/**
 * Marks a planned batch done without a delivery, recording where its rows were kept instead
 * (`deadLetter`), and advances the cursor when it was the last open batch of its plan, in one
 * transaction: what `exports skip-batch` does once the rows are durable in the dead-letter file.
 * The export's last error is cleared when it is the batch's (status then reports the batch under
 * `skipped`, and any other open batch's error); a later or other error stays.
 * Returns false when the batch is no longer planned (delivered or skipped meanwhile).
 */
export function skipBatch(spool: Spool, batch: BatchRow, info: { deadLetter: string; now: number }): { skipped: boolean; cursorAdvanced: boolean } {
  const { sql } = spool;
  return spool.db
    .transaction(() => {
      if (sql.markBatchSkipped.run(info.now, info.now, info.deadLetter, batch.id).changes === 0) return { skipped: false, cursorAdvanced: false };
      sql.clearCursorErrorOfBatch.run(batch.export, batch.id);
      if ((sql.countOpenInPlan.get(batch.export, batch.plan_to) as number) > 0) return { skipped: true, cursorAdvanced: false };
      return { skipped: true, cursorAdvanced: sql.commitPlanSkipped.run(batch.export, batch.plan_to).changes > 0 };
    })
    .immediate();
}

/** What pruning needs of a spool: a connection and its statements (the daemon's append worker has its own, see append-worker.ts). */
export type SpoolConnection = Pick<Spool, 'db' | 'sql'>;

/** `floor`, lowered to the lowest recorded cursor now (a caller's floor can be stale); as given when no cursor is recorded. */
function floorUnderLock(spool: SpoolConnection, floor: number): number {
  const current = spool.sql.minCommitted.get() as number | null | undefined;
  return current === null || current === undefined ? floor : Math.min(floor, current);
}

/** Deletes up to `chunk` events at or below `floor` in one short transaction; returns how many. */
export function pruneStep(spool: SpoolConnection, floor: number, chunk: number): number {
  const { sql } = spool;
  if (floor <= 0) return 0;
  return spool.db
    .transaction((): number => {
      // The floor again, under the write lock: a cursor recorded since `floor` was read (another
      // process's flush with another config planning from 0) must keep its events.
      const at = floorUnderLock(spool, floor);
      if (at <= 0) return 0;
      const stats = sql.pruneChunkStats.get(at, chunk) as { n: number; bytes: number };
      if (stats.n === 0) return 0;
      sql.pruneChunk.run(at, chunk);
      sql.addStats.run(-stats.n, -stats.bytes);
      return stats.n;
    })
    .immediate();
}

/**
 * Most events pruneAll deletes in its one transaction, which holds the write lock and the event
 * loop: the truncation took ~55-60 ms for 200,000 bench rows (~700 bytes, no raw record) on the
 * 2-core build machine. Its time follows the bytes freed, not the rows: a review measured 54 ms
 * for 250,000 bench rows and 104 ms for 250,000 rows with a 900-byte raw record, so it is
 * bounded by both (pruneAllMaxBytes). (The longest 2,000-row pruneStep measured took 20-50 ms.)
 */
export const pruneAllMaxRows = 250_000;
/**
 * Most stored bytes (bodies and raw records) pruneAll deletes in one transaction: 160 MiB, about
 * 245,000 bench events of ~685 bytes (the 250,000 bench rows the review measured at 54 ms held
 * ~171 MB); 250,000 events with a 900-byte raw record each (~400 MB, 104 ms) are pruned in steps.
 */
export const pruneAllMaxBytes = 160 * 1024 * 1024;

/**
 * Deletes every spooled event in one short transaction when all of them are at or below `floor`
 * (every export has delivered everything: a drain, a flush, a spool no one wrote to meanwhile) and
 * there are at most `maxRows` holding at most `maxBytes`; returns how many, or undefined when that does not hold (then
 * pruneStep prunes in chunks). Without a WHERE clause SQLite truncates the table and its index,
 * freeing their pages, instead of deleting row by row: for 200,000 bench rows ~55 ms against
 * ~500-800 ms in 2,000-row steps, whose deletes rebalance the B-tree and so rewrite about a
 * third of the freed leaf pages into the WAL (~64 MB) and its checkpoints.
 */
export function pruneAll(spool: SpoolConnection, floor: number, maxRows: number, maxBytes = pruneAllMaxBytes): number | undefined {
  const { sql } = spool;
  if (floor <= 0) return undefined;
  return spool.db
    .transaction((): number | undefined => {
      const stats = sql.readStats.get();
      const depth = stats?.depth ?? 0;
      const newest = (sql.maxSeq.get() as number | null) ?? 0;
      // The floor again, under the write lock (see pruneStep).
      const at = floorUnderLock(spool, floor);
      if (depth === 0 || depth > maxRows || (stats?.bytes ?? 0) > maxBytes || newest > at) return undefined;
      const n = sql.pruneAll.run().changes;
      sql.clearStats.run();
      return n;
    })
    .immediate();
}

/**
 * Deletes every event that all recorded exports have delivered, in transactions of `chunk`
 * rows, and records the delivery for the idempotency window; returns how many.
 */
export function pruneDelivered(spool: Spool, chunk: number): number {
  const floor = pruneFloor(spool);
  spool.noteDelivered(floor);
  let total = 0;
  for (;;) {
    const n = pruneStep(spool, floor, chunk);
    total += n;
    if (n < chunk) return total;
  }
}

/** Per-export figures for status and metrics. */
export interface ExportState {
  readonly name: string;
  /** False when the spool holds no cursor for it yet. */
  readonly recorded: boolean;
  /** The destination of its newest recorded batch (what an unnamed cursor wrote to), or null. */
  readonly lastDestination: string | null;
  readonly plannedSeq: number;
  readonly committedSeq: number;
  readonly pendingRows: number;
  /** Epoch ms when the oldest event this export has not delivered was accepted. */
  readonly oldestPendingAt: number | null;
  readonly openBatches: number;
  readonly failingBatches: number;
  readonly failedAttempts: number;
  readonly lastSuccess: number | null;
  readonly lastError: string | null;
  readonly lastErrorAt: number | null;
  readonly lastUpload: { key: string; destination: string; at: number; bytes: number; rows: number } | null;
  /** Set while `exports pause` holds it. */
  readonly paused: { at: number; reason: string | null } | null;
  /** The open batch that failed most often (what a stuck export is stuck on), or null. */
  readonly stuckBatch: { id: number; key: string; dt: string; rows: number; attempts: number; lastError: string | null } | null;
  /** Batches skipped by `exports skip-batch` and their rows (kept in dead-letter files, not delivered). */
  readonly skipped: { batches: number; rows: number };
}

/** Paused state, stuck batch and skipped rows of an export: indexed reads, cheap enough for every scrape. */
export function exportHealth(spool: Spool, name: string): Pick<ExportState, 'paused' | 'stuckBatch' | 'skipped'> {
  const { sql } = spool;
  const stuck = sql.stuckBatch.get(name);
  const skipped = sql.skippedSummary.get(name);
  return {
    paused: pausedState(spool, name) ?? null,
    stuckBatch: stuck ? { id: stuck.id, key: stuck.object_key, dt: stuck.dt, rows: stuck.row_count, attempts: stuck.attempts, lastError: stuck.last_error } : null,
    skipped: { batches: skipped?.batches ?? 0, rows: skipped?.rows ?? 0 },
  };
}

/** Epoch ms when the oldest event `exportName` has not delivered was accepted, or null: two indexed reads, cheap enough for every scrape. */
export function oldestPendingAt(spool: Spool, exportName: string): number | null {
  const committed = spool.sql.readCursor.get(exportName)?.committed_seq ?? 0;
  return (spool.sql.oldestPending.get(committed) as number | undefined) ?? null;
}

/** Epoch ms of the last object `exportName` delivered, as recorded with its commit, or null: one indexed read, cheap enough for every scrape. */
export function lastSuccessAt(spool: Spool, exportName: string): number | null {
  return spool.sql.readCursor.get(exportName)?.last_success ?? null;
}

/** Reads the state of one export (works on a read-only spool); counts pending rows, so not for hot paths. */
export function exportState(spool: Spool, name: string): ExportState {
  const { sql } = spool;
  const cursor = sql.readCursor.get(name);
  const committed = cursor?.committed_seq ?? 0;
  const summary = sql.batchSummary.get(name);
  const last = sql.lastDone.get(name);
  return {
    name,
    recorded: cursor !== undefined,
    lastDestination: (sql.lastDestination.get(name) as string | undefined) ?? null,
    plannedSeq: cursor?.planned_seq ?? 0,
    committedSeq: committed,
    pendingRows: sql.pendingCount.get(committed) as number,
    oldestPendingAt: (sql.oldestPending.get(committed) as number | undefined) ?? null,
    openBatches: summary?.open ?? 0,
    failingBatches: summary?.failing ?? 0,
    failedAttempts: summary?.attempts ?? 0,
    lastSuccess: cursor?.last_success ?? null,
    lastError: cursor?.last_error ?? summary?.last_error ?? null,
    lastErrorAt: cursor?.last_error_at ?? null,
    lastUpload: last
      ? { key: last.object_key, destination: last.destination, at: last.done_at, bytes: last.bytes, rows: last.row_count }
      : null,
    ...exportHealth(spool, name),
  };
}
