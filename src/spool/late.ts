/**
 * The spool side of late objects: objects an export delivered into a day that was already sealed
 * and that the day's seal does not cover (found by src/seal/late.ts after a cycle). Kept until a
 * seal record covers them, for `status` and /metrics.
 */
import type { LateRow } from './sql.js';
import type { Spool } from './spool.js';

export type { LateRow } from './sql.js';

/** A late object to record. */
export interface LateObject {
  readonly key: string;
  readonly dt: string;
  readonly sealId: string;
}

/** Rows of a delivered object, from its batch record (0 when the spool has no record of it). */
export function deliveredRows(spool: Spool, object: { destination: string; key: string }): number {
  return (spool.sql.batchRows.get(object.destination, object.key) as number | undefined) ?? 0;
}

/** Records late objects of an export and forgets those now covered, in one transaction. */
export function updateLate(spool: Spool, options: { exportName: string; destination: string; late: readonly LateObject[]; covered: readonly string[]; now: number }): void {
  spool.db
    .transaction(() => {
      for (const o of options.late) {
        spool.sql.insertLate.run(options.exportName, o.key, o.dt, deliveredRows(spool, { destination: options.destination, key: o.key }), o.sealId, options.now);
      }
      for (const key of options.covered) spool.sql.deleteLate.run(options.exportName, key);
    })
    .immediate();
}

/** The late objects of an export, by day then key. */
export function lateObjects(spool: Spool, exportName: string): LateRow[] {
  return spool.sql.lateOf.all(exportName) as LateRow[];
}

/** Late objects, their events and their days, of an export. */
export function lateSummary(spool: Spool, exportName: string): { objects: number; rows: number; days: string[] } {
  const rows = lateObjects(spool, exportName);
  return { objects: rows.length, rows: rows.reduce((n, r) => n + r.row_count, 0), days: [...new Set(rows.map((r) => r.dt))] };
}
