/**
 * Where sealing keeps things under an export's destination, as pure functions of the day:
 *
 * - `_sealed/dt=YYYY-MM-DD/<sealId>-<nnnnn>.parquet`: a seal's files; the seal id in the name
 *   tells one seal of a day from another, so readers can take exactly the current seal's files;
 * - `_seals/dt=YYYY-MM-DD.json`: the seal record, written last (the only thing in `_seals/`, so
 *   Athena can read that folder as a table);
 * - `_seal_leases/dt=YYYY-MM-DD/<nnnnnn>.json`: the lease, one key per holder generation;
 * - `_seal_pending/dt=YYYY-MM-DD.json`: deletions due later (replaced files, raw objects).
 */

/** Folder of the sealed files. */
export const sealedFolder = '_sealed/';
/** Folder of the seal records. */
export const sealsFolder = '_seals/';
/** Folder of the leases. */
export const leasesFolder = '_seal_leases/';
/** Folder of the deletions due later. */
export const pendingFolder = '_seal_pending/';

/** Digits of a sealed file's part number: keys sort in part order up to 100,000 files a day. */
const partDigits = 5;
/** Digits of a lease generation: keys sort in generation order. */
const generationDigits = 6;

/** Throws unless `dt` is a real `YYYY-MM-DD` calendar date. */
export function checkDay(dt: string): string {
  const ok = /^\d{4}-\d{2}-\d{2}$/.test(dt) && !Number.isNaN(Date.parse(`${dt}T00:00:00Z`)) && new Date(`${dt}T00:00:00Z`).toISOString().startsWith(dt);
  if (!ok) throw new Error(`check day: ${JSON.stringify(dt)} is not a YYYY-MM-DD date`);
  return dt;
}

/** Throws unless `sealId` is letters and digits only (it is matched by a regular expression in the Athena view). */
export function checkSealId(sealId: string): string {
  if (!/^[0-9A-Za-z]{1,64}$/.test(sealId)) throw new Error(`check seal id: ${JSON.stringify(sealId)} is not 1-64 letters and digits`);
  return sealId;
}

/** The seal id for a seal made at `at`: its UTC time (so ids sort by time) and random hex. */
export function sealIdAt(at: number, random: string): string {
  const stamp = new Date(at).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
  return checkSealId(`${stamp}${random}`);
}

/** The folder of a day's raw data objects. */
export function rawFolder(dt: string): string {
  return `dt=${checkDay(dt)}/`;
}

/** The folder of a day's sealed files. */
export function sealedDayFolder(dt: string): string {
  return `${sealedFolder}dt=${checkDay(dt)}/`;
}

/** The key of part `part` (0-based) of seal `sealId` of a day. */
export function sealedFileKey(options: { dt: string; sealId: string; part: number }): string {
  const { dt, sealId, part } = options;
  if (!Number.isInteger(part) || part < 0 || part >= 10 ** partDigits) throw new Error(`sealed file key: part ${part} is out of range`);
  return `${sealedDayFolder(dt)}${checkSealId(sealId)}-${String(part).padStart(partDigits, '0')}.parquet`;
}

/** The seal id in a sealed file's key, or undefined when `key` is not one. */
export function sealIdOfFile(key: string): string | undefined {
  return /^_sealed\/dt=\d{4}-\d{2}-\d{2}\/([0-9A-Za-z]+)-\d+\.parquet$/.exec(key)?.[1];
}

/** The key of a day's seal record. */
export function sealRecordKey(dt: string): string {
  return `${sealsFolder}dt=${checkDay(dt)}.json`;
}

/** The day of a seal record key, or undefined when `key` is not one. */
export function dayOfRecordKey(key: string): string | undefined {
  return /^_seals\/dt=(\d{4}-\d{2}-\d{2})\.json$/.exec(key)?.[1];
}

/** The folder of a day's lease generations. */
export function leaseFolder(dt: string): string {
  return `${leasesFolder}dt=${checkDay(dt)}/`;
}

/** The key of lease generation `generation` (1-based) of a day. */
export function leaseKey(dt: string, generation: number): string {
  if (!Number.isInteger(generation) || generation < 1 || generation >= 10 ** generationDigits) {
    throw new Error(`lease key: generation ${generation} is out of range`);
  }
  return `${leaseFolder(dt)}${String(generation).padStart(generationDigits, '0')}.json`;
}

/** The generation of a lease key, or undefined when `key` is not one. */
export function generationOfLeaseKey(key: string): number | undefined {
  const m = /^_seal_leases\/dt=\d{4}-\d{2}-\d{2}\/(\d+)\.json$/.exec(key);
  return m ? Number(m[1]) : undefined;
}

/** The key of a day's pending deletions. */
export function pendingKey(dt: string): string {
  return `${pendingFolder}dt=${checkDay(dt)}.json`;
}

/** The day of a pending-deletions key, or undefined when `key` is not one. */
export function dayOfPendingKey(key: string): string | undefined {
  return /^_seal_pending\/dt=(\d{4}-\d{2}-\d{2})\.json$/.exec(key)?.[1];
}

/** Formats of the raw data objects, by their extension. */
export type RawFormat = 'parquet' | 'ndjson' | 'csv';

/**
 * The format and compression of a raw data object of day `dt`, from its key; undefined for
 * anything else under the folder (a key that is not `dt=D/<name>.<ext>` with a data extension).
 */
export function rawObjectFormat(dt: string, key: string): { format: RawFormat; gzip: boolean } | undefined {
  const folder = rawFolder(dt);
  if (!key.startsWith(folder)) return undefined;
  const name = key.slice(folder.length);
  if (name.includes('/')) return undefined;
  const m = /^[^/]+\.(parquet|ndjson|csv)(\.gz)?$/.exec(name);
  if (!m || (m[1] === 'parquet' && m[2])) return undefined;
  return { format: m[1] as RawFormat, gzip: m[2] !== undefined };
}

/** The UTC day (`YYYY-MM-DD`) that `ms` falls in. */
export function dayOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** The day `n` days after `dt` (negative: before). */
export function addDays(dt: string, n: number): string {
  return dayOf(Date.parse(`${checkDay(dt)}T00:00:00Z`) + n * 86_400_000);
}

/** The newest day that is finished at `now`: it ended at least `afterHours` hours ago. */
export function newestFinishedDay(now: number, afterHours: number): string {
  // Day D ends at D+1 00:00Z; it is finished once now >= that + afterHours.
  return addDays(dayOf(now - afterHours * 3_600_000), -1);
}
