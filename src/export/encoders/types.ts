/**
 * The encoder contract: spooled rows (the canonical body, JSON text in schema key order, and the
 * record as sent) in, one staged file out. Encoders own their compression; the cycle owns where
 * the file goes.
 */

/** Output formats. */
export type Format = 'ndjson' | 'csv' | 'parquet';

/** Compression codecs (none|gzip for text, snappy|zstd|gzip for Parquet). */
export type Compression = 'none' | 'gzip' | 'snappy' | 'zstd';

/** Name of the column written after the schema's columns (defined with the schema, which refuses it as a column name). */
export { rawColumnName } from '../../schema/schema.js';

/** One spooled event as an encoder reads it. */
export interface ExportRow {
  /** The canonical JSON object, keys in schema order. */
  readonly body: string;
  /** The record as the sender sent it (JSON text), or null when the typed columns hold all of it. */
  readonly raw: string | null;
}

/**
 * A run of spooled rows none of which carries a raw record, as the spool holds them: their
 * canonical bodies in sequence order, joined by "\n" (UTF-8, no newline after the last). Bodies
 * are JSON text, so a newline only ever separates two of them. The bodies are not projected onto
 * the exporting schema (see project.ts). Only an encoder that says `takesStoredLines` gets them.
 */
export interface StoredLines {
  readonly rows: number;
  readonly lines: Buffer;
}

/** A page of a batch: rows, or (for an encoder that takes them) stored lines. */
export type ExportPage = readonly ExportRow[] | StoredLines;

/** The rows of a page (stored lines split at their newlines, with no raw records). */
export function rowsOf(page: ExportPage): readonly ExportRow[] {
  if (!('lines' in page)) return page;
  return page.lines.toString('utf8').split('\n').map((body) => ({ body, raw: null }));
}

/** Input of one encode: the batch's rows, page by page, and where to write. */
export interface EncodeInput {
  /** Pages of spooled rows, in sequence order (StoredLines only for an encoder that takes them). */
  readonly pages: AsyncIterable<ExportPage>;
  /** Write the RAW column after the schema's columns (the export's `raw` option). */
  readonly includeRaw: boolean;
  /**
   * Write each body exactly as stored, not projected onto the schema (quarantine lines, which are
   * `{received_at, source, errors, record}` objects, not events). NDJSON only.
   */
  readonly asStored?: boolean;
  /** Path of the staged file to create (its directory exists). */
  readonly outPath: string;
  readonly compression: Compression;
  readonly signal?: AbortSignal;
}

/** What an encode produced. */
export interface EncodeResult {
  readonly rows: number;
  /** Size of the staged file in bytes. */
  readonly bytes: number;
  /**
   * Hex SHA-256 of the staged file's bytes, when the encoder hashed them as it wrote them (the
   * text encoders); undefined for Parquet, whose file DuckDB writes.
   */
  readonly sha256?: string;
  /** Where the time went, in ms, for the per-batch debug log (e.g. `{ stage: 410, copy: 380 }`). */
  readonly timings?: Readonly<Record<string, number>>;
}

/** Encodes a batch to a staged file. */
export interface Encoder {
  readonly format: Format;
  /**
   * True when the encoder reads the bodies itself with explicit columns (Parquet: DuckDB), so the
   * cycle may give it StoredLines, read without a JavaScript string per row.
   */
  readonly takesStoredLines?: boolean;
  encode(input: EncodeInput): Promise<EncodeResult>;
  /** Releases resources (DuckDB instance). */
  close(): Promise<void>;
}

/** Lowercase object-name extension of a format + compression (`.ndjson.gz`, `.parquet`). */
export function extensionOf(format: Format, compression: Compression): string {
  if (format === 'parquet') return '.parquet';
  return compression === 'gzip' ? `.${format}.gz` : `.${format}`;
}

/** Content-Type and Content-Encoding of an object. */
export function contentTypeOf(format: Format, compression: Compression): { contentType: string; contentEncoding?: string } {
  const gz = compression === 'gzip' && format !== 'parquet' ? { contentEncoding: 'gzip' } : {};
  switch (format) {
    case 'parquet':
      return { contentType: 'application/vnd.apache.parquet' };
    case 'csv':
      return { contentType: 'text/csv; charset=utf-8; header=present', ...gz };
    case 'ndjson':
      return { contentType: 'application/x-ndjson', ...gz };
  }
}
