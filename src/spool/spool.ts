/**
 * The durable local spool: a SQLite file in WAL mode. Accepted events are appended in one
 * transaction per group commit and stay until every export has passed them. It knows nothing
 * of formats or object stores.
 */
import { closeSync, mkdirSync, existsSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { LogbargeError } from '../errors.js';
import { privateDirMode, privateFileMode } from '../modes.js';
import { migrate, readMigrations } from './migrate.js';
import { prepareStatements, type Statements } from './sql.js';

/** One validated event as the spool stores it. */
export interface SpoolRow {
  /** The idempotency key. */
  readonly eventId: string;
  /** The event's own UTC date, `YYYY-MM-DD`. */
  readonly dt: string;
  /** Canonical JSON object of the event. */
  readonly body: string;
}

/** What one group (one request) achieved. */
export interface AppendOutcome {
  readonly accepted: number;
  readonly duplicates: number;
  /** Positions in the group of the rows that were duplicates. */
  readonly duplicateRows: readonly number[];
}

/** Capacity limits checked inside the append transaction. */
export interface SpoolLimits {
  readonly maxEvents: number;
  readonly maxBytes: number;
}

/** Point-in-time spool figures. */
export interface SpoolStats {
  /** Events held (accepted, not yet pruned). */
  readonly depth: number;
  /** UTF-8 bytes of their bodies. */
  readonly bytes: number;
  /** Epoch ms when the oldest held event was accepted, or null when empty. */
  readonly oldestReceivedAt: number | null;
  /** Sequence number of the newest event ever appended (0 when none). */
  readonly newestSeq: number;
}

/** Options of openSpool. */
export interface OpenSpoolOptions {
  readonly path: string;
  /** SQLite synchronous mode; FULL makes every commit survive power loss. */
  readonly synchronous?: 'FULL' | 'NORMAL';
  /** Open an existing spool without writing to it (status). */
  readonly readonly?: boolean;
  /** How long a statement waits for another process's write lock, in ms. */
  readonly busyTimeoutMs?: number;
}

/** An open spool. */
export interface Spool {
  /** Path of the SQLite file. */
  readonly path: string;
  /** Random id of this spool file, fixed at creation; part of every object name. */
  readonly id: string;
  /**
   * Appends groups of rows in one transaction (group commit). A group that would take the spool
   * past a limit is answered 'full' and stores nothing; duplicates of known EVENT_IDs are skipped.
   * Returns once the transaction is durable; throws (storing nothing) when SQLite fails.
   */
  appendGroups(groups: readonly (readonly SpoolRow[])[], options: { now: number; limits: SpoolLimits }): (AppendOutcome | 'full')[];
  /** Current figures. */
  stats(): SpoolStats;
  /** Depth and bytes only: one single-row read, cheap enough after every group commit. */
  counters(): { depth: number; bytes: number };
  /** True when an EVENT_ID is remembered (within the idempotency window). */
  hasEventId(eventId: string): boolean;
  /** Commits a one-row write; throws when the spool cannot be written (disk full, I/O error). */
  probeWrite(now: number): void;
  /** Forgets up to `limit` EVENT_IDs accepted before `before` (epoch ms); returns how many. */
  pruneEventIds(before: number, limit: number): number;
  /** The underlying connection, for the other spool modules only. */
  readonly db: Database.Database;
  /** The prepared statements, for the other spool modules only. */
  readonly sql: Statements;
  close(): void;
}

/** Opens (creating and migrating when needed) the spool at `path`. */
export function openSpool(options: OpenSpoolOptions): Spool {
  const { path } = options;
  let db: Database.Database;
  try {
    if (options.readonly) {
      if (!existsSync(path)) {
        throw new LogbargeError('SPOOL_UNAVAILABLE', `open spool ${path}: no such file`, {
          hint: 'check spool.path, or run `logbarge run` once to create the spool',
        });
      }
      db = new Database(path, { readonly: true, fileMustExist: true });
    } else {
      mkdirSync(dirname(path), { recursive: true, mode: privateDirMode });
      // Created 0600 before SQLite opens it: SQLite gives -wal and -shm the database file's mode.
      // An existing file keeps its mode.
      closeSync(openSync(path, 'a', privateFileMode));
      db = new Database(path);
      db.pragma('journal_mode = WAL');
      // Caps the WAL file after checkpoints so a burst does not leave a huge file behind.
      db.pragma('journal_size_limit = 67108864');
      // wal_autocheckpoint stays at SQLite's 1000 pages: 10,000 gave +10-20% durable ingest but
      // checkpoints inside a group commit then stalled the event loop for 160-175 ms during a
      // large export (60-95 ms at 1000). A worker-thread checkpointer did not help either.
    }
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
    db.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`);
    if (!options.readonly) migrate(db);
    else {
      const known = readMigrations().length;
      const applied = db.prepare('SELECT max(id) FROM migrations').pluck().get() as number | null;
      if ((applied ?? 0) < known) {
        throw new LogbargeError('SPOOL_UNAVAILABLE', `open spool ${path}: it predates this logbarge version (migration ${applied ?? 0} of ${known})`, {
          hint: 'start `logbarge run` (or `logbarge flush`) once; it upgrades the spool in place',
        });
      }
    }
  } catch (err) {
    if (err instanceof LogbargeError) throw err;
    throw new LogbargeError('SPOOL_UNAVAILABLE', `open spool ${path}: ${(err as Error).message}`, {
      cause: err,
      hint: 'check that the directory exists, is writable and the file is a logbarge spool',
    });
  }
  const sql = prepareStatements(db);
  if (!options.readonly) sql.insertMeta.run('spool_id', randomBytes(4).toString('hex'));
  const id = sql.readMeta.get('spool_id') as string | undefined;
  if (id === undefined) {
    db.close();
    throw new LogbargeError('SPOOL_UNAVAILABLE', `open spool ${path}: it has no spool id`);
  }

  const append = db.transaction(
    (groups: readonly (readonly SpoolRow[])[], now: number, limits: SpoolLimits): (AppendOutcome | 'full')[] => {
      const current = sql.readStats.get();
      let depth = current?.depth ?? 0;
      let bytes = current?.bytes ?? 0;
      const startDepth = depth;
      const startBytes = bytes;
      const outcomes: (AppendOutcome | 'full')[] = [];
      for (const group of groups) {
        const sizes = group.map((row) => Buffer.byteLength(row.body));
        let groupBytes = 0;
        for (const size of sizes) groupBytes += size;
        if (depth + group.length > limits.maxEvents || bytes + groupBytes > limits.maxBytes) {
          outcomes.push('full');
          continue;
        }
        let accepted = 0;
        const duplicateRows: number[] = [];
        group.forEach((row, i) => {
          if (sql.insertEventId.run(row.eventId, now).changes === 0) {
            duplicateRows.push(i);
            return;
          }
          sql.insertEvent.run(row.dt, now, row.body);
          accepted++;
          bytes += sizes[i] ?? 0;
        });
        depth += accepted;
        outcomes.push({ accepted, duplicates: duplicateRows.length, duplicateRows });
      }
      if (depth !== startDepth) sql.addStats.run(depth - startDepth, bytes - startBytes);
      return outcomes;
    },
  );

  return {
    path,
    id,
    db,
    sql,
    appendGroups(groups, { now, limits }) {
      return append.immediate(groups, now, limits);
    },
    counters() {
      const s = sql.readStats.get();
      return { depth: s?.depth ?? 0, bytes: s?.bytes ?? 0 };
    },
    stats() {
      const s = sql.readStats.get();
      const oldest = sql.oldestEvent.get();
      return {
        depth: s?.depth ?? 0,
        bytes: s?.bytes ?? 0,
        oldestReceivedAt: oldest?.received_at ?? null,
        newestSeq: (sql.newestSeq.get() as number | undefined) ?? 0,
      };
    },
    hasEventId(eventId) {
      return sql.hasEventId.get(eventId) !== undefined;
    },
    probeWrite(now) {
      sql.writeProbe.run(new Date(now).toISOString());
    },
    pruneEventIds(before, limit) {
      return sql.pruneEventIds.run(before, limit).changes;
    },
    close() {
      if (db.open) db.close();
    },
  };
}
