/**
 * Late objects: data objects in a day that is already sealed, which the day's seal record does
 * not cover. Their events are in the raw objects but not in the sealed files (readers of the
 * Athena view do not see them) until the day is re-sealed with `logbarge seal --date`.
 */
import type { ObjectStore } from '../store/store.js';
import { dayOf, sealRecordKey } from './keys.js';
import { readRecord } from './record.js';

/** An object found late, with the seal it arrived after. */
export interface LateFinding {
  readonly key: string;
  readonly dt: string;
  readonly sealId: string;
}

/** The `dt` of a data object key (`dt=YYYY-MM-DD/…`), or undefined. */
export function dtOfKey(key: string): string | undefined {
  return /^dt=(\d{4}-\d{2}-\d{2})\//.exec(key)?.[1];
}

/**
 * Sorts data object keys into late ones (their day has a seal that does not cover them) and
 * covered or unsealed ones. Lists, and reads when it exists, one seal record per day; days from
 * `today` on are never sealed and are not looked at.
 */
export async function classifyObjects(options: { store: ObjectStore; keys: readonly string[]; now: number }): Promise<{ late: LateFinding[]; notLate: string[] }> {
  const today = dayOf(options.now);
  const byDay = new Map<string, string[]>();
  const notLate: string[] = [];
  for (const key of new Set(options.keys)) {
    const dt = dtOfKey(key);
    if (dt === undefined || dt >= today) notLate.push(key);
    else byDay.set(dt, [...(byDay.get(dt) ?? []), key]);
  }
  const late: LateFinding[] = [];
  for (const [dt, keys] of byDay) {
    // Listed first: without s3:ListBucket, S3 answers a GET of a missing key with 403, not 404;
    // the writer's policy allows listing only under _seals/.
    const sealed = (await options.store.list(sealRecordKey(dt))).some((o) => o.key === sealRecordKey(dt));
    const record = sealed ? await readRecord({ store: options.store, dt }) : undefined;
    const covered = new Set(record?.raw.map((r) => r.key) ?? []);
    for (const key of keys) {
      if (record && !covered.has(key)) late.push({ key, dt, sealId: record.seal_id });
      else notLate.push(key);
    }
  }
  return { late, notLate };
}
