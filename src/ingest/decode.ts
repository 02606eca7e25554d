/**
 * Body decoding: bytes and a content type → top-level records. JSON bodies hold one event or an
 * array of events; NDJSON bodies hold one event per line (blank lines ignored).
 */
import { parseJsonLossless } from './json-lossless.js';
import { isExactNumberLiteral, JsonNumber } from '../schema/json-number.js';
import { scanJson, maxJsonDepth } from './json-structure.js';
import type { RecordError } from './prepare.js';

/** How a body is framed. */
export type BodyKind = 'json' | 'ndjson';

const jsonTypes = new Set(['application/json']);
const ndjsonTypes = new Set([
  'application/x-ndjson',
  'application/ndjson',
  'application/jsonl',
  'application/x-jsonlines',
  'application/jsonlines',
]);

/** Content types accepted by POST /v1/events, for error messages. */
export const acceptedContentTypes = ['application/json', ...ndjsonTypes];

/** Parses a Content-Type header to a body kind; undefined when unsupported (415). */
export function bodyKind(contentType: string | undefined): BodyKind | undefined {
  if (!contentType) return undefined;
  const [type, ...params] = contentType.split(';').map((p) => p.trim().toLowerCase());
  for (const param of params) {
    const [name, raw] = param.split('=').map((p) => p.trim());
    const value = raw?.replace(/^"(.*)"$/, '$1');
    if (name === 'charset' && value !== 'utf-8' && value !== 'utf8') return undefined;
  }
  if (type === undefined) return undefined;
  if (jsonTypes.has(type)) return 'json';
  if (ndjsonTypes.has(type)) return 'ndjson';
  return undefined;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** Decodes UTF-8 strictly; undefined when the bytes are not valid UTF-8. */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** A top-level record of a body that is not JSON: its text and why. */
export interface Unreadable {
  readonly index: number;
  readonly text: string;
  readonly message: string;
}

/**
 * Records found in a body, or the errors that make it unreadable. A failure also carries what
 * could be read, so a quarantine source can keep every record: `readable` (with positions) and
 * `unreadable` (text and why).
 */
export type Decoded =
  | { ok: true; records: unknown[] }
  | { ok: false; errors: RecordError[]; readable: { index: number; value: unknown }[]; unreadable: Unreadable[] };

function jsonError(err: unknown): string {
  return err instanceof RangeError ? 'nested too deeply' : (err as Error).message;
}

/** A parsed JSON document, or why it is refused (`record` is the top-level array index of a duplicate key). */
export type ParsedJson = { ok: true; value: unknown } | { ok: false; field: string; message: string; record: number };

/**
 * JSON.parse plus the checks JSON.parse skips: a key given twice in one object is refused
 * rather than silently resolved to its last value. A number literal that a JavaScript number
 * would change (a 64-bit id, `1.0`) is kept as a JsonNumber with its exact text.
 */
export function parseJson(text: string, maxDepth = maxJsonDepth): ParsedJson {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, field: '(body)', message: `invalid JSON: ${jsonError(err)}`, record: 0 };
  }
  if (value !== null && typeof value === 'object') {
    const scan = scanJson(text, maxDepth);
    const problem = scan.problem;
    if (problem?.kind === 'depth') {
      return { ok: false, field: '(record)', message: `is nested ${problem.depth} levels deep, more than the limit of ${maxJsonDepth}`, record: problem.record };
    }
    if (problem) {
      const message = problem.kind === 'duplicate' ? 'appears twice in one JSON object' : 'is not allowed as a key';
      return { ok: false, field: problem.key.slice(0, 100), message, record: problem.record };
    }
    if (scan.inexactNumbers) return { ok: true, value: parseJsonLossless(text) };
  } else if (typeof value === 'number' && !isExactNumberLiteral(text.trim())) {
    // A document that is one number (an element of a JSON array parsed alone, an NDJSON line):
    // kept digit for digit, as inside an object or array.
    return { ok: true, value: new JsonNumber(text.trim()) };
  }
  return { ok: true, value };
}

/** Splits and parses a text body. */
export function decodeBody(text: string, kind: BodyKind): Decoded {
  if (kind === 'json') {
    const parsed = parseJson(text);
    if (!parsed.ok) {
      return {
        ok: false,
        errors: [{ index: parsed.record, field: parsed.field, message: parsed.message }],
        readable: [],
        unreadable: [{ index: 0, text, message: `${parsed.field}: ${parsed.message}` }],
      };
    }
    return { ok: true, records: Array.isArray(parsed.value) ? parsed.value : [parsed.value] };
  }
  const out = emptyNdjson();
  decodeNdjsonSlice(text, { from: 0, to: text.length, at: { index: 0, line: 0 }, out });
  return ndjsonResult(out);
}

/** What NDJSON decoding has collected so far. */
export interface NdjsonParts {
  readonly records: unknown[];
  readonly errors: RecordError[];
  readonly readable: { index: number; value: unknown }[];
  readonly unreadable: Unreadable[];
}

/** Where NDJSON decoding stands: records seen (blank lines are not records) and physical lines passed. */
export interface NdjsonPosition {
  readonly index: number;
  readonly line: number;
}

/** Nothing collected yet. */
export function emptyNdjson(): NdjsonParts {
  return { records: [], errors: [], readable: [], unreadable: [] };
}

/** The decode result of everything collected. */
export function ndjsonResult(out: NdjsonParts): Decoded {
  const { records, errors, readable, unreadable } = out;
  return errors.length > 0 ? { ok: false, errors, readable, unreadable } : { ok: true, records };
}

/**
 * Decodes the NDJSON lines of `text` that start in [from, to] into `out` (`to` is the position
 * of a newline or text.length; the line ending there is the slice's last), numbering records and
 * lines on from `at`; returns where the next slice starts numbering.
 */
export function decodeNdjsonSlice(text: string, slice: { from: number; to: number; at: NdjsonPosition; out: NdjsonParts }): NdjsonPosition {
  const { records, errors, readable, unreadable } = slice.out;
  let { index, line } = slice.at;
  let start = slice.from;
  while (start <= slice.to) {
    let end = text.indexOf('\n', start);
    if (end === -1 || end > slice.to) end = slice.to;
    line++;
    const raw = text.slice(start, end).trim();
    if (raw !== '') {
      const parsed = parseJson(raw);
      if (parsed.ok) {
        records.push(parsed.value);
        readable.push({ index, value: parsed.value });
      } else {
        const field = parsed.field === '(body)' ? '(record)' : parsed.field;
        errors.push({ index, field, message: `line ${line}: ${parsed.message}` });
        unreadable.push({ index, text: raw, message: `line ${line}: ${field}: ${parsed.message}` });
      }
      index++;
    }
    start = end + 1;
  }
  return { index, line };
}
