/**
 * The encoders and the RAW column: table tests of the NDJSON splice, every format and compression
 * written and read back with DuckDB (RAW after the last schema column, byte for byte, NULL as
 * NULL), the Parquet type of RAW, and `"raw": false` writing the files of before RAW byte for byte
 * (golden files in `__golden__/`, see its README).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { exportColumns, parquetSchema, query, readFiles, schemaColumns } from '../../../test/support/duckdb.js';
import { loadSchema } from '../../schema/schema.js';
import { createParquetEncoder, rowGroupSize, rowsPerGroup } from './parquet.js';
import { createCsvEncoder, createNdjsonEncoder, csvRawField, ndjsonLine } from './text.js';
import type { Compression, Encoder, ExportPage, ExportRow, Format } from './types.js';

const schema = loadSchema();
const work = mkdtempSync(join(tmpdir(), 'logbarge-encoders-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const golden = (name: string): string => fileURLToPath(new URL(`./__golden__/${name}`, import.meta.url));
const update = process.env.UPDATE_GOLDEN === '1';

/** Canonical bodies of events with commas, quotes, line breaks, NUL, `\N`, empty and null values. */
const bodies = readFileSync(golden('rows.ndjson'), 'utf8').trimEnd().split('\n');

/** Records as a sender might have sent them (JSON text), and NULL. */
const raws: (string | null)[] = [
  '{"log":"My test log"}',
  null,
  '{"a":1,\r\n "b":"line\\r\\nbreak","cr":"\\r"}', // CR and LF between tokens, escaped CR inside
  '{"ls":"\u2028","ps":"\u2029","emoji":"🚀","pair":"\\ud83d\\ude80"}',
  '{"id":1234567890123456789,"f":1.10,"e":1e400,"neg":-0}',
  '{"marker":"\\\\N","quote":"say \\"hi\\"","comma":"a,b"}',
  '"\\\\N"',
  '  {"spaced" : [ 1 , 2 ] }  ',
];

/** Rows pairing each body with a raw record (cycling). */
function rowsWith(raw: readonly (string | null)[]): ExportRow[] {
  return bodies.map((body, i) => ({ body, raw: raw[i % raw.length]! }));
}

async function* pagesOf(rows: readonly ExportRow[], size = 3): AsyncGenerator<ExportRow[]> {
  for (let i = 0; i < rows.length; i += size) yield rows.slice(i, i + size);
}

const encoders: Record<Format, Encoder> = {
  ndjson: createNdjsonEncoder(schema),
  csv: createCsvEncoder(schema),
  parquet: createParquetEncoder({ schema, memoryLimit: '256MB', threads: 1 }),
};

let counter = 0;
/** Encodes rows to a fresh file; returns its path. */
async function encode(format: Format, compression: Compression, rows: readonly ExportRow[], includeRaw: boolean): Promise<string> {
  const outPath = join(work, `${counter++}-${format}${compression === 'gzip' && format !== 'parquet' ? '.gz' : ''}`);
  const result = await encoders[format].encode({ pages: pagesOf(rows), includeRaw, outPath, compression });
  expect(result.rows).toBe(rows.length);
  // The hash a text encoder takes while writing is the file's (digests list it as the object's).
  const stored = readFileSync(outPath);
  expect(result.bytes).toBe(stored.length);
  if (format !== 'parquet') expect(result.sha256).toBe(createHash('sha256').update(stored).digest('hex'));
  return outPath;
}

/** The text of a produced text file (gunzipped when it is gzip). */
function text(path: string): string {
  const bytes = readFileSync(path);
  return (bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes).toString('utf8');
}

describe('ndjsonLine', () => {
  const body = '{"A":"x","B":null}';
  it.each<[string, string | null, boolean, string]>([
    ['a raw record, as a JSON string after the last column', '{"log":"My test log"}', true, '{"A":"x","B":null,"RAW":"{\\"log\\":\\"My test log\\"}"}'],
    ['NULL raw', null, true, '{"A":"x","B":null,"RAW":null}'],
    ['the text "null" is a string, not NULL', 'null', true, '{"A":"x","B":null,"RAW":"null"}'],
    ['CR, LF and tab escaped', '{\r\n\t"a":1}', true, '{"A":"x","B":null,"RAW":"{\\r\\n\\t\\"a\\":1}"}'],
    ['backslashes doubled', '{"m":"\\\\N"}', true, '{"A":"x","B":null,"RAW":"{\\"m\\":\\"\\\\\\\\N\\"}"}'],
    ['U+2028 and emoji kept as characters', '{"s":"\u2028🚀"}', true, '{"A":"x","B":null,"RAW":"{\\"s\\":\\"\u2028🚀\\"}"}'],
    ['a 64-bit literal kept digit for digit', '{"id":1234567890123456789}', true, '{"A":"x","B":null,"RAW":"{\\"id\\":1234567890123456789}"}'],
    ['the empty string', '', true, '{"A":"x","B":null,"RAW":""}'],
    ['"raw": false: the body as stored', '{"log":"x"}', false, body],
  ])('%s', (_what, raw, includeRaw, line) => {
    expect(ndjsonLine({ body, raw }, includeRaw)).toBe(line);
    if (includeRaw) expect((JSON.parse(line) as { RAW: unknown }).RAW).toBe(raw);
  });

  it('refuses a body that is not a JSON object, naming it', () => {
    expect(() => ndjsonLine({ body: '["x"]', raw: null }, true)).toThrow(/^encode ndjson: a spooled body is not a JSON object: \["x"\]$/);
  });
});

describe('csvRawField', () => {
  it.each<[string | null, string]>([
    [null, '\\N'],
    ['\\N', '"\\N"'],
    ['', '""'],
    ['plain', 'plain'],
    ['{"a":1}', '"{""a"":1}"'],
    ['a,b', '"a,b"'],
    ['cr\rhere', '"cr\rhere"'],
    ['lf\nhere', '"lf\nhere"'],
    ['nul\u0000here', '"nul\u0000here"'],
    ['\u2028🚀', '\u2028🚀'],
    ['a\\b', 'a\\b'],
  ])('%j → %s', (raw, out) => {
    expect(csvRawField(raw)).toBe(out);
  });
});

const formats: { format: Format; compression: Compression }[] = [
  { format: 'ndjson', compression: 'none' },
  { format: 'ndjson', compression: 'gzip' },
  { format: 'csv', compression: 'none' },
  { format: 'csv', compression: 'gzip' },
  { format: 'parquet', compression: 'zstd' },
  { format: 'parquet', compression: 'snappy' },
  { format: 'parquet', compression: 'gzip' },
];

/** The column names a produced file has, in order. */
async function columnsOf(path: string, format: Format): Promise<string[]> {
  if (format === 'parquet') return (await query(`DESCRIBE SELECT * FROM read_parquet('${path}')`)).map((r) => r.column_name as string);
  const first = text(path).split('\n')[0]!;
  return format === 'csv' ? first.split(',') : Object.keys(JSON.parse(first) as object);
}

describe('every format writes RAW after the last schema column', () => {
  const rows = rowsWith(raws);

  it.each(formats)('$format/$compression: RAW byte for byte, NULL as NULL', async ({ format, compression }) => {
    const path = await encode(format, compression, rows, true);
    expect(await columnsOf(path, format)).toEqual([...schema.columns.map((c) => c.name), 'RAW']);
    const read = await readFiles([{ path, format }], exportColumns);
    expect(read.map((r) => r.RAW)).toEqual(rows.map((r) => r.raw));
    expect(read.map((r) => r.EVENT_ID)).toEqual(rows.map((r) => (JSON.parse(r.body) as { EVENT_ID: string }).EVENT_ID));
  });

  it.each(formats)('$format/$compression: pages where every RAW is NULL', async ({ format, compression }) => {
    const rows = rowsWith([null]);
    const read = await readFiles([{ path: await encode(format, compression, rows, true), format }], exportColumns);
    expect(read.map((r) => r.RAW)).toEqual(rows.map(() => null));
  });

  it('csv: RAW is quoted as the dialect requires: `\\N` text quoted, NULL a bare \\N, CR quoted', async () => {
    const rows = [
      { body: bodies[0]!, raw: '\\N' },
      { body: bodies[1]!, raw: null },
      { body: bodies[2]!, raw: '{"a":1,\r"b":2}' },
      { body: bodies[3]!, raw: '' },
    ];
    const lines = text(await encode('csv', 'none', rows, true));
    expect(lines.split('\n')[0]!.endsWith(',EVENT_TYPE,RAW')).toBe(true);
    expect(lines).toContain(',user_login,"\\N"\n');
    expect(lines).toContain(',user_login,\\N\n');
    expect(lines).toContain(',user_login,"{""a"":1,\r""b"":2}"\n');
    expect(lines).toContain(',user_login,""\n');
    const read = await readFiles([{ path: join(work, `${counter - 1}-csv`), format: 'csv' }], exportColumns);
    expect(read.map((r) => r.RAW)).toEqual(['\\N', null, '{"a":1,\r"b":2}', '']);
  });
});

describe('Parquet RAW type', () => {
  it('is a BYTE_ARRAY string with the JSON logical type', async () => {
    const types = await parquetSchema(await encode('parquet', 'zstd', rowsWith(raws), true));
    expect(types.RAW).toEqual({ type: 'BYTE_ARRAY', converted: 'JSON', logical: 'JsonType()' });
    expect(Object.keys(types)).toEqual([...schema.columns.map((c) => c.name), 'RAW']);
  });

  it.each([
    ['an escaped unpaired surrogate (JSON, refused by DuckDB\'s JSON parser)', '{"s":"\\ud800"}'],
    ['text that is not JSON', '\\N'],
  ])('falls back to a UTF8 string for a batch holding %s, every RAW intact', async (_what, odd) => {
    const rows = rowsWith([...raws.slice(0, 3), odd]);
    const path = await encode('parquet', 'zstd', rows, true);
    const types = await parquetSchema(path);
    expect(types.RAW).toEqual({ type: 'BYTE_ARRAY', converted: 'UTF8', logical: null });
    expect(types.RAW).toEqual(types.ORGANIZATION_ID); // the schema's VARCHAR columns' type
    expect((await readFiles([{ path, format: 'parquet' }])).map((r) => r.RAW)).toEqual(rows.map((r) => r.raw));
  });
});

describe('Parquet row groups are bounded in bytes', () => {
  it.each<[string, number, number, number]>([
    ['rows of ~700 bytes keep 65,536 rows per group', 700 * 100_000, 100_000, rowGroupSize],
    ['rows of ~2,000 bytes (a raw record each) get fewer', 2_000 * 100_000, 100_000, 25_165],
    ['rows of 5 MB get DuckDB\'s minimum', 5e6 * 3_000, 3_000, 2_048],
    ['an empty batch', 0, 0, rowGroupSize],
  ])('%s', (_what, bytes, rows, expected) => {
    expect(rowsPerGroup(bytes, rows)).toBe(expected);
  });

  it('encodes 40,000 rows with 3,500-byte raw records under the exporter\'s 256 MB DuckDB limit', async () => {
    // In one row group (the fixed 65,536 rows of before), these ~165 MB of staged rows made DuckDB fail with "Out of Memory Error".
    const pad = 'x'.repeat(3_500);
    const rows = Array.from({ length: 40_000 }, (_, i) => ({ body: bodies[i % bodies.length]!, raw: `{"i":${i},"pad":"${pad}"}` }));
    const path = join(work, 'big.parquet');
    const result = await encoders.parquet.encode({ pages: pagesOf(rows, 5_000), includeRaw: true, outPath: path, compression: 'zstd' });
    expect(result.rows).toBe(40_000);
    const groups = await query(`SELECT row_group_id, any_value(row_group_num_rows) AS n FROM parquet_metadata('${path}') GROUP BY row_group_id ORDER BY row_group_id`);
    expect(groups.length).toBeGreaterThan(1);
    const check = await query(`SELECT count(*) AS n, count(DISTINCT RAW) AS d, min(length(RAW::VARCHAR)) AS lo FROM read_parquet('${path}')`);
    expect(check).toEqual([{ n: '40000', d: '40000', lo: String(`{"i":0,"pad":""}`.length + 3_500) }]);
  });
});

describe('"raw": false writes the files of before RAW, byte for byte', () => {
  const rows = rowsWith(raws);
  it.each<[Format, Compression, string]>([
    ['ndjson', 'none', 'rows.ndjson'],
    ['csv', 'none', 'raw-false.csv'],
    ['parquet', 'zstd', 'raw-false.parquet'],
  ])('%s/%s is __golden__/%s', async (format, compression, file) => {
    const got = readFileSync(await encode(format, compression, rows, false));
    if (update && file !== 'rows.ndjson') writeFileSync(golden(file), got);
    expect(got.equals(readFileSync(golden(file))), `${format} without RAW differs from __golden__/${file} (see its README)`).toBe(true);
  });

  it.each<[Format, string]>([
    ['ndjson', 'rows.ndjson'],
    ['csv', 'raw-false.csv'],
  ])('%s/gzip decompresses to __golden__/%s', async (format, file) => {
    expect(text(await encode(format, 'gzip', rows, false))).toBe(readFileSync(golden(file), 'utf8'));
  });

  it('parquet from stored lines (as the cycle gives pages without raw records) is the same file', async () => {
    // Pages of stored lines, with a page of rows between them (one with a raw record, one without).
    async function* mixed(): AsyncGenerator<ExportPage> {
      const lines = (from: number, to: number): ExportPage => ({ rows: to - from, lines: Buffer.from(bodies.slice(from, to).join('\n')) });
      yield lines(0, 1);
      yield [{ body: bodies[1]!, raw: raws[0]! }, { body: bodies[2]!, raw: null }];
      yield lines(3, bodies.length);
    }
    for (const includeRaw of [false, true]) {
      const fromRows = readFileSync(await encode('parquet', 'zstd', bodies.map((body, i) => ({ body, raw: includeRaw && i === 1 ? raws[0]! : null })), includeRaw));
      const path = join(work, `${counter++}-lines.parquet`);
      expect((await encoders.parquet.encode({ pages: mixed(), includeRaw, outPath: path, compression: 'zstd' })).rows).toBe(bodies.length);
      expect(readFileSync(path).equals(fromRows), `includeRaw ${includeRaw}`).toBe(true);
      if (!includeRaw) expect(readFileSync(path).equals(readFileSync(golden('raw-false.parquet')))).toBe(true);
    }
  });

  it('parquet: the schema\'s columns only, read back with their types', async () => {
    const path = await encode('parquet', 'snappy', rows, false);
    expect(Object.keys(await parquetSchema(path))).toEqual(schema.columns.map((c) => c.name));
    expect(await readFiles([{ path, format: 'parquet' }], schemaColumns)).toEqual(await readFiles([{ path: golden('rows.ndjson'), format: 'ndjson' }], schemaColumns));
  });
});
