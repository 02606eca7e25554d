/**
 * The append transaction of the spool (group commit's one write): shared by the spool's own
 * connection (`logbarge ingest`, tests) and the daemon's append worker (append-worker.ts).
 */
import type Database from 'better-sqlite3';
import { idHash, keyBytes, type AppendOutcome, type SpoolCounters, type SpoolLimits, type SpoolRow } from './spool.js';
import type { Statements } from './sql.js';

/** What one append transaction did, and the spool's counters as it committed them. */
export interface Appended {
  readonly outcomes: (AppendOutcome | 'full')[];
  readonly counters: SpoolCounters;
}

/** Appends groups of rows in one IMMEDIATE transaction; see Spool.appendGroups. */
export type AppendGroups = (groups: readonly (readonly SpoolRow[])[], now: number, limits: SpoolLimits) => Appended;

/**
 * The append transaction on `db`. `legacyIds` says whether pre-000003 EVENT_IDs may still be
 * stored (looked up only then; a stale true costs a lookup, never a wrong answer, because that
 * table is no longer written).
 */
export function createAppend(db: Database.Database, sql: Statements, legacyIds: () => boolean): AppendGroups {
  const append = db.transaction((groups: readonly (readonly SpoolRow[])[], now: number, limits: SpoolLimits): Appended => {
    const current = sql.readStats.get();
    let depth = current?.depth ?? 0;
    let bytes = current?.bytes ?? 0;
    let keys = current?.keys ?? 0;
    const startDepth = depth;
    const startBytes = bytes;
    const startKeys = keys;
    const legacy = legacyIds();
    const outcomes: (AppendOutcome | 'full')[] = [];
    for (const group of groups) {
      const sizes = group.map((row) => Buffer.byteLength(row.body) + (row.raw === null ? 0 : Buffer.byteLength(row.raw)));
      let groupBytes = 0;
      for (const size of sizes) groupBytes += size + keyBytes;
      if (depth + group.length > limits.maxEvents || bytes + keys * keyBytes + groupBytes > limits.maxBytes) {
        outcomes.push('full');
        continue;
      }
      let accepted = 0;
      const duplicateRows: number[] = [];
      const conflictRows: number[] = [];
      group.forEach((row, i) => {
        const hash = idHash(row.eventId);
        const known = sql.keysAtTime.all(row.eventMs, hash) as Buffer[];
        if (known.some((content) => content.equals(row.content)) || (legacy && sql.legacyHasId.get(row.eventId) !== undefined)) {
          duplicateRows.push(i);
          return;
        }
        if (known.length > 0) conflictRows.push(i);
        const seq = sql.insertEvent.run(row.dt, now, row.body, row.raw).lastInsertRowid;
        sql.insertKey.run(seq, row.eventMs, hash, row.content);
        accepted++;
        keys++;
        bytes += sizes[i] ?? 0;
      });
      depth += accepted;
      outcomes.push({ accepted, duplicates: duplicateRows.length, duplicateRows, conflictRows });
    }
    if (depth !== startDepth) sql.addStats.run(depth - startDepth, bytes - startBytes);
    if (keys !== startKeys) sql.addKeys.run(keys - startKeys);
    return { outcomes, counters: { depth, bytes, keys } };
  });
  return (groups, now, limits) => append.immediate(groups, now, limits);
}
