/**
 * Body decoding: bytes and a content type → top-level records. JSON bodies hold one event or an
 * array of events; NDJSON bodies hold one event per line (blank lines ignored).
 */
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

/** Records found in a body, or the errors that make it unreadable. */
export type Decoded = { ok: true; records: unknown[] } | { ok: false; errors: RecordError[] };

function jsonError(err: unknown): string {
  return err instanceof RangeError ? 'nested too deeply' : (err as Error).message;
}

/** Splits and parses a text body. */
export function decodeBody(text: string, kind: BodyKind): Decoded {
  if (kind === 'json') {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      return { ok: false, errors: [{ index: 0, field: '(body)', message: `invalid JSON: ${jsonError(err)}` }] };
    }
    return { ok: true, records: Array.isArray(value) ? value : [value] };
  }
  const records: unknown[] = [];
  const errors: RecordError[] = [];
  let index = 0; // records seen (blank lines are not records)
  let line = 0; // physical line, for messages
  let start = 0;
  while (start <= text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    line++;
    const raw = text.slice(start, end).trim();
    if (raw !== '') {
      try {
        records.push(JSON.parse(raw));
      } catch (err) {
        errors.push({ index, field: '(record)', message: `line ${line}: invalid JSON: ${jsonError(err)}` });
      }
      index++;
    }
    start = end + 1;
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, records };
}
