/**
 * Compiles the config's `sources` into profiles: a source with a `map` gets a profile of its own,
 * `source:<name>`, whose rules come before those of the profile it names, in the same form as
 * the built-ins. Errors name the config key (`sources.billing.map.EVENT_TIM`).
 */
import type { Schema } from '../schema/schema.js';
import { builtinProfiles } from './builtins.js';
import { compileRule, ruleList, type Profile, type Rule } from './profile.js';

/** A source as the config gives it (the part profiles need). */
export interface SourceSpec {
  readonly profile: string;
  readonly onInvalid: 'reject' | 'quarantine' | null;
  readonly apiKeyHeader: string | null;
  readonly map: Readonly<Record<string, string | Rule | readonly (string | Rule)[]>>;
}

/** A source's resolved profile and policies. */
export interface CompiledSource {
  readonly name: string;
  /** The profile its records are mapped with (`source:<name>` when it has a map). */
  readonly profile: string;
  readonly onInvalid: 'reject' | 'quarantine';
  /** The header its keys are read from (lowercase). */
  readonly apiKeyHeader: string;
  /** The status of a stored delivery when not 202 with counts (Okta event hooks: 204, empty). */
  readonly acceptedStatus?: 204;
}

/** Every profile a config needs (built-ins plus one per source with a map), and the sources. */
export function compileSources(options: {
  schema: Schema;
  sources: Readonly<Record<string, SourceSpec>>;
  defaultApiKeyHeader: string;
}): { profiles: Map<string, Profile>; sources: Map<string, CompiledSource> } {
  const profiles = new Map(builtinProfiles);
  const sources = new Map<string, CompiledSource>();
  for (const [name, spec] of Object.entries(options.sources)) {
    const base = builtinProfiles.get(spec.profile);
    if (!base) throw new Error(`sources.${name}.profile: no profile named ${spec.profile}`);
    let profile = base.name;
    const entries = Object.entries(spec.map);
    if (entries.length > 0) {
      if (base.detect || base.unwrap) {
        throw new Error(`sources.${name}.map: profile ${base.name} hands events to other profiles; a map needs a profile that maps columns (airkit, okta, strivacity, generic)`);
      }
      const columns: Record<string, readonly Rule[]> = {};
      for (const [column, given] of entries) {
        if (!options.schema.columns.some((c) => c.name === column)) {
          const ranked = options.schema.columns.map((c) => ({ name: c.name, d: distance(c.name, column.toUpperCase()) })).sort((x, y) => x.d - y.d);
          const near = ranked[0] && ranked[0].d <= 2 ? ranked[0] : undefined;
          throw new Error(`sources.${name}.map.${column}: no such column in schema ${options.schema.name}${near ? ` (did you mean ${near.name}?)` : ''}`);
        }
        const rules = (Array.isArray(given) ? given : [given]).map((r: string | Rule): Rule => (typeof r === 'string' ? { path: r } : r));
        rules.forEach((rule, i) => {
          try {
            compileRule(rule);
          } catch (err) {
            throw new Error(`sources.${name}.map.${column}${rules.length > 1 ? `[${i}]` : ''}: ${(err as Error).message}`);
          }
        });
        columns[column] = [...rules, ...ruleList(base.columns[column] ?? [])];
      }
      profile = `source:${name}`;
      profiles.set(profile, { ...base, name: profile, basedOn: base.name, columns: { ...base.columns, ...columns } });
    }
    sources.set(name, {
      name,
      profile,
      onInvalid: spec.onInvalid ?? base.onInvalid,
      apiKeyHeader: (spec.apiKeyHeader ?? base.apiKeyHeader ?? options.defaultApiKeyHeader).toLowerCase(),
      ...(base.acceptedStatus ? { acceptedStatus: base.acceptedStatus } : {}),
    });
  }
  return { profiles, sources };
}

/** Edit distance (insertions, deletions, substitutions) between two short strings, for "did you mean". */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
