/**
 * The durable local spool: a SQLite file in WAL mode. Accepted events are appended in one
 * transaction per group commit and stay until every export has passed them. It knows nothing
 * of formats or object stores.
 */
import { incrementalVacuumStep } from './vacuum.js';
import { closeSync, mkdirSync, existsSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { LogbargeError } from '../errors.js';
import { privateDirMode, privateFileMode } from '../modes.js';
import { startSpoolClock, type ClockRecord, type ClockSources, type SpoolClock } from './clock.js';
import { migrate, readMigrations } from './migrate.js';
import { prepareStatements, type Statements } from './sql.js';
import { createAppend } from './append.js';

/** One validated event as the spool stores it. */
export interface SpoolRow {
  /** The EVENT_ID value. */
  readonly eventId: string;
  /** EVENT_TIME in epoch ms: leads the idempotency key (a producer's retry repeats it). */
  readonly eventMs: number;
  /** The event's own UTC date, `YYYY-MM-DD`. */
  readonly dt: string;
  /** What is stored and exported for the event (the canonical JSON object). */
  readonly body: string;
  /** The record as sent (JSON text), or null when the typed columns hold everything it carried. */
  readonly raw: string | null;
  /**
   * 16 bytes identifying the mapped record's content (contentKey): two rows with the same
   * EVENT_TIME, EVENT_ID and content key are one event, stored once.
   */
  readonly content: Buffer;
}

/** What the dt of every quarantine row starts with: `quarantine:YYYY-MM-DD` (its receive date). */
export const quarantinePrefix = 'quarantine:';

/** The dt of quarantine rows received on `date` (YYYY-MM-DD); exports write them under `_quarantine/dt=<date>/`. */
export function quarantineDt(date: string): string {
  return `${quarantinePrefix}${date}`;
}

/** The receive date of a quarantine row's dt, or undefined when `dt` is an event date. */
export function quarantineDate(dt: string): string | undefined {
  return dt.startsWith(quarantinePrefix) ? dt.slice(quarantinePrefix.length) : undefined;
}

/** The content key of a mapped record's canonical text: the first 16 bytes of its SHA-256. */
export function contentKey(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest().subarray(0, 16);
}

/** The 48-bit EVENT_ID hash stored with each key (a safe integer; a collision only miscounts a conflict). */
export function idHash(eventId: string): number {
  return createHash('sha256').update(eventId, 'utf8').digest().readUIntBE(0, 6);
}

/** What one group (one request) achieved. */
export interface AppendOutcome {
  /** Rows stored (conflicts included). */
  readonly accepted: number;
  /** Rows already stored with the same EVENT_TIME, EVENT_ID and content: not stored again. */
  readonly duplicates: number;
  /** Positions in the group of the rows that were duplicates. */
  readonly duplicateRows: readonly number[];
  /** Stored rows whose EVENT_ID was already stored at the same EVENT_TIME with other content. */
  readonly conflictRows: readonly number[];
}

/** Capacity limits checked inside the append transaction. */
export interface SpoolLimits {
  readonly maxEvents: number;
  /** Event bytes plus remembered idempotency keys at keyBytes each. */
  readonly maxBytes: number;
}

/**
 * Bytes one remembered idempotency key takes in the spool file, for spool.maxBytes: a row of
 * event_keys and its index entry (measured: about 83 bytes per key inserted in time order, more
 * after page splits; the "idempotency key bytes" test in spool.test.ts measures it).
 */
export const keyBytes = 100;

/** Depth, bytes and remembered keys: one single-row read. */
export interface SpoolCounters {
  /** Events held (accepted, not yet pruned). */
  readonly depth: number;
  /** UTF-8 bytes of their bodies and raw records. */
  readonly bytes: number;
  /** Idempotency keys remembered (events held, and delivered ones inside the window). */
  readonly keys: number;
}

/** Point-in-time spool figures. */
export interface SpoolStats extends SpoolCounters {
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
  /** Clocks of the spool clock (tests); default Date.now and performance.now. */
  readonly clocks?: ClockSources;
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
  /** Depth, bytes and keys only: one single-row read, cheap enough after every group commit. */
  counters(): SpoolCounters;
  /** True when some remembered key has this EVENT_ID. Scans the keys: for tests and diagnostics only. */
  hasEventId(eventId: string): boolean;
  /** Commits a one-row write; throws when the spool cannot be written (disk full, I/O error). */
  probeWrite(now: number): void;
  /** The spool clock now (see clock.ts): what the idempotency window is measured in. */
  clock(): number;
  /** Records the spool clock in the file (never moving it backwards), so the next process continues it. */
  saveClock(): void;
  /**
   * Records that every event with seq <= floorSeq has been delivered by every export (the prune
   * floor), at the spool clock now. Only a floor above the last recorded one is kept.
   */
  noteDelivered(floorSeq: number): void;
  /**
   * Forgets, in one short transaction, up to `limit` keys of events delivered more than
   * `windowMs` ago on the spool clock (and legacy event_ids accepted more than `windowMs` ago
   * by the wall clock `wallNow`); returns how many.
   */
  forgetDelivered(options: { windowMs: number; limit: number; wallNow: number }): number;
  /** Pages of the file that hold nothing (freed by pruning and trimming), and the page size. */
  freePages(): { free: number; total: number; pageSize: number; incremental: boolean };
  /**
   * Gives back up to `pages` free pages to the file system in one short write (PRAGMA
   * incremental_vacuum); returns how many free pages are left. A no-op on a spool that is not in
   * incremental auto-vacuum mode yet (see convertToIncrementalVacuum).
   */
  reclaimStep(pages: number): number;
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
      // Before WAL: on a new file this is what takes effect when the first table is created; an
      // existing file keeps its mode until convertToIncrementalVacuum (below) rebuilds it.
      db.pragma('auto_vacuum = INCREMENTAL');
      db.pragma('journal_mode = WAL');
      // Caps the WAL file after checkpoints so a burst does not leave a huge file behind.
      db.pragma('journal_size_limit = 67108864');
      // wal_autocheckpoint stays at SQLite's 1000 pages: 10,000 gave +10-20% durable ingest but
      // checkpoints inside a group commit then stalled the event loop for 160-175 ms during a
      // large export (60-95 ms at 1000). A worker-thread checkpointer did not help either.
    }
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
    db.pragma(`synchronous = ${options.synchronous ?? 'FULL'}`);
    if (!options.readonly) {
      migrate(db);
      convertToIncrementalVacuum(db);
    } else {
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
  const clock: SpoolClock = startSpoolClock(readClock(sql.clockMeta.get() as string | undefined), options.clocks ?? { wall: Date.now, monotonic: () => performance.now() });
  // Legacy ids (accepted before migration 000003) are looked up only while any are left.
  let legacyIds = sql.legacyAny.get() !== undefined;

  const append = createAppend(db, sql, () => legacyIds);

  const forget = db.transaction((windowMs: number, limit: number, wallNow: number): number => {
    let n = 0;
    const floor = sql.expiredFloor.get(clock.now() - windowMs) as number | null;
    if (floor !== null && floor !== undefined) {
      n = sql.trimKeysChunk.run(floor, limit).changes;
      if (n < limit) sql.dropMarks.run(floor);
    }
    if (n < limit && legacyIds) {
      const legacy = sql.trimLegacyChunk.run(wallNow - windowMs, limit - n).changes;
      n += legacy;
      if (legacy === 0) legacyIds = sql.legacyAny.get() !== undefined;
    }
    if (n > 0) sql.addKeys.run(-n);
    return n;
  });

  const saveClock = db.transaction(() => {
    const mine = clock.record();
    const stored = readClock(sql.clockMeta.get() as string | undefined);
    // Another process may have advanced it further; keep the larger reading.
    if (stored !== undefined && stored.clockMs + Math.max(0, mine.wallMs - stored.wallMs) > mine.clockMs) return;
    sql.writeClock.run(JSON.stringify(mine));
  });

  return {
    path,
    id,
    db,
    sql,
    appendGroups(groups, { now, limits }) {
      return append(groups, now, limits).outcomes;
    },
    counters() {
      const s = sql.readStats.get();
      return { depth: s?.depth ?? 0, bytes: s?.bytes ?? 0, keys: s?.keys ?? 0 };
    },
    stats() {
      const s = sql.readStats.get();
      const oldest = sql.oldestEvent.get();
      return {
        depth: s?.depth ?? 0,
        bytes: s?.bytes ?? 0,
        keys: s?.keys ?? 0,
        oldestReceivedAt: oldest?.received_at ?? null,
        newestSeq: (sql.newestSeq.get() as number | undefined) ?? 0,
      };
    },
    hasEventId(eventId) {
      return sql.hasIdHash.get(idHash(eventId)) !== undefined || sql.legacyHasId.get(eventId) !== undefined;
    },
    probeWrite(now) {
      sql.writeProbe.run(new Date(now).toISOString());
    },
    clock: () => clock.now(),
    saveClock() {
      saveClock.immediate();
    },
    noteDelivered(floorSeq) {
      // Read and write without a transaction: a mark never replaces one, and a lower floor than
      // the newest adds nothing (the newest mark's time is what expires those events anyway).
      if (floorSeq > ((sql.newestMark.get() as number | null) ?? 0)) sql.insertMark.run(floorSeq, clock.now());
    },
    forgetDelivered({ windowMs, limit, wallNow }) {
      return forget.immediate(windowMs, limit, wallNow);
    },
    freePages() {
      return {
        free: db.pragma('freelist_count', { simple: true }) as number,
        total: db.pragma('page_count', { simple: true }) as number,
        pageSize: db.pragma('page_size', { simple: true }) as number,
        incremental: db.pragma('auto_vacuum', { simple: true }) === 2,
      };
    },
    reclaimStep(pages) {
      return incrementalVacuumStep(db, pages);
    },
    close() {
      if (!db.open) return;
      if (!options.readonly) {
        try {
          saveClock.immediate();
        } catch {
          // Best effort: a lost reading only makes the window longer.
        }
      }
      db.close();
    },
  };
}

/**
 * Most live bytes (pages in use × page size) for which opening a spool still rebuilds it with
 * VACUUM to switch it to incremental auto-vacuum: VACUUM copies the live pages (with the write
 * lock held), so 64 MiB keeps that to well under a second; a larger spool is switched on a later
 * start, once exports have drained it.
 */
export const convertMaxLiveBytes = 64 * 1024 * 1024;

/**
 * Switches a spool created before incremental auto-vacuum (auto_vacuum NONE: its file never
 * shrinks) to INCREMENTAL, which takes a one-time VACUUM. Done only while the live data is at
 * most convertMaxLiveBytes, so a start with a large backlog is not held up; returns whether the
 * spool is in incremental mode now. Another process holding the spool (SQLITE_BUSY) defers it.
 */
export function convertToIncrementalVacuum(db: Database.Database): boolean {
  if (db.pragma('auto_vacuum', { simple: true }) === 2) return true;
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  const live = ((db.pragma('page_count', { simple: true }) as number) - (db.pragma('freelist_count', { simple: true }) as number)) * pageSize;
  if (live > convertMaxLiveBytes) return false;
  try {
    db.pragma('auto_vacuum = INCREMENTAL');
    db.exec('VACUUM');
  } catch {
    return false; // busy or out of space: the file keeps working as it is; the next start tries again
  }
  return db.pragma('auto_vacuum', { simple: true }) === 2;
}

/** Parses the persisted spool clock (spool_meta 'clock'); undefined when absent or unreadable. */
function readClock(text: string | undefined): ClockRecord | undefined {
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text) as Partial<ClockRecord>;
    return typeof value.clockMs === 'number' && typeof value.wallMs === 'number' ? { clockMs: value.clockMs, wallMs: value.wallMs } : undefined;
  } catch {
    return undefined;
  }
}
