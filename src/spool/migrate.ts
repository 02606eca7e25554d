/**
 * Numbered, append-only SQL migrations (`migrations/000001.sql` …), each applied in its own
 * transaction and recorded in the `migrations` table.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type Database from 'better-sqlite3';
import { LogbargeError } from '../errors.js';

/** Folder holding the migration files that ship with logbarge. */
export const migrationsDir = fileURLToPath(new URL('../../migrations/', import.meta.url));

/** One migration file. */
export interface Migration {
  readonly id: number;
  readonly name: string;
  readonly sql: string;
}

/** Reads the migrations folder in order; file names are `NNNNNN.sql`. */
export function readMigrations(dir: string = migrationsDir): Migration[] {
  return readdirSync(dir)
    .filter((name) => /^\d{6}\.sql$/.test(name))
    .sort()
    .map((name, i) => {
      const id = Number(name.slice(0, 6));
      if (id !== i + 1) throw new LogbargeError('SPOOL_UNAVAILABLE', `read migrations: ${name} is out of sequence`);
      return { id, name, sql: readFileSync(`${dir}/${name}`, 'utf8') };
    });
}

/** Applies the migrations the database has not seen yet; returns the ids applied. */
export function migrate(db: Database.Database, migrations: readonly Migration[] = readMigrations()): number[] {
  db.exec(`CREATE TABLE IF NOT EXISTS migrations (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    applied_at TEXT    NOT NULL
  )`);
  const applied = new Set(
    (db.prepare('SELECT id FROM migrations').pluck().all() as number[]),
  );
  const newest = Math.max(0, ...applied);
  const known = migrations.length;
  if (newest > known) {
    throw new LogbargeError(
      'SPOOL_UNAVAILABLE',
      `open spool: it was written by a newer logbarge (migration ${newest}, this version knows ${known})`,
      { hint: 'run the newer logbarge version against this spool, or point spool.path elsewhere' },
    );
  }
  const done: number[] = [];
  const record = db.prepare('INSERT INTO migrations (id, name, applied_at) VALUES (?, ?, ?)');
  const isApplied = db.prepare('SELECT 1 FROM migrations WHERE id = ?').pluck();
  for (const m of migrations) {
    if (applied.has(m.id)) continue;
    // Checked again inside the write lock: another process may have migrated meanwhile.
    const ran = db.transaction(() => {
      if (isApplied.get(m.id) !== undefined) return false;
      db.exec(m.sql);
      record.run(m.id, m.name, new Date().toISOString());
      return true;
    }).immediate();
    if (ran) done.push(m.id);
  }
  return done;
}
