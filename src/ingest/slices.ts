/**
 * Large bodies in slices: NDJSON decoding and record preparation (mapping, validation) of a
 * multi-megabyte body run in slices, scheduled with the slices of every other large request by
 * turns.ts (a time budget per turn of the event loop), so other requests, /healthz and the
 * exporter are served meanwhile. The outcome is exactly that of the
 * one-pass functions (same records, same errors with the same index and line, same rows), so a
 * request stays all-or-nothing: its rows reach the spool only after every slice passed. Small
 * bodies take the one-pass path.
 */
import { inTurn } from './turns.js';
import { decodeBody, decodeNdjsonSlice, emptyNdjson, ndjsonResult, parseJson, type BodyKind, type Decoded } from './decode.js';
import { BACKSLASH, CLOSE_ARRAY, CLOSE_OBJECT, maxJsonDepth, OPEN_ARRAY, OPEN_OBJECT, QUOTE } from './json-structure.js';
import { maxErrors, type Arrival, type Prepared, type Preparer } from './prepare.js';

/**
 * NDJSON text decoded in one slice, in UTF-16 units. Measured on a 5 MB body of bench events on a
 * loaded 2-core machine: 170-250 ms to decode in one pass (about 40 ms per MB), so a 32 K slice
 * takes about 1.3 ms.
 */
export const defaultSliceChars = 32 * 1024;
/**
 * Records prepared (mapped and validated) in one slice. Measured as above: 0.95-1.4 s for the
 * body's 13,838 events (about 75 µs each), so 50 records take about 4 ms.
 */
export const defaultSliceRecords = 50;

/** A body up to this many UTF-16 units is decoded in one pass (most requests: no scheduling). */
export const onePassChars = 128 * 1024;
/** Up to this many records are prepared in one pass. */
export const onePassRecords = 200;

/** Options of the sliced functions (tests use small slices; the one-pass bounds default to the slice sizes then). */
export interface SliceOptions {
  readonly sliceChars?: number;
  readonly sliceRecords?: number;
}

/**
 * decodeBody, with a body longer than onePassChars decoded in slices scheduled by turns.ts:
 * NDJSON a slice of whole lines at a time, a JSON array an element at a time (a JSON body that is
 * one object, or is refused, is parsed in one pass).
 */
export async function decodeBodySliced(text: string, kind: BodyKind, options: SliceOptions = {}): Promise<Decoded> {
  const sliceChars = options.sliceChars ?? defaultSliceChars;
  if (text.length <= (options.sliceChars ?? onePassChars)) return decodeBody(text, kind);
  if (kind === 'json') return (await decodeJsonArraySliced(text, sliceChars)) ?? decodeBody(text, kind);
  const out = emptyNdjson();
  let at = { index: 0, line: 0 };
  let from = 0;
  for (;;) {
    let to = from + sliceChars >= text.length ? -1 : text.indexOf('\n', from + sliceChars);
    if (to === -1) to = text.length;
    const slice = { from, to, at, out };
    at = await inTurn(() => decodeNdjsonSlice(text, slice));
    if (to >= text.length) return ndjsonResult(out);
    from = to + 1;
  }
}

const COMMA = 0x2c;

/** True for JSON's insignificant whitespace. */
function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/**
 * The records of a large JSON array body, found and parsed in slices: the top-level elements are
 * delimited by a scan (strings, escapes and nesting tracked) and each is parsed alone, as
 * parseJson parses the whole body (duplicate keys, depth one less than the limit since it sits in
 * the array, exact numbers). Undefined when the body is not a top-level array or anything in it is
 * refused: the caller then parses it in one pass, so every error message (and its position) is
 * exactly the one-pass answer.
 */
export async function decodeJsonArraySliced(text: string, sliceChars: number): Promise<Decoded | undefined> {
  let i = 0;
  while (i < text.length && isSpace(text.charCodeAt(i))) i++;
  if (text.charCodeAt(i) !== OPEN_ARRAY) return undefined;
  // Element bounds [start, end) in the text, from a resumable scan.
  const bounds: number[] = [];
  let start = i + 1;
  let depth = 0;
  let closed = -1;
  let pos = i + 1;
  while (closed < 0 && pos < text.length) {
    const stop = Math.min(text.length, pos + sliceChars);
    pos = await inTurn(() => {
      let p = pos;
      for (; p < stop; p++) {
        const c = text.charCodeAt(p);
        if (c === QUOTE) {
          // Skip the string: the next quote not escaped by an odd run of backslashes.
          for (p++; p < text.length; p++) {
            const d = text.charCodeAt(p);
            if (d === BACKSLASH) p++;
            else if (d === QUOTE) break;
          }
        } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
          depth++;
        } else if (c === CLOSE_OBJECT || (c === CLOSE_ARRAY && depth > 0)) {
          depth--;
        } else if (depth === 0 && (c === COMMA || c === CLOSE_ARRAY)) {
          bounds.push(start, p);
          start = p + 1;
          if (c === CLOSE_ARRAY) {
            closed = p;
            return p + 1;
          }
        }
      }
      return p;
    });
  }
  if (closed < 0) return undefined;
  for (let j = closed + 1; j < text.length; j++) if (!isSpace(text.charCodeAt(j))) return undefined;
  // `[]` and `[ ]`: one empty bound, no record.
  if (bounds.length === 2) {
    let empty = true;
    for (let j = bounds[0]!; j < bounds[1]! && empty; j++) empty = isSpace(text.charCodeAt(j));
    if (empty) return { ok: true, records: [] };
  }
  const records: unknown[] = [];
  let failed = false;
  for (let k = 0; k < bounds.length && !failed; ) {
    const from = k;
    failed = await inTurn(() => {
      let chars = 0;
      for (; k < bounds.length && (k === from || chars < sliceChars); k += 2) {
        const element = text.slice(bounds[k]!, bounds[k + 1]!);
        chars += element.length;
        const parsed = parseJson(element, maxJsonDepth - 1);
        if (!parsed.ok) return true;
        records.push(parsed.value);
      }
      return false;
    });
  }
  return failed ? undefined : { ok: true, records };
}

/** preparer.prepare over every record; more than onePassRecords in slices of sliceRecords, scheduled by turns.ts. */
export async function prepareSliced(preparer: Preparer, records: readonly unknown[], arrival: Arrival, options: SliceOptions = {}): Promise<Prepared> {
  const sliceRecords = options.sliceRecords ?? defaultSliceRecords;
  // One receive time for every slice, as in one pass.
  const fixed: Arrival = { ...arrival, receivedAt: arrival.receivedAt ?? Date.now() };
  if (records.length <= (options.sliceRecords ?? onePassRecords)) return preparer.prepare(records, 0, fixed);
  const parts: Prepared[] = [];
  for (let i = 0; i < records.length; i += sliceRecords) {
    parts.push(await inTurn(() => preparer.prepare(records.slice(i, i + sliceRecords), i, fixed)));
  }
  return mergePrepared(parts);
}

/** The Prepared of consecutive slices as one pass over all of them would have made it. */
export function mergePrepared(parts: readonly Prepared[]): Prepared {
  let errorCount = 0;
  let unknownEventTypes = 0;
  const errors: Prepared['errors'] = [];
  const unknownFields = new Map<string, number>();
  for (const part of parts) {
    errorCount += part.errorCount;
    unknownEventTypes += part.unknownEventTypes;
    for (const e of part.errors) if (errors.length < maxErrors) errors.push(e);
    for (const [key, n] of part.unknownFields) unknownFields.set(key, (unknownFields.get(key) ?? 0) + n);
  }
  if (errorCount > 0) {
    return { rows: [], rowShapes: [], quarantineRows: 0, quarantined: [], errors, errorCount, unknownEventTypes, unknownFields };
  }
  // Each part holds its events first and its quarantine rows last; one pass puts all events first.
  const rows: Prepared['rows'] = [];
  const rowShapes: Prepared['rowShapes'] = [];
  const quarantineRows: Prepared['rows'] = [];
  const quarantineShapes: Prepared['rowShapes'] = [];
  for (const part of parts) {
    const events = part.rows.length - part.quarantineRows;
    rows.push(...part.rows.slice(0, events));
    rowShapes.push(...part.rowShapes.slice(0, events));
    quarantineRows.push(...part.rows.slice(events));
    quarantineShapes.push(...part.rowShapes.slice(events));
  }
  return {
    rows: [...rows, ...quarantineRows],
    rowShapes: [...rowShapes, ...quarantineShapes],
    quarantineRows: quarantineRows.length,
    quarantined: parts.flatMap((p) => p.quarantined),
    errors,
    errorCount,
    unknownEventTypes,
    unknownFields,
  };
}
