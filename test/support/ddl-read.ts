/**
 * Test support: reads produced objects the way the generated DDL tells an engine to, with DuckDB.
 * Column types are translated mechanically from the DDL text (athena string→VARCHAR, int→INTEGER,
 * date→DATE, timestamp→TIMESTAMP_MS; snowflake VARCHAR→VARCHAR, NUMBER(p,0)→INTEGER/BIGINT/HUGEINT,
 * DATE→DATE, TIMESTAMP_NTZ(≤3)→TIMESTAMP_MS, VARIANT→JSON), and so are the dialect options. Where DuckDB's
 * reader does more than the engine's, the engine's limit is modelled: Athena's OpenCSVSerde is a
 * line-based parser (ported below from Trino's bug-for-bug CsvDeserializer), so a line break
 * inside a value splits the row as it would in Athena. Options it cannot translate make it throw.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import { parseJsonLossless } from '../../src/ingest/json-lossless.js';
import { isJsonNumber } from '../../src/schema/json-number.js';

/** A downloaded data object: its key under the destination and a local copy. */
export interface ObjectFile {
  readonly key: string;
  readonly path: string;
}

/** A row as read, keyed by the DDL's column names, plus `__dt` from the object's dt= folder. */
export type Row = Record<string, unknown>;

/** A column to read: the name in the file, the name in the DDL, and the DuckDB type. */
export interface ReadColumn {
  readonly source: string | undefined;
  readonly name: string;
  readonly duckType: string;
}

/** SQL string literal for DuckDB (standard strings: backslashes are literal). */
export function sql(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/** `"name"` for DuckDB. */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Runs statements on one in-memory DuckDB; returns the rows of the last one. */
export async function duck(statements: string[]): Promise<Row[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    let rows: Row[] = [];
    for (const s of statements) rows = (await connection.runAndReadAll(s)).getRowObjectsJson() as Row[];
    return rows;
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** True when the file starts with the gzip magic bytes. */
export function isGzip(path: string): boolean {
  const head = readFileSync(path).subarray(0, 2);
  return head[0] === 0x1f && head[1] === 0x8b;
}

/** The text of a (possibly gzipped) file. */
export function fileText(path: string): string {
  const bytes = readFileSync(path);
  return (isGzip(path) ? gunzipSync(bytes) : bytes).toString('utf8');
}

/** The `dt` of an object key `dt=YYYY-MM-DD/…`. */
export function dtOf(key: string): string {
  const m = /^dt=([^/]+)\//.exec(key);
  if (!m) throw new Error(`proof: key ${key} is not under a dt= folder`);
  return m[1]!;
}

/** Physical types of a Parquet file's columns as a DuckDB type (TIMESTAMP_MS only for MILLIS, NTZ). */
export async function parquetColumns(path: string): Promise<Map<string, string>> {
  const rows = await duck([`SELECT name, type, converted_type, logical_type FROM parquet_schema(${sql(path)}) WHERE type IS NOT NULL`]);
  const out = new Map<string, string>();
  for (const r of rows) {
    const logical = String(r.logical_type ?? '');
    const converted = String(r.converted_type ?? '');
    let t: string;
    if (r.type === 'BYTE_ARRAY' && (converted === 'UTF8' || /StringType/.test(logical))) t = 'VARCHAR';
    else if (r.type === 'BYTE_ARRAY' && (converted === 'JSON' || /JsonType/.test(logical))) t = 'JSON';
    else if (r.type === 'INT32' && (converted === 'DATE' || /DateType/.test(logical))) t = 'DATE';
    else if (r.type === 'INT32' && (converted === 'INT_32' || /IntType\(bitWidth=32, isSigned=1/.test(logical) || (converted === '' && logical === ''))) t = 'INTEGER';
    else if (r.type === 'INT64' && /TimestampType\(isAdjustedToUTC=0, unit=TimeUnit\(MILLIS/.test(logical)) t = 'TIMESTAMP_MS';
    else if (r.type === 'INT64' && /TimestampType\(isAdjustedToUTC=1/.test(logical)) t = 'TIMESTAMPTZ';
    else t = `${String(r.type)}/${converted}/${logical}`;
    out.set(String(r.name), t);
  }
  return out;
}

/** DuckDB types a file type may be read into without loss (exact, or a widening engines do). */
const widening: Record<string, readonly string[]> = {
  VARCHAR: ['VARCHAR'],
  // The Parquet JSON logical type annotates UTF-8 text: it reads as a string.
  JSON: ['VARCHAR'],
  INTEGER: ['INTEGER', 'BIGINT', 'HUGEINT'],
  DATE: ['DATE'],
  TIMESTAMP_MS: ['TIMESTAMP_MS', 'TIMESTAMP', 'TIMESTAMP_NS'],
};

/** Checks that a Parquet column of `fileType` can be declared as `duckType`; throws naming both. */
export function checkParquetType(column: string, fileType: string, duckType: string): void {
  if (!(widening[fileType] ?? []).includes(duckType)) {
    throw new Error(`proof: column ${column} is ${fileType} in the Parquet file but the DDL declares it as ${duckType}`);
  }
}

/** The columns of a file (header, JSON keys or Parquet names) matched to DDL columns by name. */
export function matchColumns(
  ddl: readonly { name: string; duckType: string }[],
  fileNames: readonly string[],
  { caseInsensitive }: { caseInsensitive: boolean },
): ReadColumn[] {
  const fold = (s: string): string => (caseInsensitive ? s.toLowerCase() : s);
  return ddl.map((c) => ({ source: fileNames.find((f) => fold(f) === fold(c.name)), name: c.name, duckType: c.duckType }));
}

/** The SELECT list that renders columns comparably: timestamps as text with milliseconds, dates as text, integers as numbers. */
export function renderList(columns: readonly { name: string; duckType: string }[]): string {
  return columns
    .map(({ name, duckType }) => {
      const c = ident(name);
      if (duckType.startsWith('TIMESTAMP')) return `strftime(${c}, '%Y-%m-%d %H:%M:%S.%g') AS ${c}`;
      if (duckType === 'DATE') return `CAST(${c} AS VARCHAR) AS ${c}`;
      if (/^(INTEGER|BIGINT|HUGEINT)$/.test(duckType)) return `CAST(${c} AS INTEGER) AS ${c}`;
      if (duckType === 'JSON') return `CAST(${c} AS VARCHAR) AS ${c}`;
      return c;
    })
    .join(', ');
}

/** A read_* `columns = {…}` spec: name → DuckDB type (a placeholder when nothing matched, as DuckDB needs one). */
export function columnSpec(entries: readonly (readonly [string, string])[]): string {
  const list = entries.length > 0 ? entries : [['__nothing_matched', 'VARCHAR'] as const];
  return `{${list.map(([n, t]) => `${sql(n)}: ${sql(t)}`).join(', ')}}`;
}

/** The select list reading matched columns (NULL for a DDL column the file lacks). */
export function selectList(columns: readonly ReadColumn[], cast: boolean): string {
  return columns
    .map((c) => (c.source === undefined ? `CAST(NULL AS ${c.duckType}) AS ${ident(c.name)}` : cast ? `CAST(${ident(c.source)} AS ${c.duckType}) AS ${ident(c.name)}` : `${ident(c.source)} AS ${ident(c.name)}`))
    .join(', ');
}

/**
 * One line of CSV as OpenCSVSerde (Trino's CsvDeserializer) parses it: the escape character is
 * dropped unless a quote or escape follows, `""` inside quotes is a quote, an unterminated last
 * field is null, and fields beyond `count` are ignored.
 */
export function openCsvLine(line: string, separator: string, quote: string, escape: string, count: number): (string | null)[] {
  const values: (string | null)[] = new Array<string | null>(count).fill(null);
  if (line === '') return values;
  let buffer = '';
  let column = 0;
  let inQuotes = false;
  let inField = false;
  for (let p = 0; p < line.length && column < count; p++) {
    const c = line[p]!;
    const next = line[p + 1];
    if (c === escape) {
      if ((inQuotes || inField) && (next === quote || next === escape)) {
        buffer += next;
        p++;
      }
    } else if (c === quote) {
      if ((inQuotes || inField) && next === quote) {
        buffer += next;
        p++;
      } else {
        if (p > 2 && line[p - 1] !== separator && line.length > p + 1 && next !== separator) {
          if (buffer !== '' && buffer.trim() === '') buffer = '';
          else buffer += c;
        }
        inQuotes = !inQuotes;
      }
      inField = !inField;
    } else if (c === separator && !inQuotes) {
      values[column++] = buffer;
      buffer = '';
      inField = false;
    } else {
      buffer += c;
      inField = true;
    }
  }
  if (column < count && !inQuotes) values[column] = buffer;
  return values;
}

/** Lines as Hadoop's text reader splits them: at LF, CR or CRLF, without a trailing empty line. */
export function textLines(text: string): string[] {
  const lines = text.split(/\r\n|\r|\n/);
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/** Writes rows as NDJSON to `path` (a staging file for loading parsed strings into DuckDB). */
export function writeNdjson(path: string, rows: readonly Record<string, string | null>[]): void {
  writeFileSync(path, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
}

/** Translates a Snowflake date/time format ('YYYY-MM-DD HH24:MI:SS.FF3') to a strftime format. */
export function strftimeOf(format: string): string {
  const parts: [RegExp, string][] = [
    [/^YYYY/, '%Y'], [/^MM/, '%m'], [/^DD/, '%d'], [/^HH24/, '%H'], [/^MI/, '%M'], [/^SS/, '%S'], [/^FF3/, '%g'], [/^FF6/, '%f'], [/^[-:. ]/, ''],
  ];
  let out = '';
  for (let rest = format; rest !== ''; ) {
    const hit = parts.find(([re]) => re.test(rest));
    if (!hit) throw new Error(`proof: no strftime translation for the format element at "${rest}" of '${format}'`);
    const [re, value] = hit;
    const m = re.exec(rest)![0];
    out += value === '' ? m : value;
    rest = rest.slice(m.length);
  }
  return out;
}

/** A number literal as digits and a power of ten (`1.10` and `11e-1` → `11e-1`), so equal values compare equal. */
function canonicalNumber(text: string): string {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!m) throw new Error(`proof: ${text} is not a JSON number`);
  let digits = `${m[2]}${m[3] ?? ''}`.replace(/^0+/, '');
  let exponent = Number(m[4] ?? 0) - (m[3]?.length ?? 0);
  if (digits === '') return '0';
  for (; digits.endsWith('0'); exponent++) digits = digits.slice(0, -1);
  return `${m[1]}${digits}e${exponent}`;
}

/**
 * JSON text as a value-only form: keys sorted, numbers by value (digit for digit, never through a
 * double), whitespace gone. What a VARIANT keeps of a parsed JSON text, which is not its bytes.
 */
export function canonicalJson(text: string): string {
  const walk = (v: unknown): string => {
    if (isJsonNumber(v)) return canonicalNumber(v.text);
    if (typeof v === 'number') return canonicalNumber(String(v));
    if (Array.isArray(v)) return `[${v.map(walk).join(',')}]`;
    if (v !== null && typeof v === 'object') {
      const entries = Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${walk(x)}`).join(',')}}`;
    }
    return JSON.stringify(v);
  };
  JSON.parse(text); // throws on text that is not JSON
  return walk(parseJsonLossless(text));
}
