/**
 * Test support: reads produced files back with DuckDB, always with explicit column types (DuckDB's
 * type guessing is wrong for our data: UUIDs, numeric-looking strings).
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { duckdbTypes } from '../../src/export/encoders/parquet.js';
import { loadSchema, type Schema } from '../../src/schema/schema.js';

const schema = loadSchema();

/** A schema's columns as a readFiles column list: name and the DuckDB type the encoders write. */
export function columnsOf(of: Schema): [string, string][] {
  return of.columns.map((c) => [c.name, duckdbTypes[c.type]]);
}

function sqlString(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/** The schema's columns with their DuckDB types: what an export with `"raw": false` writes. */
export const schemaColumns: readonly (readonly [string, string])[] = schema.columns.map((c) => [c.name, duckdbTypes[c.type]] as const);

/** The schema's columns then RAW (read as text): what an export writes by default. */
export const exportColumns: readonly (readonly [string, string])[] = [...schemaColumns, ['RAW', 'VARCHAR']];

/** The read_* column spec `{NAME: 'TYPE', …}`, from an explicit name → DuckDB type list. */
export function columnSpec(columns: readonly (readonly [string, string])[] = exportColumns): string {
  return `{${columns.map(([n, t]) => `${sqlString(n)}: ${sqlString(t)}`).join(', ')}}`;
}

/** The DuckDB table function that reads one produced file with explicit types. */
export function readerFor(path: string, format: string, columns?: readonly (readonly [string, string])[]): string {
  const spec = columnSpec(columns);
  const compression = path.endsWith('.gz') ? 'gzip' : 'uncompressed';
  switch (format) {
    case 'parquet':
      return `read_parquet(${sqlString(path)}, hive_partitioning = false)`;
    case 'ndjson':
      return `read_json(${sqlString(path)}, hive_partitioning = false, format = 'newline_delimited', records = true, columns = ${spec}, compression = '${compression}')`;
    case 'csv':
      return `read_csv(${sqlString(path)}, hive_partitioning = false, header = true, auto_detect = false, delim = ',', quote = '"', escape = '"', nullstr = '\\N', allow_quoted_nulls = false, columns = ${spec}, compression = '${compression}')`;
    default:
      throw new Error(`no reader for ${format}`);
  }
}

/** Runs a query in a fresh in-memory DuckDB and returns rows as JSON-friendly objects. */
export async function query(sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const reader = await connection.runAndReadAll(sql);
    return reader.getRowObjectsJson() as Record<string, unknown>[];
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** All rows of a set of produced files, read with explicit types. */
export async function readFiles(files: readonly { path: string; format: string }[], columns?: readonly (readonly [string, string])[]): Promise<Record<string, unknown>[]> {
  if (files.length === 0) return [];
  // Parquet files are read with their own types; RAW (JSON in some files, UTF8 in others) as text.
  const rawAsText = (columns ?? exportColumns).some(([n]) => n === 'RAW');
  const select = (format: string): string => (format === 'parquet' && rawAsText ? `* REPLACE (CAST("RAW" AS VARCHAR) AS "RAW")` : '*');
  const union = files.map((f) => `SELECT ${select(f.format)} FROM ${readerFor(f.path, f.format, columns)}`).join(' UNION ALL ');
  // Timestamps rendered with exactly three fractional digits, like the canonical form.
  const hasTime = (columns ?? [['EVENT_TIME', 'TIMESTAMP_MS']]).some(([n, t]) => n === 'EVENT_TIME' && t.startsWith('TIMESTAMP'));
  return query(hasTime ? `SELECT * REPLACE (strftime(EVENT_TIME, '%Y-%m-%d %H:%M:%S.%g') AS EVENT_TIME) FROM (${union})` : union);
}

/** Parquet physical/logical types of a file's columns. */
export async function parquetSchema(path: string): Promise<Record<string, { type: string; converted: string | null; logical: string | null }>> {
  const rows = await query(`SELECT name, type, converted_type, logical_type FROM parquet_schema(${sqlString(path)}) WHERE type IS NOT NULL`);
  return Object.fromEntries(
    rows.map((r) => [r.name as string, { type: r.type as string, converted: (r.converted_type as string | null) ?? null, logical: (r.logical_type as string | null) ?? null }]),
  );
}
