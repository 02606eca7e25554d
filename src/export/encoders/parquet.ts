/**
 * Parquet, written by DuckDB: the batch's canonical bodies are staged as NDJSON, then DuckDB
 * COPYs them to Parquet reading with explicit column names and types (never type guessing). DuckDB works on
 * its own threads, off the event loop, with an on-disk working set under a memory limit.
 *
 * Types (DESIGN.md): VARCHAR → UTF8 string; NUMBER → INT32; DATE → DATE;
 * TIMESTAMPNTZ → INT64 TIMESTAMP(MILLIS, isAdjustedToUTC=false). RAW, after the schema's columns,
 * is a string column with the JSON logical type (DuckDB's JSON type; the text is kept byte for
 * byte), or a plain UTF8 string in the file of a batch holding a RAW text DuckDB's JSON parser
 * refuses (see rawAsJson).
 */
import { chmodSync, statSync } from 'node:fs';
import { open, rm, type FileHandle } from 'node:fs/promises';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { privateFileMode } from '../../modes.js';
import type { ColumnType, Schema } from '../../schema/schema.js';
import { ndjsonLine } from './text.js';
import { rawColumnName, type EncodeInput, type EncodeResult, type Encoder } from './types.js';

/** DuckDB type each schema type is read as; TIMESTAMP_MS is what makes the Parquet unit MILLIS. */
export const duckdbTypes: Readonly<Record<ColumnType, string>> = {
  VARCHAR: 'VARCHAR',
  NUMBER: 'INTEGER',
  DATE: 'DATE',
  TIMESTAMPNTZ: 'TIMESTAMP_MS',
};

/**
 * Rows per Parquet row group: above the 50k that Athena and Snowflake scan well, and below
 * DuckDB's default (122,880), with which the writer's memory grew from ~220 MB at 100k rows to
 * ~370 MB at 1M rows; at 65,536 it stays near 240 MB (see the bench's memory line).
 */
export const rowGroupSize = 65_536;

/**
 * Staged NDJSON bytes per row group of an export with RAW: a batch whose rows are larger (raw
 * records) gets fewer rows per group, down to DuckDB's minimum of 2,048. At 65,536 rows of ~700 bytes (the bench's rows
 * with a NULL RAW) the writer peaks near 240 MB; 65,536 rows of ~2,000 bytes (each with a 900-byte
 * raw record) hit DuckDB's 256 MB memory limit, while 24,000 of them peaked at 296 MB RSS.
 */
export const rowGroupBytes = 48 * 1024 * 1024;

/** Rows per row group for a staged file of `bytes` holding `rows` rows (see rowGroupBytes). */
export function rowsPerGroup(bytes: number, rows: number): number {
  if (rows === 0) return rowGroupSize;
  return Math.max(2_048, Math.min(rowGroupSize, Math.floor(rowGroupBytes / (bytes / rows))));
}

/** Options of the Parquet encoder. */
export interface ParquetOptions {
  readonly schema: Schema;
  /** DuckDB memory_limit, e.g. '512MB'. */
  readonly memoryLimit: string;
  /** DuckDB worker threads. */
  readonly threads: number;
}

function sqlString(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/**
 * RAW is read from the staged NDJSON as VARCHAR (its JSON string's text) and cast to DuckDB's
 * JSON type, which Parquet annotates as JSON and which keeps the text unchanged. The cast
 * validates, and DuckDB's parser refuses some text JSON.parse accepts (an escaped unpaired
 * surrogate, `"\ud800"`): a batch holding such a RAW is written with `rawAsText` instead, so
 * no record can stop an export.
 */
const rawAsJson = `CAST("${rawColumnName}" AS JSON) AS "${rawColumnName}"`;
const rawAsText = `"${rawColumnName}"`;

const newline = Buffer.from('\n');

/** `,"RAW":null`: what each line with a NULL raw record carried when staging wrote it (see stage). */
const nullRawMember = `,${JSON.stringify(rawColumnName)}:null`;

/** Writes `buffers` at the file's position, again from where a short write stopped. */
async function writeAll(file: FileHandle, buffers: readonly Buffer[]): Promise<void> {
  let rest = buffers.filter((b) => b.length > 0);
  while (rest.length > 0) {
    const { bytesWritten } = await file.writev(rest);
    if (bytesWritten === 0) throw new Error('encode parquet: writing the staged rows made no progress');
    let skip = bytesWritten;
    const left: Buffer[] = [];
    for (const b of rest) {
      if (skip >= b.length) skip -= b.length;
      else {
        left.push(skip > 0 ? b.subarray(skip) : b);
        skip = 0;
      }
    }
    rest = left;
  }
}

/**
 * Stages the pages as the NDJSON file DuckDB reads: stored lines as they are, and a row as its
 * stored body, with the RAW member spliced in (ndjsonLine) when it has a raw record and RAW is
 * included. Bodies are not projected onto the schema and a NULL RAW is not written: DuckDB reads
 * the columns by name with explicit types, so a key the schema lacks is ignored and a missing
 * one (RAW included) is NULL, which is what the projection (project.ts) and `"RAW":null` gave.
 * Each page is one write, made while the next page is read.
 *
 * Returns the rows and, for rowsPerGroup, the file's size plus `,"RAW":null` for each NULL raw
 * record when RAW is included: the size the file had when every line carried RAW (what
 * rowGroupBytes was measured with), so a batch is given the ROW_GROUP_SIZE it was given then.
 * DuckDB ends a row group at a boundary of its reader's buffers, and shorter lines put more rows
 * in a buffer, so a large batch's groups can end some rows apart from where they did (200,000
 * bench rows: 67,389 + 67,389 + 65,222 then, 66,140 + 66,140 + 66,139 + 1,581 now); the rows,
 * their order, types and metadata are the same.
 */
async function stage(input: EncodeInput, path: string): Promise<{ rows: number; bytes: number }> {
  const file = await open(path, 'w', privateFileMode);
  let rows = 0;
  let bytes = 0;
  let writing: Promise<void> = Promise.resolve();
  try {
    for await (const page of input.pages) {
      input.signal?.throwIfAborted();
      let chunk: Buffer[];
      if ('lines' in page) {
        rows += page.rows;
        chunk = [page.lines, newline];
        if (input.includeRaw) bytes += page.rows * nullRawMember.length;
      } else {
        rows += page.length;
        let text = '';
        for (const row of page) {
          if (input.includeRaw && row.raw !== null) text += `${ndjsonLine(row, true)}\n`;
          else {
            text += `${row.body}\n`;
            if (input.includeRaw) bytes += nullRawMember.length;
          }
        }
        chunk = [Buffer.from(text, 'utf8')];
      }
      for (const b of chunk) bytes += b.length;
      await writing;
      writing = writeAll(file, chunk);
      // A failed write surfaces from the await above or below; marked handled meanwhile, while the next page is read.
      writing.catch(() => undefined);
    }
    await writing;
  } finally {
    await writing.catch(() => undefined);
    await file.close();
  }
  return { rows, bytes };
}

/** Creates the Parquet encoder; DuckDB starts on first use. */
export function createParquetEncoder(options: ParquetOptions): Encoder {
  const { schema } = options;
  const columns = schema.columns.map((c) => `${sqlString(c.name)}: ${sqlString(duckdbTypes[c.type])}`).join(', ');
  const columnsWithRaw = `${columns}, ${sqlString(rawColumnName)}: 'VARCHAR'`;
  const select = schema.columns.map((c) => `"${c.name}"`).join(', ');

  async function encode(input: EncodeInput): Promise<EncodeResult> {
    // The rows are staged as an NDJSON file first. (Streaming them through a named pipe was
    // tried: no faster, and DuckDB buffers a pipe's whole input in memory, which hit its memory
    // limit at 333k rows.)
    const source = `${input.outPath}.ndjson`;
    // A DuckDB instance per object, closed right after: DuckDB keeps freed buffers cached up to
    // its memory limit, which made a long-lived instance's RSS ratchet up batch after batch
    // (~470 MB after a 1M-row export); closing returns it (~180 MB between batches).
    const dbPath = `${input.outPath}.duckdb`;
    let instance: DuckDBInstance | undefined;
    let db: DuckDBConnection | undefined;
    const t0 = performance.now();
    try {
      const staged = await stage(input, source);
      input.signal?.throwIfAborted();
      const t1 = performance.now();
      instance = await DuckDBInstance.create(dbPath, {
        memory_limit: options.memoryLimit,
        threads: String(options.threads),
        temp_directory: `${dbPath}.tmp`,
        preserve_insertion_order: 'true',
      });
      db = await instance.connect();
      // Without RAW the row groups stay those of before RAW, so such files keep their bytes.
      const groupRows = input.includeRaw ? rowsPerGroup(staged.bytes, staged.rows) : rowGroupSize;
      const copy = (raw: string | undefined): Promise<unknown> =>
        db!.run(
          `COPY (SELECT ${select}${raw === undefined ? '' : `, ${raw}`} FROM read_json(${sqlString(source)}, format = 'newline_delimited', records = true, columns = {${raw === undefined ? columns : columnsWithRaw}}))
           TO ${sqlString(input.outPath)}
           (FORMAT parquet, COMPRESSION ${input.compression}, ROW_GROUP_SIZE ${groupRows},
            KV_METADATA {'logbarge.schema': ${sqlString(`${schema.name}/${schema.version}`)}})`,
        );
      if (!input.includeRaw) await copy(undefined);
      else {
        try {
          await copy(rawAsJson);
        } catch {
          // Whatever failed, the same COPY without the JSON cast either succeeds or throws its own error.
          input.signal?.throwIfAborted();
          await copy(rawAsText);
        }
      }
      // The object must hold exactly the rows staged.
      const counted = await db.runAndReadAll(`SELECT coalesce(sum(num_rows), 0)::BIGINT AS n FROM parquet_file_metadata(${sqlString(input.outPath)})`);
      const rows = Number(counted.getRowObjects()[0]?.n ?? -1);
      if (rows !== staged.rows) throw new Error(`encode parquet: staged ${staged.rows} rows, the file holds ${rows}`);
      // DuckDB creates files with the process umask (0644 typically) and writes through a temp
      // name, so a file made 0600 beforehand is replaced: restrict the finished file instead. Its
      // scratch files (database, WAL, spill directory) keep DuckDB's modes inside the 0700 work directory.
      chmodSync(input.outPath, privateFileMode);
      const timings = { stage: Math.round(t1 - t0), copy: Math.round(performance.now() - t1) };
      return { rows, bytes: statSync(input.outPath).size, timings };
    } finally {
      db?.closeSync();
      instance?.closeSync();
      await Promise.all([source, dbPath, `${dbPath}.wal`, `${dbPath}.tmp`].map((p) => rm(p, { force: true, recursive: true })));
    }
  }

  return { format: 'parquet', takesStoredLines: true, encode, close: async () => {} };
}
