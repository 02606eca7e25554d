/**
 * The DuckDB half of a seal: a day's staged files in, its distinct events sorted by EVENT_TIME out,
 * as Parquet files of about the target size. DuckDB works in a database file on disk with its
 * memory_limit set (`seal.memoryLimit`) and a temp directory beside it to spill to.
 *
 * Distinct = no other row equal in every column (EVENT_ID, EVENT_TIME and the content, RAW
 * included): DESIGN.md's duplicate. Rows with the same EVENT_ID and EVENT_TIME but other content
 * are conflicts and are all kept.
 */
import { chmod, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { LogbargeError } from '../errors.js';
import { rowGroupSize } from '../export/encoders/parquet.js';
import { privateFileMode } from '../modes.js';
import type { Schema } from '../schema/schema.js';
import { fileColumns, readerSql, sqlIdent, sqlString, type FileColumn, type StagedFile } from './read.js';

/** Options of compactDay. */
export interface CompactOptions {
  readonly dt: string;
  /** The downloaded objects, with their sizes. */
  readonly files: readonly (StagedFile & { readonly bytes: number })[];
  readonly schema: Schema;
  /** Directory for the DuckDB database, its spill directory and the output files (exists, empty). */
  readonly workDir: string;
  readonly memoryLimit: string;
  readonly threads: number;
  readonly targetFileBytes: number;
  /** Parquet compression of the sealed files. */
  readonly compression: 'zstd' | 'snappy' | 'gzip';
  /** Written into each file's key-value metadata. */
  readonly sealId: string;
  readonly signal?: AbortSignal;
}

/** One written file, in sort order. */
export interface CompactFile {
  readonly path: string;
  readonly rows: number;
  readonly bytes: number;
  /** EVENT_TIME of the first and last row (UTC wall clock, `YYYY-MM-DDTHH:MM:SS.mmm`). */
  readonly firstEventTime: string;
  readonly lastEventTime: string;
}

/** What compactDay produced. */
export interface CompactResult {
  readonly columns: FileColumn[];
  /** Rows read from the staged files. */
  readonly inputRows: number;
  /** Distinct rows written. */
  readonly rows: number;
  /** Input rows left out as copies of another row. */
  readonly duplicates: number;
  /** Rows written beyond one per (EVENT_ID, EVENT_TIME): same id and time, other content. */
  readonly conflicts: number;
  readonly files: CompactFile[];
}

const failed = (dt: string, cause: string, hint?: string): LogbargeError =>
  new LogbargeError('SEAL_FAILED', `seal dt=${dt}: ${cause}`, hint ? { hint } : {});

/** Merges each file's columns into one list (first-seen order); a column typed differently in two files is refused. */
async function unionColumns(db: DuckDBConnection, options: CompactOptions): Promise<{ columns: FileColumn[]; perFile: FileColumn[][] }> {
  const byName = new Map<string, { type: string; key: string }>();
  const columns: FileColumn[] = [];
  const perFile: FileColumn[][] = [];
  for (const file of options.files) {
    options.signal?.throwIfAborted();
    const cols = await fileColumns({ db, schema: options.schema, file });
    for (const c of cols) {
      const seen = byName.get(c.name);
      if (!seen) {
        byName.set(c.name, { type: c.type, key: file.key });
        columns.push(c);
      } else if (seen.type !== c.type) {
        throw failed(options.dt, `column ${c.name} is ${seen.type} in ${seen.key} but ${c.type} in ${file.key}`, 'objects of one day must agree on column types; move the odd object out of the dt= folder');
      }
    }
    perFile.push(cols);
  }
  for (const required of ['EVENT_ID', 'EVENT_TIME']) {
    if (!byName.has(required)) throw failed(options.dt, `no object has a ${required} column`);
  }
  return { columns, perFile };
}

async function scalar(db: DuckDBConnection, sql: string): Promise<number> {
  const value = (await db.runAndReadAll(sql)).getRows()[0]?.[0];
  return Number(value ?? 0);
}

/** Reads, deduplicates, sorts and writes one day; returns the files in sort order. */
export async function compactDay(options: CompactOptions): Promise<CompactResult> {
  const { dt, workDir } = options;
  const outDir = join(workDir, 'out');
  const instance = await DuckDBInstance.create(join(workDir, 'seal.duckdb'), {
    memory_limit: options.memoryLimit,
    threads: String(options.threads),
    temp_directory: join(workDir, 'spill'),
    preserve_insertion_order: 'true',
  });
  const db = await instance.connect();
  try {
    const { columns, perFile } = await unionColumns(db, options);
    await db.run(`CREATE TABLE staged (${columns.map((c) => `${sqlIdent(c.name)} ${c.type}`).join(', ')})`);
    for (const [i, file] of options.files.entries()) {
      options.signal?.throwIfAborted();
      await db.run(`INSERT INTO staged BY NAME SELECT * FROM ${readerSql(file, perFile[i]!)}`);
    }
    const inputRows = await scalar(db, 'SELECT count(*) FROM staged');
    // EVENT_TIME, then EVENT_ID, then every other column: one order for the same rows, whichever
    // objects they came from, so sealing the same events twice writes the same files.
    const order = ['EVENT_TIME', 'EVENT_ID', ...columns.map((c) => c.name).filter((n) => n !== 'EVENT_TIME' && n !== 'EVENT_ID')];
    await db.run(`CREATE TABLE sealed AS SELECT DISTINCT * FROM staged ORDER BY ${order.map(sqlIdent).join(', ')}`);
    await db.run('DROP TABLE staged');
    const rows = await scalar(db, 'SELECT count(*) FROM sealed');
    // DuckDB closes a file only between row groups, so a row group must be well below the target
    // size: about a quarter of it, from the input's bytes per row, between DuckDB's vector size
    // (2,048 rows) and the exporter's row group (65,536 rows).
    const inputBytes = options.files.reduce((n, f) => n + f.bytes, 0);
    const bytesPerRow = Math.max(1, inputBytes / Math.max(1, inputRows));
    const groupRows = Math.min(rowGroupSize, Math.max(2048, Math.floor(options.targetFileBytes / 4 / bytesPerRow)));
    const conflicts = await scalar(db, 'SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM sealed GROUP BY "EVENT_ID", "EVENT_TIME" HAVING count(*) > 1)');
    options.signal?.throwIfAborted();
    // One thread for the write: with more, DuckDB writes the files in parallel and the sort
    // order no longer runs from one file to the next (checked below).
    await db.run('SET threads = 1');
    await db.run(
      `COPY sealed TO ${sqlString(outDir)}
       (FORMAT parquet, COMPRESSION ${options.compression}, ROW_GROUP_SIZE ${groupRows}, FILE_SIZE_BYTES ${options.targetFileBytes},
        FILENAME_PATTERN 'part-{i}',
        KV_METADATA {'logbarge.schema': ${sqlString(`${options.schema.name}/${options.schema.version}`)}, 'logbarge.seal': ${sqlString(options.sealId)}})`,
    );
    const files = await writtenFiles(db, { outDir, dt });
    const written = files.reduce((n, f) => n + f.rows, 0);
    if (written !== rows) throw failed(dt, `the sealed files hold ${written} rows, the day has ${rows} distinct rows`);
    return { columns, inputRows, rows, duplicates: inputRows - rows, conflicts, files };
  } finally {
    db.closeSync();
    instance.closeSync();
    await rm(join(workDir, 'spill'), { recursive: true, force: true });
    await Promise.all(['seal.duckdb', 'seal.duckdb.wal'].map((name) => rm(join(workDir, name), { force: true })));
  }
}

/** The output files in part order, without empty ones; checks that EVENT_TIME runs on from file to file. */
async function writtenFiles(db: DuckDBConnection, where: { outDir: string; dt: string }): Promise<CompactFile[]> {
  const { outDir, dt } = where;
  const names = (await readdir(outDir))
    .map((name) => ({ name, part: Number(/^part-(\d+)\.parquet$/.exec(name)?.[1] ?? NaN) }))
    .filter((f) => Number.isInteger(f.part))
    .sort((a, b) => a.part - b.part);
  const files: CompactFile[] = [];
  for (const { name } of names) {
    const path = join(outDir, name);
    const stats = (
      await db.runAndReadAll(
        `SELECT count(*)::BIGINT AS n, strftime(min("EVENT_TIME"), '%Y-%m-%dT%H:%M:%S.%g') AS first, strftime(max("EVENT_TIME"), '%Y-%m-%dT%H:%M:%S.%g') AS last
         FROM read_parquet(${sqlString(path)}, hive_partitioning = false)`,
      )
    ).getRowObjects()[0]!;
    const rows = Number(stats.n);
    // DuckDB can leave a last file without rows when the data ends at a file boundary.
    if (rows === 0) {
      await rm(path, { force: true });
      continue;
    }
    const first = String(stats.first);
    const previous = files.at(-1);
    if (previous && first < previous.lastEventTime) {
      throw failed(dt, `sealed file ${name} starts at ${first}, before the previous file ends (${previous.lastEventTime})`);
    }
    await chmod(path, privateFileMode);
    files.push({ path, rows, bytes: (await stat(path)).size, firstEventTime: first, lastEventTime: String(stats.last) });
  }
  return files;
}
