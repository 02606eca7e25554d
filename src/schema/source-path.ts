/**
 * The JSON paths a schema column names per source profile (`sources` in a schema file): keys
 * separated by dots, each optionally followed by array indexes, `[N]` counting from 0 and `[-1]`
 * for the last element, e.g. `client.geographicalContext.city`, `target[-1].id`. A key holds
 * letters, digits, `_` and `-`. The profiles in src/sources/ read values at these paths; this
 * module only checks the syntax, so a bad path is refused when the schema loads.
 */

/** One column's source in one profile: a path, or `{ path, json: true }` for the value as JSON text. */
export type SourcePath = string | { readonly path: string; readonly json?: boolean | undefined };

/** One step of a parsed path: an object key or an array index (-1 is the last element). */
export type PathStep = { readonly key: string } | { readonly index: number };

const stepPattern = /^([A-Za-z0-9_-]+)((?:\[(?:0|[1-9][0-9]*|-1)\])*)$/;

/** The path text of a source, whichever form it is written in. */
export function sourcePathText(source: SourcePath): string {
  return typeof source === 'string' ? source : source.path;
}

/** Parses a path; throws an Error whose message says which part is wrong and why. */
export function parseSourcePath(text: string): PathStep[] {
  if (text === '') throw new Error('path is empty');
  const steps: PathStep[] = [];
  for (const part of text.split('.')) {
    const m = stepPattern.exec(part);
    if (!m) {
      throw new Error(
        `path ${JSON.stringify(text)}: ${part === '' ? 'an empty key' : JSON.stringify(part)} is not a key (letters, digits, _ or -) with optional [N] or [-1] indexes`,
      );
    }
    steps.push({ key: m[1]! });
    for (const index of m[2]!.matchAll(/\[(-?[0-9]+)\]/g)) steps.push({ index: Number(index[1]) });
  }
  return steps;
}
