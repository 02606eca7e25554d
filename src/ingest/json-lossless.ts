/**
 * A JSON parser for the rare body whose number literals JSON.parse would change (see
 * json-structure.ts scanJson): the same values as JSON.parse, except that such literals become
 * JsonNumber objects holding the sender's exact text. It runs only on text that JSON.parse has
 * already accepted and the structure scan has passed, so it assumes valid JSON.
 */
import { isExactNumberLiteral, JsonNumber } from '../schema/json-number.js';

/** Parses valid JSON `text`, keeping inexact number literals as JsonNumber. */
export function parseJsonLossless(text: string): unknown {
  let i = 0;
  const skip = (): void => {
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return;
      i++;
    }
  };
  const string = (): string => {
    const start = i;
    i++;
    for (;;) {
      const q = text.indexOf('"', i);
      let backslashes = 0;
      for (let j = q - 1; j > start && text.charCodeAt(j) === 0x5c; j--) backslashes++;
      i = q + 1;
      if (backslashes % 2 === 0) break;
    }
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (): unknown => {
    skip();
    const c = text[i];
    if (c === '{') {
      i++;
      const out: Record<string, unknown> = {};
      skip();
      if (text[i] === '}') {
        i++;
        return out;
      }
      for (;;) {
        skip();
        const key = string();
        skip();
        i++; // ':'
        out[key] = value();
        skip();
        if (text[i++] === '}') return out;
      }
    }
    if (c === '[') {
      i++;
      const out: unknown[] = [];
      skip();
      if (text[i] === ']') {
        i++;
        return out;
      }
      for (;;) {
        out.push(value());
        skip();
        if (text[i++] === ']') return out;
      }
    }
    if (c === '"') return string();
    if (text.startsWith('true', i)) {
      i += 4;
      return true;
    }
    if (text.startsWith('false', i)) {
      i += 5;
      return false;
    }
    if (text.startsWith('null', i)) {
      i += 4;
      return null;
    }
    const start = i;
    while (i < text.length && /[0-9eE+.-]/.test(text[i]!)) i++;
    const literal = text.slice(start, i);
    return isExactNumberLiteral(literal) ? Number(literal) : new JsonNumber(literal);
  };
  return value();
}
