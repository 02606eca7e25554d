/**
 * What a data object says it holds, in its metadata (S3: `x-amz-meta-logbarge-…`): the row count
 * and a SHA-256 over the batch's rows as the spool holds them — the canonical bodies in sequence
 * order, each followed by "\n" — not over the encoded bytes, which can differ between encoder
 * versions for the same rows; plus provenance (writer, spool, sequence range, format). An upload
 * that finds its key taken compares these to tell its own earlier attempt from another spool's
 * object (a restored or cloned spool plans the same key names for other rows).
 */
import { createHash } from 'node:crypto';
import type { ObjectMetadata } from '../store/store.js';
import type { Compression, Format } from './encoders/types.js';

/** Metadata names of a data object; docs/formats.md lists them. */
export const metadataNames = {
  rows: 'logbarge-rows',
  rowsSha256: 'logbarge-rows-sha256',
  writer: 'logbarge-writer',
  spool: 'logbarge-spool',
  seqFrom: 'logbarge-seq-from',
  seqTo: 'logbarge-seq-to',
  format: 'logbarge-format',
  compression: 'logbarge-compression',
} as const;

/** The rows of a batch, as the metadata identifies them. */
export interface RowsDigest {
  readonly rows: number;
  /** Hex SHA-256 over the canonical bodies in sequence order, each followed by "\n". */
  readonly sha256: string;
}

/** Hashes a batch's rows as they stream past; `digest()` once every row was added. */
export interface RowsHasher {
  /** Adds one row: its canonical body and its raw record (null when it has none). */
  add(body: string, raw?: string | null): void;
  /** Adds `rows` rows without raw records as their bodies joined by "\n" (StoredLines): the bytes add() would hash. */
  addLines(lines: Buffer, rows: number): void;
  digest(): RowsDigest;
}

/**
 * Creates a hasher over the rows as the spool holds them: each canonical body, then a tab and the
 * raw record when there is one, then a newline (for rows without raw records, the SHA-256 of an
 * uncompressed `"raw": false` NDJSON object of the batch).
 */
export function createRowsHasher(): RowsHasher {
  const hash = createHash('sha256');
  let rows = 0;
  let done: RowsDigest | undefined;
  return {
    add(body, raw) {
      if (done) throw new Error('hash rows: add after digest');
      hash.update(body, 'utf8');
      // A tab never occurs unescaped in JSON text, so it separates the two unambiguously; a row
      // without a raw record hashes exactly as before RAW existed.
      if (raw !== null && raw !== undefined) hash.update(`\t${raw}`, 'utf8');
      hash.update('\n');
      rows++;
    },
    addLines(lines, n) {
      if (done) throw new Error('hash rows: add after digest');
      hash.update(lines);
      hash.update('\n');
      rows += n;
    },
    digest() {
      done ??= { rows, sha256: hash.digest('hex') };
      return done;
    },
  };
}

/** What a data object's metadata is made of. */
export interface DataObjectFacts extends RowsDigest {
  readonly writerId: string;
  readonly spoolId: string;
  readonly seqFrom: number;
  readonly seqTo: number;
  readonly format: Format;
  readonly compression: Compression;
}

/** The metadata a data object is written with. */
export function dataObjectMetadata(facts: DataObjectFacts): ObjectMetadata {
  return {
    [metadataNames.rows]: String(facts.rows),
    [metadataNames.rowsSha256]: facts.sha256,
    [metadataNames.writer]: facts.writerId,
    [metadataNames.spool]: facts.spoolId,
    [metadataNames.seqFrom]: String(facts.seqFrom),
    [metadataNames.seqTo]: String(facts.seqTo),
    [metadataNames.format]: facts.format,
    [metadataNames.compression]: facts.compression,
  };
}

/**
 * How an existing object's metadata relates to a batch's rows: `same` (its rows and hash match:
 * an earlier attempt, or a copy of this spool, delivered these rows), `different` (it says it
 * holds other rows, or its logbarge metadata is malformed), `unknown` (it carries no row count or
 * hash: written by a logbarge that did not record them, or by another tool).
 */
export function compareRows(existing: ObjectMetadata, ours: RowsDigest): 'same' | 'different' | 'unknown' {
  const rows = existing[metadataNames.rows];
  const sha256 = existing[metadataNames.rowsSha256];
  if (rows === undefined && sha256 === undefined) return 'unknown';
  return rows === String(ours.rows) && sha256 === ours.sha256 ? 'same' : 'different';
}
