/**
 * Sealing one day, under its lease: read the day's record and raw objects, download what the seal
 * must read (the current seal's files and the raw objects it does not cover yet) to staging,
 * deduplicate and sort in DuckDB, list the deletions for later, upload the new files, and write
 * the record last. Until the record is written readers keep the previous state (the old record
 * or none); the record switches the day to the new files in one PUT. A crash at any step leaves
 * one of the two states, and the new seal's unused files are deleted by a later run.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { ExportConfig, SealConfig } from '../config/schema.js';
import { describeError, LogbargeError } from '../errors.js';
import { privateDirMode, privateFileMode } from '../modes.js';
import type { Schema } from '../schema/schema.js';
import type { ListedObject, ObjectStore } from '../store/store.js';
import { compactDay } from './compact.js';
import { rawFolder, rawObjectFormat, sealedFileKey, sealIdAt, sealRecordKey } from './keys.js';
import { takeLease, type Lease, type LeaseBody } from './lease.js';
import { addPending } from './pending.js';
import type { StagedFile } from './read.js';
import { readRecord, recordBytes, sealRecordFormat, type PendingEntry, type RawObject, type SealRecord } from './record.js';

/** What sealing needs for one export. */
export interface SealContext {
  readonly store: ObjectStore;
  readonly exportConfig: ExportConfig;
  readonly seal: SealConfig;
  readonly schema: Schema;
  /** Directory under which each seal gets its own staging directory. */
  readonly workRoot: string;
  /** Who seals, for leases and records (writer id, host, pid). */
  readonly owner: string;
  /** DuckDB worker threads for the sort. */
  readonly threads: number;
  readonly logger?: Logger;
  readonly now?: () => number;
  readonly signal?: AbortSignal;
}

/** How a day turned out. */
export type DayOutcome = 'sealed' | 'resealed' | 'unchanged' | 'late' | 'empty' | 'busy' | 'failed';

/** The result of one day. */
export interface DayResult {
  readonly dt: string;
  readonly outcome: DayOutcome;
  readonly sealId?: string;
  /** Distinct events in the seal. */
  readonly rows?: number;
  readonly inputRows?: number;
  readonly duplicates?: number;
  readonly conflicts?: number;
  readonly files?: number;
  readonly bytes?: number;
  /** Raw objects the seal covers. */
  readonly rawObjects?: number;
  /** Raw objects not covered by the day's current seal (folded in by this seal, or late). */
  readonly newObjects?: number;
  /** Who holds the lease, when busy. */
  readonly holder?: { owner: string; expiresAt: string };
  readonly error?: string;
}

/** A day as it is now: its record and its raw data objects, and which of those the record does not cover. */
export interface DayState {
  readonly record: SealRecord | undefined;
  readonly raw: ListedObject[];
  readonly uncovered: ListedObject[];
}

/** Reads a day's state (no lease needed). */
export async function inspectDay(store: ObjectStore, dt: string): Promise<DayState> {
  const record = await readRecord({ store, dt });
  const raw = (await store.list(rawFolder(dt))).filter((o) => rawObjectFormat(dt, o.key) !== undefined);
  const covered = new Set(record?.raw.map((r) => r.key) ?? []);
  return { record, raw, uncovered: raw.filter((o) => !covered.has(o.key)) };
}

/** Bytes of downloads in flight at once: many small objects in parallel, a large one alone. */
const downloadBudgetBytes = 64 * 1024 * 1024;

/** An input of the seal, downloaded. */
interface Downloaded extends StagedFile {
  readonly bytes: number;
  readonly sha256: string;
}

/**
 * Downloads `objects` into `dir`, several at once while their sizes fit the budget (one object
 * at a time in memory beyond it), keeping the lease between downloads.
 */
async function download(options: { store: ObjectStore; objects: readonly ListedObject[]; dir: string; lease: Lease; dt: string; signal?: AbortSignal }): Promise<Downloaded[]> {
  const { store, objects, dir, lease, dt } = options;
  const out: Downloaded[] = new Array(objects.length);
  const inFlight = new Set<Promise<void>>();
  let inFlightBytes = 0;
  let failure: unknown;
  for (const [i, object] of objects.entries()) {
    while (inFlight.size > 0 && (inFlightBytes + object.size > downloadBudgetBytes || failure !== undefined)) await Promise.race(inFlight);
    if (failure !== undefined) break;
    options.signal?.throwIfAborted();
    await lease.keep();
    const format = object.key.startsWith('_sealed/') ? { format: 'parquet' as const, gzip: false } : rawObjectFormat(dt, object.key)!;
    const path = join(dir, `in-${String(i).padStart(6, '0')}${object.key.slice(object.key.lastIndexOf('.'))}`);
    inFlightBytes += object.size;
    const task = (async () => {
      const body = await store.get(object.key, options.signal ? { signal: options.signal } : {});
      await writeFile(path, body, { mode: privateFileMode });
      out[i] = { key: object.key, path, ...format, bytes: body.byteLength, sha256: createHash('sha256').update(body).digest('hex') };
    })()
      .catch((err: unknown) => {
        failure ??= err;
      })
      .finally(() => {
        inFlightBytes -= object.size;
        inFlight.delete(task);
      });
    inFlight.add(task);
  }
  await Promise.all(inFlight);
  if (failure !== undefined) throw failure;
  return out;
}

/** SHA-256 of a file, streamed (a sealed file can be hundreds of MB). */
async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Seals (or re-seals) one day under its lease. `reseal`: fold in raw objects the current seal does not cover. */
export async function sealDay(ctx: SealContext, options: { dt: string; reseal: boolean }): Promise<DayResult> {
  const { dt } = options;
  const now = ctx.now ?? Date.now;
  const { store } = ctx;
  const attempt = await takeLease({ store, dt, owner: ctx.owner, ttlMs: ctx.seal.leaseSeconds * 1000, now });
  if (!attempt.acquired) return { dt, outcome: 'busy', ...holderOf(attempt.holder) };
  const lease = attempt.lease;
  let workDir: string | undefined;
  try {
    const state = await inspectDay(store, dt);
    if (state.raw.length === 0 && !state.record) return { dt, outcome: 'empty' };
    if (state.record && state.uncovered.length === 0) return { dt, outcome: 'unchanged', sealId: state.record.seal_id, rows: state.record.rows, files: state.record.files.length, rawObjects: state.record.raw.length, newObjects: 0 };
    if (state.record && !options.reseal) return { dt, outcome: 'late', sealId: state.record.seal_id, newObjects: state.uncovered.length };

    await mkdir(ctx.workRoot, { recursive: true, mode: privateDirMode });
    workDir = await mkdtemp(join(ctx.workRoot, `seal-${process.pid}-`));
    const inputs: ListedObject[] = [...(state.record?.files.map((f) => ({ key: f.key, size: f.bytes })) ?? []), ...state.uncovered];
    const downloaded = await download({ store, objects: inputs, dir: workDir, lease, dt, ...(ctx.signal ? { signal: ctx.signal } : {}) });
    for (const file of state.record?.files ?? []) {
      const got = downloaded.find((d) => d.key === file.key)!;
      if (got.sha256 !== file.sha256) {
        throw new LogbargeError('SEAL_FAILED', `seal dt=${dt}: sealed file ${store.describe(file.key)} does not match the sha256 in ${sealRecordKey(dt)}`, {
          hint: 'the sealed file was changed or damaged; restore it, or move the seal record away to seal the day again from its raw objects',
        });
      }
    }
    const sealedAt = now();
    const sealId = sealIdAt(sealedAt, randomBytes(4).toString('hex'));
    const compacted = await compactDay({
      dt,
      files: downloaded,
      schema: ctx.schema,
      workDir,
      memoryLimit: ctx.seal.memoryLimit,
      threads: ctx.threads,
      targetFileBytes: ctx.seal.targetFileBytes,
      compression: ctx.exportConfig.format === 'parquet' ? (ctx.exportConfig.compression as 'zstd' | 'snappy' | 'gzip') : 'zstd',
      sealId,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
    await lease.keep();

    const files = compacted.files.map((f, i) => ({ ...f, key: sealedFileKey({ dt, sealId, part: i }) }));
    const uploadedRaw: RawObject[] = downloaded.filter((d) => !d.key.startsWith('_sealed/')).map((d) => ({ key: d.key, bytes: d.bytes, sha256: d.sha256 }));
    const raw = [...(state.record?.raw ?? []), ...uploadedRaw];
    const later = new Date(sealedAt + ctx.seal.deleteAfterHours * 3_600_000).toISOString();
    // Listed before any upload: the new files (deleted later unless the record lists them), the
    // replaced seal's files, and with deleteRaw the raw objects present that this seal covers.
    const pending: PendingEntry[] = [
      ...files.map((f) => ({ key: f.key, kind: 'sealed' as const, due: new Date(sealedAt).toISOString() })),
      ...(state.record?.files.map((f) => ({ key: f.key, kind: 'sealed' as const, due: later })) ?? []),
      // Every raw object in the folder now is covered by this seal (deleted ones are not listed).
      ...(ctx.seal.deleteRaw ? state.raw.map((r) => ({ key: r.key, kind: 'raw' as const, due: later })) : []),
    ];
    await addPending({ store, dt, entries: pending });

    const sealedFiles = [];
    for (const f of files) {
      ctx.signal?.throwIfAborted();
      await lease.keep();
      const sha = await sha256OfFile(f.path);
      const put = await store.putFile(f.key, f.path, { contentType: 'application/vnd.apache.parquet', ...(ctx.signal ? { signal: ctx.signal } : {}) });
      sealedFiles.push({ key: f.key, bytes: put.bytes, rows: f.rows, sha256: sha, first_event_time: f.firstEventTime, last_event_time: f.lastEventTime });
    }
    const record: SealRecord = {
      format: sealRecordFormat,
      dt,
      seal_id: sealId,
      sealed_at: new Date(sealedAt).toISOString(),
      sealed_by: ctx.owner,
      rows: compacted.rows,
      input_rows: compacted.inputRows,
      duplicates: compacted.duplicates,
      conflicts: compacted.conflicts,
      columns: compacted.columns.map((c) => ({ name: c.name, type: c.type })),
      files: sealedFiles,
      raw,
      raw_delete_after: ctx.seal.deleteRaw ? later : null,
      replaces: state.record ? { seal_id: state.record.seal_id, sealed_at: state.record.sealed_at } : null,
    };
    await lease.keep();
    await store.putBytes(sealRecordKey(dt), recordBytes(record), { contentType: 'application/json', ...(ctx.signal ? { signal: ctx.signal } : {}) });
    ctx.logger?.info(
      { export: ctx.exportConfig.name, dt, sealId, rows: record.rows, duplicates: record.duplicates, conflicts: record.conflicts, files: sealedFiles.length, rawObjects: raw.length },
      state.record ? 'day re-sealed' : 'day sealed',
    );
    if (record.conflicts > 0) {
      ctx.logger?.warn({ export: ctx.exportConfig.name, dt, conflicts: record.conflicts }, 'sealed day holds events with the same EVENT_ID and EVENT_TIME but other content; all are kept');
    }
    return {
      dt,
      outcome: state.record ? 'resealed' : 'sealed',
      sealId,
      rows: record.rows,
      inputRows: record.input_rows,
      duplicates: record.duplicates,
      conflicts: record.conflicts,
      files: sealedFiles.length,
      bytes: sealedFiles.reduce((n, f) => n + f.bytes, 0),
      rawObjects: raw.length,
      newObjects: state.uncovered.length,
    };
  } catch (err) {
    ctx.logger?.error({ export: ctx.exportConfig.name, dt, err: describeError(err) }, 'seal failed; the day keeps its previous state');
    return { dt, outcome: 'failed', error: describeError(err) };
  } finally {
    if (workDir) await rm(workDir, { recursive: true, force: true });
    await lease.release().catch((err: unknown) => ctx.logger?.warn({ dt, err: describeError(err) }, 'release seal lease failed; it expires by itself'));
  }
}

function holderOf(holder: LeaseBody | undefined): Pick<DayResult, 'holder'> {
  return holder ? { holder: { owner: holder.owner, expiresAt: holder.expires_at } } : {};
}
