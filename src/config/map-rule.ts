/**
 * The rules of a source's `map` in the config (column ← JSON path, constant, derived value, or a
 * condition), with errors that name the key that is wrong. src/sources/compile.ts compiles them.
 */
import { z } from 'zod';

/** The derived values a map rule may name (src/sources/profile.ts, Derivation). */
const mapDerivations = ['contentId', 'receivedAt', 'sourceOrg', 'sourceEventType'] as const;

/** One rule of a source's `map` as the config holds it; src/sources/profile.ts (Rule) has the same shape. */
export type MapRule =
  | string
  | { path: string; json?: boolean; capture?: string; map?: Record<string, string>; nullIf?: string[] }
  | { const: string | number }
  | { derive: (typeof mapDerivations)[number] }
  | { when: Record<string, string>; then: string };

/** The keys each kind of rule object takes, its kind key first. */
const mapRuleKeys = {
  path: ['path', 'json', 'capture', 'map', 'nullIf'],
  const: ['const'],
  derive: ['derive'],
  when: ['when', 'then'],
} as const;

/** A value for an error message, cut to 60 characters so that one long value cannot flood it. */
const shown = (value: unknown): string => {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
};
/** True for a JSON object whose values are all strings. */
const isStringRecord = (value: unknown): value is Record<string, string> =>
  value !== null && typeof value === 'object' && !Array.isArray(value) && Object.values(value).every((v) => typeof v === 'string');

/**
 * Why `rule` is not a map rule, naming the key that is wrong; undefined when it is one. A path's
 * syntax is checked when the sources are compiled (src/sources/compile.ts).
 */
function mapRuleProblem(rule: unknown): string | undefined {
  if (typeof rule === 'string') return rule === '' ? 'a JSON path must not be empty' : undefined;
  if (rule === null || typeof rule !== 'object' || Array.isArray(rule)) return `must be a JSON path, a rule object, or a list of them (got ${shown(rule)})`;
  const fields = rule as Record<string, unknown>;
  const keys = Object.keys(fields);
  const kinds = (Object.keys(mapRuleKeys) as (keyof typeof mapRuleKeys)[]).filter((k) => Object.hasOwn(fields, k));
  if (kinds.length === 0) {
    return `is not a rule (keys: ${keys.join(', ') || 'none'}); give a JSON path, or an object with path, const, derive, or when and then`;
  }
  if (kinds.length > 1) return `has ${kinds.join(' and ')}; a rule has one of path, const, derive, or when and then`;
  const kind = kinds[0]!;
  const allowed: readonly string[] = mapRuleKeys[kind];
  const unknown = keys.filter((k) => !allowed.includes(k));
  if (unknown.length > 0) return `unknown key ${unknown.join(', ')} in a ${kind} rule (it takes ${allowed.join(', ')})`;
  switch (kind) {
    case 'path':
      if (typeof fields.path !== 'string' || fields.path === '') return `path must be a non-empty string (got ${shown(fields.path)})`;
      if (fields.json !== undefined && typeof fields.json !== 'boolean') return `json must be true or false (got ${shown(fields.json)})`;
      if (fields.capture !== undefined && typeof fields.capture !== 'string') return `capture must be a regular expression as a string (got ${shown(fields.capture)})`;
      if (fields.map !== undefined && !isStringRecord(fields.map)) return `map must be an object of strings, value sent → value stored (got ${shown(fields.map)})`;
      if (fields.nullIf !== undefined && !(Array.isArray(fields.nullIf) && fields.nullIf.every((v) => typeof v === 'string'))) {
        return `nullIf must be a list of strings (got ${shown(fields.nullIf)})`;
      }
      return undefined;
    case 'const':
      return typeof fields.const === 'string' || typeof fields.const === 'number' ? undefined : `const must be a string or a number (got ${shown(fields.const)})`;
    case 'derive':
      return (mapDerivations as readonly unknown[]).includes(fields.derive) ? undefined : `derive must be one of ${mapDerivations.join(', ')} (got ${shown(fields.derive)})`;
    case 'when':
      if (!isStringRecord(fields.when)) return `when must be an object of JSON path → string (got ${shown(fields.when)})`;
      return typeof fields.then === 'string' ? undefined : 'when needs then, the value to give (a string)';
  }
}

/**
 * The value of one column in a source's `map`: one rule or a list of them, checked by
 * mapRuleProblem so that an error names the wrong key (`sources.billing.map.EVENT_ID[1]: derive
 * must be one of …`), where a zod union of the five forms would only say "Invalid input".
 */
export const mapValueSchema = z.custom<MapRule | MapRule[]>().superRefine((value, ctx) => {
  if (!Array.isArray(value)) {
    const problem = mapRuleProblem(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
    return;
  }
  if (value.length === 0) ctx.addIssue({ code: 'custom', message: 'must list at least one rule' });
  value.forEach((rule, i) => {
    const problem = Array.isArray(rule) ? 'a list of rules cannot hold another list' : mapRuleProblem(rule);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', path: [i], message: problem });
  });
});
