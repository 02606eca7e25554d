/**
 * JSON paths of source mappings: dot-separated keys with array indexes, `actor.id`,
 * `target[0].type`, `target[-1].id` (negative counts from the end), and the `$envelope.` prefix for
 * the record an event was unwrapped from (`$envelope.time` of an EventBridge envelope). Keys hold
 * letters, digits, `_` and `-`; anything else is refused when the path is compiled.
 */
import { isJsonNumber } from '../schema/json-number.js';

/** One step of a compiled path. */
type Step = { readonly key: string } | { readonly index: number };

/** A compiled path. */
export interface JsonPath {
  /** The path as written. */
  readonly text: string;
  /** True when the path starts at the envelope (`$envelope.`). */
  readonly envelope: boolean;
  readonly steps: readonly Step[];
}

const stepPattern = /^([A-Za-z0-9_-]+)((?:\[-?\d+\])*)$/;

/** Compiles a path; throws an Error whose message says what is wrong with it. */
export function compilePath(text: string): JsonPath {
  let rest = text;
  let envelope = false;
  if (rest.startsWith('$envelope.')) {
    envelope = true;
    rest = rest.slice('$envelope.'.length);
  }
  if (rest === '') throw new Error(`path ${JSON.stringify(text)} is empty`);
  const steps: Step[] = [];
  for (const part of rest.split('.')) {
    const m = stepPattern.exec(part);
    if (!m) throw new Error(`path ${JSON.stringify(text)}: "${part}" is not a key (letters, digits, _ or -) with optional [N] indexes`);
    steps.push({ key: m[1]! });
    for (const idx of m[2]!.matchAll(/\[(-?\d+)\]/g)) steps.push({ index: Number(idx[1]) });
  }
  return { text, envelope, steps };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !isJsonNumber(value);
}

/** The value at `path` in `event` (or in `envelope` for `$envelope.` paths); undefined when absent. */
export function readPath(path: JsonPath, event: unknown, envelope: unknown): unknown {
  let value: unknown = path.envelope ? envelope : event;
  for (const step of path.steps) {
    if ('key' in step) {
      if (!isPlainObject(value) || !Object.hasOwn(value, step.key)) return undefined;
      value = value[step.key];
    } else {
      if (!Array.isArray(value)) return undefined;
      const i = step.index < 0 ? value.length + step.index : step.index;
      if (i < 0 || i >= value.length) return undefined;
      value = value[i];
    }
  }
  return value;
}
