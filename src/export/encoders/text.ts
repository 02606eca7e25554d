/**
 * Text encoders: NDJSON (the canonical bodies, one per line, streamed out without re-parsing
 * when they are in the schema's form (see project.ts), with the RAW key spliced in before the
 * closing brace) and CSV (csv-stringify, header in schema order then RAW, the dialect in
 * docs/formats.md). Optional gzip. Each page is written as one large chunk, which keeps gzip
 * fast (see probe-results.md).
 */
import { createHash } from 'node:crypto';
import { createWriteStream, statSync } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PassThrough, Transform } from 'node:stream';
import { createGzip, constants as zlib } from 'node:zlib';
import { stringify } from 'csv-stringify/sync';
import { privateFileMode } from '../../modes.js';
import type { Schema } from '../../schema/schema.js';
import { createBodyProjector } from './project.js';
import { rawColumnName, rowsOf, type EncodeInput, type EncodeResult, type Encoder, type ExportRow } from './types.js';

/** SQL NULL in a CSV field: an unquoted `\N` (Hive's and Snowflake's default NULL marker). */
const csvNull = '\\N';

/** A string csv-stringify's object cast writes quoted although its own rules would not quote it. */
interface ForceQuoted {
  readonly literal: string;
}

/**
 * Marker for a real string `\N` in the data: csv-stringify's object cast writes it quoted,
 * `"\N"`, so it stays distinguishable from NULL. Rare, so the cast costs nothing in practice
 * (a regex matched against every field made encoding four times slower).
 */
const literalBackslashN: ForceQuoted = Object.freeze({ literal: '\\N' });

/**
 * csv-stringify options of the dialect (docs/formats.md): RFC 4180 quoting, `\N` for NULL, `""`
 * for the empty string. csv-stringify quotes a field holding `,`, `"` or the record delimiter LF;
 * a field holding CR or NUL reaches it wrapped as ForceQuoted (see `field` below).
 */
const csvOptions = {
  quoted_empty: true,
  record_delimiter: '\n',
  cast: {
    // Only ForceQuoted objects reach the cast: every other value is a string or a number.
    object: (value: Record<string, unknown>) => ({ value: (value as unknown as ForceQuoted).literal, quoted: true }),
  },
} as const;

/**
 * One canonical value as a csv-stringify field. With an explicit record delimiter csv-stringify
 * checks only that delimiter, but a bare CR ends a record for RFC 4180 readers (DuckDB's
 * read_csv refuses the whole file), so a value holding CR is quoted; so is one holding NUL.
 * Checked here with two `includes` rather than with csv-stringify's `quote_record_delimiter` and
 * `quoted_match` options, which made stringify about 30% slower in a micro-benchmark.
 */
function field(value: unknown): unknown {
  if (value === null || value === undefined) return csvNull;
  if (typeof value !== 'string') return value;
  if (value === csvNull) return literalBackslashN;
  return value.includes('\r') || value.includes('\0') ? { literal: value } : value;
}

/**
 * RAW as a CSV field, by the rules csv-stringify and `field` apply to the schema's columns: NULL
 * is a bare `\N`; the empty string, the text `\N`, and text holding `,` `"` CR LF or NUL are
 * enclosed in `"` with inner quotes doubled. Done here rather than by csv-stringify, whose
 * escaping of a long field full of quotes (a JSON text) made a 5,000-row page with ~900-byte raw
 * records take ~210 ms instead of ~40 ms.
 */
export function csvRawField(raw: string | null): string {
  if (raw === null) return csvNull;
  if (raw !== '' && raw !== csvNull && !/[",\n\r\0]/.test(raw)) return raw;
  return `"${raw.split('"').join('""')}"`;
}

async function writeText(input: EncodeInput, render: (page: readonly ExportRow[]) => string, header?: string): Promise<EncodeResult> {
  const file = createWriteStream(input.outPath, { mode: privateFileMode });
  // The file's bytes are hashed on their way to it (for digests), so nothing reads the file again.
  const hash = createHash('sha256');
  let sink: Writable = file;
  let done: Promise<void>;
  if (input.compression === 'gzip') {
    const source = new PassThrough({ highWaterMark: 1 << 20 });
    const tap = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        hash.update(chunk);
        callback(null, chunk);
      },
    });
    // Level 6 (zlib's default) balances size and the CPU the export steals from ingest.
    done = pipeline(source, createGzip({ level: zlib.Z_DEFAULT_COMPRESSION, chunkSize: 64 * 1024 }), tap, file, {
      signal: input.signal,
    });
    sink = source;
  } else {
    done = once(file, 'close').then(() => undefined);
  }
  // A write error (EPIPE from a closed pipe, ENOSPC) may reject `done` before it is awaited;
  // mark it handled now, the error still surfaces from `await done` or from the write below.
  done.catch(() => undefined);
  let rows = 0;
  const plain = input.compression !== 'gzip';
  const write = async (text: string): Promise<void> => {
    if (plain) hash.update(text, 'utf8'); // the file stream writes strings as UTF-8
    if (!sink.write(text)) await once(sink, 'drain');
  };
  try {
    if (header !== undefined) await write(header);
    for await (const stored of input.pages) {
      input.signal?.throwIfAborted();
      const page = rowsOf(stored);
      rows += page.length;
      await write(render(page));
    }
    sink.end();
    await done;
  } catch (err) {
    sink.destroy();
    file.destroy();
    throw err;
  }
  return { rows, bytes: statSync(input.outPath).size, sha256: hash.digest('hex') };
}

/** `,"RAW":…}`: what replaces a body's closing brace, the raw text as a JSON string (or null). */
function rawMember(raw: string | null): string {
  return `,${JSON.stringify(rawColumnName)}:${raw === null ? 'null' : JSON.stringify(raw)}}`;
}

/**
 * One NDJSON line's object: the stored canonical body, and with `includeRaw` the RAW key after
 * its last column. The body is a `{…}` object with at least one key, so RAW goes in by replacing
 * its closing brace; the body is not parsed.
 */
export function ndjsonLine(row: ExportRow, includeRaw: boolean): string {
  if (!includeRaw) return row.body;
  if (!row.body.endsWith('}')) throw new Error(`encode ndjson: a spooled body is not a JSON object: ${row.body.slice(0, 80)}`);
  return row.body.slice(0, -1) + rawMember(row.raw);
}

/**
 * NDJSON: one canonical object per line with exactly the schema's keys (a body already in that
 * form as stored), plus RAW unless the export says `"raw": false`.
 */
export function createNdjsonEncoder(schema: Schema): Encoder {
  const project = createBodyProjector(schema);
  return {
    format: 'ndjson',
    encode: (input) =>
      writeText(input, (page) => `${page.map((row) => ndjsonLine({ body: input.asStored ? row.body : project(row.body), raw: row.raw }, input.includeRaw)).join('\n')}\n`),
    close: async () => {},
  };
}

/** CSV: a header row of the schema's column names (then RAW), then one record per event. */
export function createCsvEncoder(schema: Schema): Encoder {
  const names = schema.columns.map((c) => c.name);
  const headers = {
    withRaw: stringify([[...names, rawColumnName]], csvOptions),
    withoutRaw: stringify([names], csvOptions),
  };
  const renderer = (includeRaw: boolean) => (page: readonly ExportRow[]): string => {
    const records = page.map((row) => {
      const event = JSON.parse(row.body) as Record<string, unknown>;
      return names.map((name) => field(event[name]));
    });
    if (!includeRaw) return stringify(records, csvOptions);
    // One record at a time (as fast as a whole page), so RAW can follow each record's last field.
    let out = '';
    records.forEach((record, i) => {
      out += `${stringify([record], csvOptions).slice(0, -1)},${csvRawField(page[i]!.raw)}\n`;
    });
    return out;
  };
  return {
    format: 'csv',
    encode: (input) => writeText(input, renderer(input.includeRaw), input.includeRaw ? headers.withRaw : headers.withoutRaw),
    close: async () => {},
  };
}
