/**
 * The seal record (`_seals/dt=D.json`) and the pending deletions (`_seal_pending/dt=D.json`): their
 * shape, and reading and writing them. The record is one line of JSON with snake_case keys, because
 * Athena reads the `_seals/` folder as a table with its JSON SerDe (one object per line, keys as
 * column names) to decide which days are sealed.
 */
import { z } from 'zod';
import { LogbargeError } from '../errors.js';
import type { ObjectStore } from '../store/store.js';
import { StoreError } from '../store/store.js';
import { pendingKey, sealRecordKey } from './keys.js';

/** The `format` field of every seal record this version writes. */
export const sealRecordFormat = 'logbarge-seal/1';

const sha256 = z.string().regex(/^[0-9a-f]{64}$/);
const instant = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'must be an ISO-8601 time');

const sealedFile = z.strictObject({
  key: z.string().min(1),
  bytes: z.number().int().min(0),
  rows: z.number().int().min(1),
  sha256,
  first_event_time: z.string(),
  last_event_time: z.string(),
});

const rawObject = z.strictObject({
  key: z.string().min(1),
  bytes: z.number().int().min(0),
  sha256,
});

const recordSchema = z.strictObject({
  format: z.literal(sealRecordFormat),
  dt: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  seal_id: z.string().regex(/^[0-9A-Za-z]+$/),
  sealed_at: instant,
  sealed_by: z.string(),
  rows: z.number().int().min(0),
  input_rows: z.number().int().min(0),
  duplicates: z.number().int().min(0),
  conflicts: z.number().int().min(0),
  columns: z.array(z.strictObject({ name: z.string(), type: z.string() })),
  files: z.array(sealedFile),
  raw: z.array(rawObject),
  raw_delete_after: instant.nullable(),
  replaces: z.strictObject({ seal_id: z.string(), sealed_at: instant }).nullable(),
});

/** One sealed file in a record. */
export type SealedFile = z.infer<typeof sealedFile>;
/** One raw object a record covers. */
export type RawObject = z.infer<typeof rawObject>;

/**
 * A seal record: a day's sealed files, and the raw objects whose events they hold. `rows` are the
 * distinct events; `duplicates` the input rows left out as copies (same EVENT_ID, EVENT_TIME and
 * every other column); `conflicts` the rows kept although another row has the same EVENT_ID and
 * EVENT_TIME with other content.
 */
export type SealRecord = z.infer<typeof recordSchema>;

const pendingEntry = z.strictObject({
  key: z.string().min(1),
  /** `raw`: deleted when the current record covers it; `sealed`: deleted when the current record does not list it. */
  kind: z.enum(['raw', 'sealed']),
  due: instant,
});

const pendingSchema = z.strictObject({
  dt: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  entries: z.array(pendingEntry),
});

/** One deletion due later; it is checked against the day's record when it is due. */
export type PendingEntry = z.infer<typeof pendingEntry>;
/** A day's deletions due later. */
export type Pending = z.infer<typeof pendingSchema>;

/** The bytes of a record: one line of JSON and a newline. */
export function recordBytes(record: SealRecord): Buffer {
  return Buffer.from(`${JSON.stringify(record)}\n`, 'utf8');
}

function parseJson<T>(what: string, key: string, text: string, schema: z.ZodType<T>): T {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new LogbargeError('SEAL_FAILED', `read ${what} ${key}: not JSON: ${(err as Error).message}`, { cause: err });
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new LogbargeError('SEAL_FAILED', `read ${what} ${key}: ${issue?.path.join('.') || '(top level)'}: ${issue?.message ?? 'invalid'}`, {
      hint: `the object was not written by this logbarge version; re-seal the day with \`logbarge seal --date\` after moving it away`,
    });
  }
  return parsed.data;
}

/** Parses a record's text; throws naming the bad field. */
export function parseRecord(key: string, text: string): SealRecord {
  return parseJson('seal record', key, text, recordSchema);
}

/** Reads a day's record, or undefined when the day is not sealed. */
export async function readRecord(options: { store: ObjectStore; dt: string; signal?: AbortSignal }): Promise<SealRecord | undefined> {
  const { store, dt, signal } = options;
  const key = sealRecordKey(dt);
  try {
    const record = parseRecord(key, (await store.get(key, signal ? { signal } : {})).toString('utf8'));
    if (record.dt !== dt) throw new LogbargeError('SEAL_FAILED', `read seal record ${key}: it is for dt=${record.dt}`);
    return record;
  } catch (err) {
    if (err instanceof StoreError && err.reason === 'not_found') return undefined;
    throw err;
  }
}

/** Reads a day's pending deletions, or undefined when there are none. */
export async function readPending(store: ObjectStore, dt: string): Promise<Pending | undefined> {
  const key = pendingKey(dt);
  try {
    return parseJson('pending deletions', key, (await store.get(key)).toString('utf8'), pendingSchema);
  } catch (err) {
    if (err instanceof StoreError && err.reason === 'not_found') return undefined;
    throw err;
  }
}

/** Writes a day's pending deletions (or deletes the object when none are left). */
export async function writePending(store: ObjectStore, pending: Pending): Promise<void> {
  const key = pendingKey(pending.dt);
  if (pending.entries.length === 0) {
    await store.delete(key);
    return;
  }
  await store.putBytes(key, Buffer.from(`${JSON.stringify(pending)}\n`, 'utf8'), { contentType: 'application/json' });
}
