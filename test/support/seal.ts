/**
 * Test support for sealing: downloading every object of a destination, reading sealed files back
 * in their stored order, comparing rows by their whole content, and the Athena view of a sealed
 * export run in DuckDB over the downloaded objects.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateAthenaDdl } from '../../src/ddl/athena.js';
import type { Config, ExportConfig } from '../../src/config/schema.js';
import { loadSchema } from '../../src/schema/schema.js';
import type { ObjectStore } from '../../src/store/store.js';
import type { ObjectFile, Row } from './ddl-read.js';
import { readAsAthenaSealed } from './ddl-sealed.js';
import { query } from './duckdb.js';
import { columnNames } from './events.js';

const schema = loadSchema();

/** Downloads every object under the store into `dir` (keys flattened into file names). */
export async function downloadAll(store: ObjectStore, dir: string): Promise<ObjectFile[]> {
  mkdirSync(dir, { recursive: true });
  const listed = await store.list('');
  return Promise.all(
    listed.map(async (o, i) => {
      const ext = /\.(parquet|ndjson\.gz|ndjson|csv\.gz|csv|json)$/.exec(o.key)?.[0] ?? '';
      const path = join(dir, `${String(i).padStart(5, '0')}${ext}`);
      writeFileSync(path, await store.get(o.key));
      return { key: o.key, path };
    }),
  );
}

/** The rows of Parquet files in stored order (file by file, row by row), times as `YYYY-MM-DD HH:MM:SS.mmm`. */
export async function rowsInOrder(paths: readonly string[]): Promise<Row[]> {
  if (paths.length === 0) return [];
  const list = `[${paths.map((p) => `'${p.replace(/'/g, "''")}'`).join(', ')}]`;
  const rows = await query(
    `SELECT * EXCLUDE (filename, file_row_number) REPLACE (strftime(EVENT_TIME, '%Y-%m-%d %H:%M:%S.%g') AS EVENT_TIME), filename AS "__file", file_row_number AS "__row"
     FROM read_parquet(${list}, filename = true, file_row_number = true)`,
  );
  const order = new Map(paths.map((p, i) => [p, i]));
  return rows.sort((a, b) => order.get(a.__file as string)! - order.get(b.__file as string)! || Number(a.__row) - Number(b.__row));
}

/** A row's identity for comparisons: every schema column's value. */
export function contentKey(row: Record<string, unknown>): string {
  return JSON.stringify(columnNames.map((c) => row[c] ?? null));
}

/** The generated Athena DDL of a sealed export (database logbarge, table airkit_audit_event). */
export function sealedAthenaDdl(config: Config, exportConfig: ExportConfig): string {
  return generateAthenaDdl({
    schema,
    exportConfig,
    options: { table: 'airkit_audit_event', database: 'logbarge', startDate: '2025-01-01', eventTime: config.ingest.eventTime },
  });
}

/** What the Athena view returns over the destination's objects now, as rows keyed by uppercase column names. */
export async function viewRows(options: { store: ObjectStore; ddl: string; destination: string; dir: string; keep?: (key: string) => boolean }): Promise<Row[]> {
  const objects = (await downloadAll(options.store, options.dir)).filter((o) => options.keep?.(o.key) ?? true);
  const rows = await readAsAthenaSealed(options.ddl, { destination: options.destination, objects, workDir: options.dir, now: Date.now() });
  return rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k === '__dt' ? k : k.toUpperCase(), v])));
}
