/**
 * Reading a day's objects into DuckDB for sealing. The columns come from each file itself, never
 * from a fixed list, so a `RAW` column or a schema extension's columns are carried through:
 *
 * - Parquet: DuckDB describes the file (names and types as written);
 * - NDJSON: the keys of the first line (every line carries every column, null for missing);
 * - CSV: the header.
 *
 * Text columns are typed from the schema (DESIGN.md's Parquet types), `RAW` as VARCHAR; a column
 * the schema does not know is refused, naming the file and the column.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import type { DuckDBConnection } from '@duckdb/node-api';
import { LogbargeError } from '../errors.js';
import { duckdbTypes } from '../export/encoders/parquet.js';
import type { Schema } from '../schema/schema.js';
import type { RawFormat } from './keys.js';

/** One column of a file, with the DuckDB type it is read as. */
export interface FileColumn {
  readonly name: string;
  readonly type: string;
}

/** A staged file to read: a downloaded object. */
export interface StagedFile {
  /** The object's key (for messages). */
  readonly key: string;
  readonly path: string;
  readonly format: RawFormat;
  readonly gzip: boolean;
}

/** The column the sender's record is kept in, as JSON text, after the schema's columns (DESIGN.md). */
export const rawColumn = 'RAW';

/** A DuckDB string literal. */
export function sqlString(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/** A DuckDB quoted identifier. */
export function sqlIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** The first line of a text file (gunzipped when `gzip`), or undefined for an empty file. */
async function firstLine(path: string, gzip: boolean): Promise<string | undefined> {
  const file = createReadStream(path);
  const lines = createInterface({ input: gzip ? file.pipe(createGunzip()) : file, crlfDelay: Infinity });
  try {
    for await (const line of lines) return line;
    return undefined;
  } finally {
    lines.close();
    file.destroy();
  }
}

/** Splits a CSV header line (names are plain or double-quoted, never containing a comma). */
function csvHeader(line: string): string[] {
  return line.split(',').map((name) => (name.startsWith('"') && name.endsWith('"') ? name.slice(1, -1).replace(/""/g, '"') : name));
}

/** The DuckDB type a text column is read as. */
function textType(options: { schema: Schema; file: StagedFile; name: string }): string {
  const { schema, file, name } = options;
  if (name === rawColumn) return 'VARCHAR';
  const column = schema.columnForKey(name);
  if (!column || column.name !== name) {
    throw new LogbargeError('SEAL_FAILED', `read columns of ${file.key}: column ${JSON.stringify(name)} is not in schema ${schema.name} v${schema.version}`, {
      hint: 'seal with the schema the objects were written with (config `schema`)',
    });
  }
  return duckdbTypes[column.type];
}

/** The columns of a staged file, in file order, with the DuckDB types they are read as. */
export async function fileColumns(options: { db: DuckDBConnection; schema: Schema; file: StagedFile }): Promise<FileColumn[]> {
  const { db, schema, file } = options;
  if (file.format === 'parquet') {
    const described = await db.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${sqlString(file.path)}, hive_partitioning = false)`);
    // DuckDB reads a TIMESTAMP(MILLIS) column as TIMESTAMP (microseconds) and would write it back
    // so; the file's own unit says to keep milliseconds.
    const physical = await db.runAndReadAll(`SELECT name, logical_type FROM parquet_schema(${sqlString(file.path)}) WHERE type = 'INT64'`);
    const millis = new Set(physical.getRowObjects().filter((r) => /TimestampType\(isAdjustedToUTC=0, unit=TimeUnit\(MILLIS=MilliSeconds/.test(String(r.logical_type ?? ''))).map((r) => String(r.name)));
    return described.getRowObjects().map((r) => {
      const name = String(r.column_name);
      const type = String(r.column_type);
      return { name, type: type === 'TIMESTAMP' && millis.has(name) ? 'TIMESTAMP_MS' : type };
    });
  }
  const line = await firstLine(file.path, file.gzip);
  if (line === undefined) throw new LogbargeError('SEAL_FAILED', `read columns of ${file.key}: the object is empty`);
  let names: string[];
  if (file.format === 'ndjson') {
    let first: unknown;
    try {
      first = JSON.parse(line);
    } catch (err) {
      throw new LogbargeError('SEAL_FAILED', `read columns of ${file.key}: the first line is not JSON: ${(err as Error).message}`, { cause: err });
    }
    if (!first || typeof first !== 'object' || Array.isArray(first)) throw new LogbargeError('SEAL_FAILED', `read columns of ${file.key}: the first line is not a JSON object`);
    names = Object.keys(first);
  } else {
    names = csvHeader(line);
  }
  return names.map((name) => ({ name, type: textType({ schema, file, name }) }));
}

/** The DuckDB relation reading a staged file as the given columns (explicit types, never guessed). */
export function readerSql(file: StagedFile, columns: readonly FileColumn[]): string {
  const path = sqlString(file.path);
  const spec = `{${columns.map((c) => `${sqlString(c.name)}: ${sqlString(c.type)}`).join(', ')}}`;
  const compression = file.gzip ? 'gzip' : 'uncompressed';
  switch (file.format) {
    case 'parquet':
      return `(SELECT ${columns.map((c) => `CAST(${sqlIdent(c.name)} AS ${c.type}) AS ${sqlIdent(c.name)}`).join(', ')} FROM read_parquet(${path}, hive_partitioning = false))`;
    case 'ndjson':
      return `read_json(${path}, hive_partitioning = false, format = 'newline_delimited', records = true, columns = ${spec}, compression = '${compression}')`;
    case 'csv':
      // The dialect of docs/formats.md: RFC 4180 quoting, an unquoted \N is NULL, "\N" the string.
      return `read_csv(${path}, hive_partitioning = false, header = true, auto_detect = false, delim = ',', quote = '"', escape = '"', nullstr = '\\N', allow_quoted_nulls = false, columns = ${spec}, compression = '${compression}')`;
  }
}
