/**
 * Deletions due later (`_seal_pending/dt=D.json`). A seal lists them before it uploads anything:
 * its own new files (so a seal that dies before its record leaves no orphans for long), the files
 * of the seal it replaces, and with `seal.deleteRaw` the raw objects it covers. Each entry is
 * checked against the day's record when it is due, so a seal that never wrote its record deletes
 * nothing that readers use:
 *
 * - `sealed`: deleted only if the current record does not list it;
 * - `raw`: deleted only if the current record covers it and its `raw_delete_after` has passed.
 *
 * Entries are processed under the day's lease.
 */
import type { ObjectStore } from '../store/store.js';
import { readPending, readRecord, writePending, type PendingEntry, type SealRecord } from './record.js';

/** Adds entries to a day's pending deletions; an entry for a key already listed replaces it. */
export async function addPending(options: { store: ObjectStore; dt: string; entries: readonly PendingEntry[] }): Promise<void> {
  const { store, dt, entries } = options;
  const byKey = new Map(((await readPending(store, dt))?.entries ?? []).map((e) => [e.key, e]));
  for (const entry of entries) byKey.set(entry.key, entry);
  await writePending(store, { dt, entries: [...byKey.values()] });
}

/** True when the entry's object may be deleted now, judged by the current record. */
export function deletable(options: { entry: PendingEntry; record: SealRecord | undefined; now: number }): boolean {
  const { entry, record, now } = options;
  if (entry.kind === 'sealed') return !record?.files.some((f) => f.key === entry.key);
  if (!record || record.raw_delete_after === null || Date.parse(record.raw_delete_after) > now) return false;
  return record.raw.some((r) => r.key === entry.key);
}

/** Deletes what is due for a day (the caller holds its lease); returns the keys deleted. */
export async function processPending(options: { store: ObjectStore; dt: string; now: number }): Promise<string[]> {
  const { store, dt, now } = options;
  const pending = await readPending(store, dt);
  if (!pending) return [];
  const record = await readRecord({ store, dt });
  const deleted: string[] = [];
  const remaining: PendingEntry[] = [];
  for (const entry of pending.entries) {
    if (Date.parse(entry.due) > now) {
      remaining.push(entry);
      continue;
    }
    // A raw object the record covers but allows deleting only later waits for that time.
    const laterRaw = entry.kind === 'raw' && record?.raw_delete_after && Date.parse(record.raw_delete_after) > now && record.raw.some((r) => r.key === entry.key);
    if (laterRaw) {
      remaining.push({ ...entry, due: record.raw_delete_after! });
      continue;
    }
    // Due entries whose object must stay (listed by the current record, or raw the record does
    // not allow deleting) are dropped from the list: a later seal adds what it replaces anew.
    if (deletable({ entry, record, now })) {
      await store.delete(entry.key);
      deleted.push(entry.key);
    }
  }
  await writePending(store, { dt, entries: remaining });
  return deleted;
}

/** True when any entry of the listed pending object is due (reads it). */
export async function hasDue(options: { store: ObjectStore; dt: string; now: number }): Promise<boolean> {
  const { store, dt, now } = options;
  const pending = await readPending(store, dt);
  return pending?.entries.some((e) => Date.parse(e.due) <= now) ?? false;
}
