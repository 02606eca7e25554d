/**
 * A JSON number kept as the text the sender wrote, for literals that a JavaScript number would
 * change: 64-bit ids (`1234567890123456789` would become …800), `1.0` (would become 1), `1e3`,
 * `-0`. Decoding produces it only for such literals; every other number stays a plain number.
 */
export class JsonNumber {
  /** The literal exactly as it appeared in the JSON text. */
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
  /** The nearest JavaScript number (what JSON.parse would have given). */
  get value(): number {
    return Number(this.text);
  }
}

/** True when a number literal survives JSON.parse unchanged (`String(Number(text)) === text`). */
export function isExactNumberLiteral(text: string): boolean {
  return String(Number(text)) === text;
}

/** True when `value` is a JsonNumber. */
export function isJsonNumber(value: unknown): value is JsonNumber {
  return value instanceof JsonNumber;
}

/**
 * JSON text of a decoded value, as JSON.stringify writes it except that a JsonNumber is written
 * as its exact literal: the same decoded record always gives the same text.
 */
export function stringifyJson(value: unknown): string {
  if (isJsonNumber(value)) return value.text;
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : stringifyJson(v))).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const parts: string[] = [];
    for (const [k, v] of Object.entries(value)) if (v !== undefined) parts.push(`${JSON.stringify(k)}:${stringifyJson(v)}`);
    return `{${parts.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
