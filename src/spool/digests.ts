/**
 * The spool side of digests (export option `integrity`): the objects an export delivered, with
 * their size and SHA-256, recorded in the transaction that marks their batch done; and the digests
 * that list them, each recorded with its signed bytes before it is uploaded. Knows nothing of
 * signing or stores: the caller builds the bytes.
 */
import type Database from 'better-sqlite3';
import type { Spool } from './spool.js';
import type { DigestObject } from '../export/digest.js';

/** What a delivered object holds, as recorded with its batch: what a digest lists of it, and where and when. */
export interface DeliveredObject extends DigestObject {
  readonly export: string;
  readonly destination: string;
  /** Epoch ms (wall clock) of the commit. */
  readonly deliveredAt: number;
}

/** A row of the digests table. */
export interface DigestRow {
  export: string;
  period_end: number;
  period_start: number;
  destination: string;
  writer: string;
  object_key: string;
  sha256: string;
  objects: number;
  body: Buffer | null;
  state: 'planned' | 'written';
  planned_at: number;
  written_at: number | null;
}

interface ObjectRow {
  id: number;
  export: string;
  destination: string;
  object_key: string;
  bytes: number;
  sha256: string;
  row_count: number;
  dt: string;
  seq_from: number;
  seq_to: number;
  delivered_at: number;
  digest_end: number | null;
}

function prepare(db: Database.Database) {
  return {
    insertObject: db.prepare<[string, string, string, number, string, number, string, number, number, number]>(
      `INSERT INTO delivered_objects (export, destination, object_key, bytes, sha256, row_count, dt, seq_from, seq_to, delivered_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    unlisted: db.prepare<[string, number], ObjectRow>(
      'SELECT * FROM delivered_objects WHERE export = ? AND digest_end IS NULL AND delivered_at < ? ORDER BY id',
    ),
    unlistedStats: db.prepare<[string], { n: number; first: number | null; last: number | null }>(
      'SELECT count(*) AS n, min(delivered_at) AS first, max(delivered_at) AS last FROM delivered_objects WHERE export = ? AND digest_end IS NULL',
    ),
    listObject: db.prepare<[number, number]>('UPDATE delivered_objects SET digest_end = ? WHERE id = ? AND digest_end IS NULL'),
    dropListed: db.prepare<[string, number]>('DELETE FROM delivered_objects WHERE export = ? AND digest_end = ?'),
    dropObjectsOf: db.prepare<[string]>('DELETE FROM delivered_objects WHERE export = ?'),
    newest: db.prepare<[string], DigestRow>('SELECT * FROM digests WHERE export = ? ORDER BY period_end DESC LIMIT 1'),
    newestWritten: db.prepare<[string], DigestRow>("SELECT * FROM digests WHERE export = ? AND state = 'written' ORDER BY period_end DESC LIMIT 1"),
    planned: db.prepare<[string], DigestRow>("SELECT * FROM digests WHERE export = ? AND state = 'planned' ORDER BY period_end LIMIT 1"),
    insertDigest: db.prepare<[string, number, number, string, string, string, string, number, Buffer, number]>(
      `INSERT INTO digests (export, period_end, period_start, destination, writer, object_key, sha256, objects, body, state, planned_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'planned', ?)`,
    ),
    markWritten: db.prepare<[number, string, number]>(
      "UPDATE digests SET state = 'written', written_at = ?, body = NULL WHERE export = ? AND period_end = ? AND state = 'planned'",
    ),
    count: db.prepare<[string], number>('SELECT count(*) FROM digests WHERE export = ?').pluck(),
  };
}

const cache = new WeakMap<Database.Database, ReturnType<typeof prepare>>();
function statements(spool: Spool): ReturnType<typeof prepare> {
  let s = cache.get(spool.db);
  if (!s) {
    s = prepare(spool.db);
    cache.set(spool.db, s);
  }
  return s;
}

/** Records a delivered object; call inside the transaction that marks its batch done. */
export function recordDeliveredObject(spool: Spool, o: DeliveredObject): void {
  statements(spool).insertObject.run(o.export, o.destination, o.key, o.bytes, o.sha256, o.rows, o.dt, o.seqFrom, o.seqTo, o.deliveredAt);
}

/** Forgets the delivered objects of an export (its cursor is retired); digests stay as history. */
export function forgetDeliveredObjects(spool: Spool, exportName: string): void {
  statements(spool).dropObjectsOf.run(exportName);
}

/** The newest digest of an export (planned or written), or undefined before the first. */
export function newestDigest(spool: Spool, exportName: string): DigestRow | undefined {
  return statements(spool).newest.get(exportName);
}

/** The newest written digest of an export (status, metrics), or undefined. */
export function newestWrittenDigest(spool: Spool, exportName: string): DigestRow | undefined {
  return statements(spool).newestWritten.get(exportName);
}

/** The oldest digest of an export that is planned but not yet written (a crash or failure left it). */
export function plannedDigest(spool: Spool, exportName: string): DigestRow | undefined {
  return statements(spool).planned.get(exportName);
}

/** How many objects no digest lists yet, and when the first and last of them were delivered. */
export function unlistedSummary(spool: Spool, exportName: string): { objects: number; firstAt: number | null; lastAt: number | null } {
  const s = statements(spool).unlistedStats.get(exportName);
  return { objects: s?.n ?? 0, firstAt: s?.first ?? null, lastAt: s?.last ?? null };
}

/** The period a new digest continues the chain with, and the objects it lists. */
export interface DigestPlanInput {
  readonly periodStart: number;
  readonly periodEnd: number;
  readonly objects: readonly DeliveredObject[];
  /** The previous digest (null for the first of the chain). */
  readonly previous: DigestRow | null;
}

/**
 * Plans the next digest of an export in one IMMEDIATE transaction: reads the chain's newest
 * digest and the unlisted objects delivered before `periodEnd`, lets `build` make the signed
 * bytes, and records them with the objects marked as listed. Returns undefined (records nothing)
 * when a planned digest is still open, or when `periodEnd` does not lie after the chain's last
 * period end (another process digested that period already).
 */
export function planDigest(
  spool: Spool,
  options: {
    readonly exportName: string;
    readonly destination: string;
    readonly writer: string;
    /** Start of the first digest of a chain when no unlisted object is older; no digest ends at or before it. */
    readonly chainStart: number;
    /** The period end wanted; a partial period passes `now` (raised past the newest unlisted delivery). */
    readonly periodEnd: number;
    readonly partial: boolean;
    readonly now: number;
    readonly build: (input: DigestPlanInput) => { key: string; bytes: Buffer; sha256: string };
  },
): DigestRow | undefined {
  const s = statements(spool);
  return spool.db
    .transaction((): DigestRow | undefined => {
      if (s.planned.get(options.exportName)) return undefined;
      const previous = s.newest.get(options.exportName) ?? null;
      let periodEnd = options.periodEnd;
      if (options.partial) {
        const last = s.unlistedStats.get(options.exportName)?.last ?? null;
        if (last !== null && last >= periodEnd) periodEnd = last + 1;
      }
      const first = s.unlistedStats.get(options.exportName)?.first ?? null;
      // The first digest of a chain starts at its first object or when the writer started.
      const periodStart = previous ? previous.period_end : Math.min(options.chainStart, first ?? options.chainStart);
      if (periodEnd <= periodStart) return undefined;
      const rows = s.unlisted.all(options.exportName, periodEnd);
      const objects: DeliveredObject[] = rows.map((r) => ({
        export: r.export,
        destination: r.destination,
        key: r.object_key,
        bytes: r.bytes,
        sha256: r.sha256,
        rows: r.row_count,
        dt: r.dt,
        seqFrom: r.seq_from,
        seqTo: r.seq_to,
        deliveredAt: r.delivered_at,
      }));
      const built = options.build({ periodStart, periodEnd, objects, previous });
      s.insertDigest.run(
        options.exportName, periodEnd, periodStart, options.destination, options.writer,
        built.key, built.sha256, objects.length, built.bytes, options.now,
      );
      for (const r of rows) s.listObject.run(periodEnd, r.id);
      return s.planned.get(options.exportName);
    })
    .immediate();
}

/** Records a planned digest as written and forgets the objects it lists, in one transaction. */
export function markDigestWritten(spool: Spool, digest: DigestRow, info: { now: number }): void {
  const s = statements(spool);
  spool.db
    .transaction(() => {
      if (s.markWritten.run(info.now, digest.export, digest.period_end).changes > 0) s.dropListed.run(digest.export, digest.period_end);
    })
    .immediate();
}

/** Digests recorded for an export (tests, status). */
export function digestCount(spool: Spool, exportName: string): number {
  return statements(spool).count.get(exportName) as number;
}
