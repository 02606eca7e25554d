/**
 * Finds a key that appears twice in one JSON object, a `__proto__` key, or nesting deeper than
 * any event needs. JSON.parse silently keeps the last value,
 * so `{"EVENT_ID":"a","EVENT_ID":"b"}` would be stored as "b" — ambiguous input that two
 * parsers may read differently. The scan runs on text JSON.parse already accepted, so it can
 * assume valid JSON and only track object keys (and number literals).
 */
import { isExactNumberLiteral } from '../schema/json-number.js';

/** A structural problem and the top-level record it was found in. */
export type StructureProblem =
  | {
      readonly kind: 'duplicate' | 'forbidden';
      /** Index of the top-level array element (0 for a non-array document). */
      readonly record: number;
      /** The key, decoded. */
      readonly key: string;
    }
  | { readonly kind: 'depth'; readonly record: number; readonly depth: number };

/** Keys refused anywhere in a document: `__proto__` is a prototype-pollution probe, never data. */
const forbiddenKeys = new Set(['__proto__']);

/** Deepest nesting accepted: audit events are flat; Okta events nest 4 levels. */
export const maxJsonDepth = 32;

export const QUOTE = 0x22;
export const BACKSLASH = 0x5c;
export const OPEN_OBJECT = 0x7b;
export const CLOSE_OBJECT = 0x7d;
export const OPEN_ARRAY = 0x5b;
export const CLOSE_ARRAY = 0x5d;
const COLON = 0x3a;

/** Index just past the closing quote of the string starting at `start` (an opening quote). */
function stringEnd(text: string, start: number): number {
  let i = start + 1;
  for (;;) {
    const q = text.indexOf('"', i);
    if (q === -1) return text.length;
    let backslashes = 0;
    for (let j = q - 1; j > start && text.charCodeAt(j) === BACKSLASH; j--) backslashes++;
    if (backslashes % 2 === 0) return q + 1;
    i = q + 1;
  }
}

/** Returns the first duplicated key, or nesting deeper than `maxDepth`, in valid JSON `text`. */
export function scanJsonStructure(text: string, maxDepth = maxJsonDepth): StructureProblem | undefined {
  return scanJson(text, maxDepth).problem;
}

/** What one pass over valid JSON text found. */
export interface JsonScan {
  /** The first structural problem, if any. */
  readonly problem: StructureProblem | undefined;
  /** True when some number literal would change as a JavaScript number (64-bit ids, `1.0`, `1e3`). */
  readonly inexactNumbers: boolean;
}

/** True for the characters a JSON number literal is made of. */
function isNumberChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2b || c === 0x2e || c === 0x65 || c === 0x45;
}

/** One pass over valid JSON `text`: structural problems (see scanJsonStructure) and inexact number literals. */
export function scanJson(text: string, maxDepth = maxJsonDepth): JsonScan {
  let inexactNumbers = false;
  const problem = (found: StructureProblem): JsonScan => ({ problem: found, inexactNumbers });
  // One frame per open container: a Set of keys for objects, null for arrays.
  const stack: (Set<string> | null)[] = [];
  let record = 0;
  const topIsArray = (): boolean => stack.length === 1 && stack[0] === null;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = stringEnd(text, i);
      const frame = stack[stack.length - 1];
      if (frame) {
        // In an object, a string followed by a colon is a key.
        let k = end;
        while (k < text.length && text.charCodeAt(k) <= 0x20) k++;
        if (text.charCodeAt(k) === COLON) {
          const raw = text.slice(i + 1, end - 1);
          const key = raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw;
          if (forbiddenKeys.has(key)) return problem({ kind: 'forbidden', record, key });
          if (frame.has(key)) return problem({ kind: 'duplicate', record, key });
          frame.add(key);
        }
      }
      i = end - 1;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      stack.push(c === OPEN_OBJECT ? new Set() : null);
      if (stack.length > maxDepth) return problem({ kind: 'depth', record, depth: stack.length });
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      stack.pop();
    } else if (c === 0x2c && topIsArray()) {
      record++; // a comma directly inside the top-level array separates records
    } else if ((c >= 0x30 && c <= 0x39) || c === 0x2d) {
      let end = i + 1;
      while (end < text.length && isNumberChar(text.charCodeAt(end))) end++;
      if (!inexactNumbers && !isExactNumberLiteral(text.slice(i, end))) inexactNumbers = true;
      i = end - 1;
    }
  }
  return { problem: undefined, inexactNumbers };
}
