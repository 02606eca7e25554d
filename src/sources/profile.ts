/**
 * The form of a source profile: a declarative mapping from a sender's JSON to the schema's
 * columns. Every built-in profile (one file each in this folder) is a value of this type, and a
 * user's `map` in the config compiles to the same thing (compile.ts). Nothing here does I/O.
 */
import { compilePath, type JsonPath } from './path.js';

/** Metric label of the shape a record arrived in. */
export type Shape = 'canonical' | 'camelcase' | 'eventbridge' | 'okta' | 'strivacity' | 'generic';

/** What a derived value is computed from. */
export type Derivation =
  /** A content-derived EVENT_ID: `sha256:` + 32 hex digits of the event's JSON text. */
  | 'contentId'
  /** The time the request was received (its event then has no EVENT_TIME of its own). */
  | 'receivedAt'
  /** The organization of the source the request came through (config), if it names one. */
  | 'sourceOrg'
  /** The source's event type (config `eventType`, else the source's name). */
  | 'sourceEventType';

/** One way to find a column's value. The first rule of a column that yields a value wins. */
export type Rule =
  /** The value at a JSON path; `json` takes it as JSON text; `capture` keeps a regex's group 1 of a string; `map` translates values it lists. */
  | { readonly path: string; readonly json?: boolean; readonly capture?: string; readonly map?: Readonly<Record<string, string>>; readonly nullIf?: readonly string[] }
  /** A constant. */
  | { readonly const: string | number }
  /** A derived value. */
  | { readonly derive: Derivation }
  /** A constant, when every path listed holds the value given. */
  | { readonly when: Readonly<Record<string, string>>; readonly then: string };

/** How a profile recognises a record as its own (for `auto` detection). */
export interface Match {
  /** Paths that must hold strings. */
  readonly strings?: readonly string[];
  /** Paths that must hold objects. */
  readonly objects?: readonly string[];
  /** Paths that must hold arrays. */
  readonly arrays?: readonly string[];
  /** Paths that must be present (any value, null included). */
  readonly present?: readonly string[];
  /** Paths that must hold exactly these values. */
  readonly equals?: Readonly<Record<string, string>>;
}

/** A source profile. */
export interface Profile {
  readonly name: string;
  /** For a source's compiled map: the built-in it extends (whose schema `sources` paths apply). */
  readonly basedOn?: string;
  /** One sentence for docs and errors. */
  readonly description: string;
  /** The metric label of events it maps. */
  readonly shape: Shape;
  /** When `auto` (and unwrapping profiles) may choose it. */
  readonly match?: Match;
  /**
   * Events inside the record: `path` names the event (an object) or, with `each`, an array of
   * events; `profile` maps each (`auto` detects). The record itself is the envelope of its events.
   */
  readonly unwrap?: { readonly path: string; readonly each?: boolean; readonly profile: string };
  /** Profiles tried in order, the first whose match fits maps the record (auto). */
  readonly detect?: readonly string[];
  /**
   * Map keys to columns by name (case, `_` and `-` ignored, schema aliases: `type` → EVENT_TYPE);
   * keys that match no column are unknown fields (ingest.unknownFields).
   */
  readonly byName?: boolean;
  /** Rules per column; with byName, used only for columns the record does not name. */
  readonly columns: Readonly<Record<string, Rule | readonly Rule[]>>;
  /** Why a required column may be missing, added to its "is required" message. */
  readonly hints?: Readonly<Record<string, string>>;
  /** The default `onInvalid` of a source with this profile (push senders that never retry a 4xx: quarantine). */
  readonly onInvalid: 'reject' | 'quarantine';
  /**
   * The answer to a stored delivery on a source with this profile, when the sender needs one
   * other than `202` with counts: Okta event hooks expect `200` or `204` with an empty body.
   */
  readonly acceptedStatus?: 204;
  /** The header a source with this profile reads its key from by default (`Authorization: Bearer` always works too). */
  readonly apiKeyHeader?: string;
}

/** A rule with its paths compiled. */
export type CompiledRule =
  | { readonly kind: 'path'; readonly path: JsonPath; readonly json: boolean; readonly capture?: RegExp; readonly map?: Readonly<Record<string, string>>; readonly nullIf?: ReadonlySet<string> }
  | { readonly kind: 'const'; readonly value: string | number }
  | { readonly kind: 'derive'; readonly derive: Derivation }
  | { readonly kind: 'when'; readonly when: readonly (readonly [JsonPath, string])[]; readonly then: string };

/** Compiles one rule; throws an Error naming what is wrong. */
export function compileRule(rule: Rule): CompiledRule {
  if ('path' in rule) {
    let capture: RegExp | undefined;
    if (rule.capture !== undefined) {
      try {
        capture = new RegExp(rule.capture);
      } catch (err) {
        throw new Error(`capture ${JSON.stringify(rule.capture)} is not a regular expression: ${(err as Error).message}`);
      }
    }
    return {
      kind: 'path',
      path: compilePath(rule.path),
      json: rule.json === true,
      ...(capture ? { capture } : {}),
      ...(rule.map ? { map: rule.map } : {}),
      ...(rule.nullIf ? { nullIf: new Set(rule.nullIf) } : {}),
    };
  }
  if ('const' in rule) return { kind: 'const', value: rule.const };
  if ('derive' in rule) return { kind: 'derive', derive: rule.derive };
  return { kind: 'when', when: Object.entries(rule.when).map(([p, v]) => [compilePath(p), v] as const), then: rule.then };
}

/** The rules of a column as a list. */
export function ruleList(rules: Rule | readonly Rule[]): readonly Rule[] {
  return Array.isArray(rules) ? (rules as readonly Rule[]) : [rules as Rule];
}
