/**
 * Applies profiles: one top-level record → the events it holds, each as raw column values for
 * the validator, with the record as sent (RAW) and the text its duplicates are judged by.
 * Pure: no I/O, no clock (the receive time comes in the context).
 */
import { createHash } from 'node:crypto';
import type { Column, Schema } from '../schema/schema.js';
import type { FieldError } from '../schema/validate.js';
import { isJsonNumber, stringifyJson } from '../schema/json-number.js';
import { compilePath, readPath, type JsonPath } from './path.js';
import { compileRule, ruleList, type CompiledRule, type Profile, type Rule, type Shape } from './profile.js';

/** Where a request came from, for derived values. */
export interface MapContext {
  /** The source's name (POST /v1/events/<source>), or null on POST /v1/events. */
  readonly source: string | null;
  /** The organization derived values use (a source's own; on POST /v1/events, ingest.organizationId), or null. */
  readonly organizationId: string | null;
  /** When true, ORGANIZATION_ID is always organizationId, whatever the record says (a source that names one). */
  readonly forceOrganization: boolean;
  /** The source's event type for records without one, or null (then the source's name). */
  readonly eventType: string | null;
  /** When the request was received, epoch ms. */
  readonly receivedAt: number;
}

/** One event found in a top-level record, ready for validation. */
export interface MappedEvent {
  readonly shape: Shape;
  /** Where inside the top-level record the event sits (`detail`, `data.events[3]`), or ''. */
  readonly path: string;
  /** Raw values by column index; undefined = absent. */
  readonly values: unknown[];
  /** Input keys that match no column (profiles that map by name only). */
  readonly unknownKeys: string[];
  /** Problems found while mapping. */
  readonly errors: FieldError[];
  /** The record as sent (for an envelope, the whole envelope), or null when the typed columns hold all of it. */
  readonly rawText: string | null;
  /** The event's own JSON text (not its envelope): what duplicates are compared by, with the typed body. */
  readonly eventText: string;
  /** True when EVENT_TIME is the receive time (the event carried none). */
  readonly timeDerived: boolean;
  /** The event itself, for quarantine. */
  readonly event: unknown;
}

/** A content-derived EVENT_ID: `sha256:` and 32 hex digits of the SHA-256 of the record's JSON text. */
export function contentDerivedId(record: unknown): string {
  return `sha256:${createHash('sha256').update(stringifyJson(record), 'utf8').digest('hex').slice(0, 32)}`;
}

/** True for a JSON object (not an array, not a kept number literal). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !isJsonNumber(value);
}

const canonicalKey = /^[A-Z0-9_]+$|_/;
const losslessTime = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:(?:[0-5]\d)(?:\.\d{1,3})?(?:[Zz]|[+-]00:?00)?$/;

/** True when the typed column keeps a value exactly (so RAW is not needed for it). */
function keepsExactly(column: Column, value: unknown): boolean {
  if (value === null) return true;
  switch (column.type) {
    case 'VARCHAR':
      return typeof value === 'string' || typeof value === 'boolean' || typeof value === 'number' || isJsonNumber(value);
    case 'NUMBER':
      return typeof value === 'number' || (typeof value === 'string' && String(Number(value)) === value);
    case 'DATE':
      return typeof value === 'string';
    case 'TIMESTAMPNTZ':
      return (typeof value === 'number' && Number.isInteger(value)) || (typeof value === 'string' && losslessTime.test(value));
  }
}

interface CompiledProfile {
  readonly profile: Profile;
  readonly rules: ReadonlyMap<number, readonly CompiledRule[]>;
  readonly match: ((record: Record<string, unknown>) => boolean) | undefined;
  readonly unwrapPath: JsonPath | undefined;
}

/** Options of createMapper. */
export interface MapperOptions {
  readonly schema: Schema;
  /** Every profile by name (the built-ins, plus a source's compiled `map`). */
  readonly profiles: ReadonlyMap<string, Profile>;
}

/** Maps records through profiles. */
export interface Mapper {
  /** The events of one top-level record, mapped by the named profile. */
  map(profileName: string, record: unknown, context: MapContext): MappedEvent[];
  /** True when the named profile's match accepts `record` (a profile without one accepts any object). */
  matches(profileName: string, record: unknown): boolean;
}

/** The rules a schema's extension columns give a profile (`sources` of a column). */
function schemaRules(schema: Schema, profile: string): Map<number, Rule[]> {
  const out = new Map<number, Rule[]>();
  for (const column of schema.columns) {
    const sources = (column as Column & { sources?: Readonly<Record<string, string | Rule>> }).sources;
    const source = sources?.[profile];
    if (source === undefined) continue;
    out.set(column.index, [typeof source === 'string' ? { path: source } : source]);
  }
  return out;
}

/** Builds a mapper; throws an Error naming the profile and column when a rule does not compile. */
export function createMapper(options: MapperOptions): Mapper {
  const { schema } = options;
  const compiled = new Map<string, CompiledProfile>();
  for (const profile of options.profiles.values()) {
    const rules = new Map<number, CompiledRule[]>();
    const add = (index: number, list: readonly Rule[], where: string): void => {
      const out = rules.get(index) ?? [];
      for (const rule of list) {
        try {
          out.push(compileRule(rule));
        } catch (err) {
          throw new Error(`profile ${profile.name}: ${where}: ${(err as Error).message}`);
        }
      }
      rules.set(index, out);
    };
    for (const [name, list] of Object.entries(profile.columns)) {
      const column = schema.columns.find((c) => c.name === name);
      if (!column) throw new Error(`profile ${profile.name}: ${name} is not a column of schema ${schema.name}`);
      add(column.index, ruleList(list), name);
    }
    for (const [index, list] of schemaRules(schema, profile.basedOn ?? profile.name)) add(index, list, `${schema.columns[index]!.name} (schema sources)`);
    compiled.set(profile.name, { profile, rules, match: compileMatch(profile), unwrapPath: profile.unwrap ? compilePath(profile.unwrap.path) : undefined });
  }
  for (const c of compiled.values()) {
    for (const name of [...(c.profile.detect ?? []), ...(c.profile.unwrap ? [c.profile.unwrap.profile] : [])]) {
      if (!compiled.has(name)) throw new Error(`profile ${c.profile.name}: refers to unknown profile ${name}`);
    }
  }
  const orgIndex = schema.column('ORGANIZATION_ID').index;
  const timeIndex = schema.column('EVENT_TIME').index;

  function get(name: string): CompiledProfile {
    const c = compiled.get(name);
    if (!c) throw new Error(`map record: no profile named ${name}`);
    return c;
  }

  function evaluate(rule: CompiledRule, event: unknown, envelope: unknown, context: MapContext, column: Column): { value: unknown; derivedTime?: boolean } | undefined {
    switch (rule.kind) {
      case 'const':
        return { value: rule.value };
      case 'when':
        return rule.when.every(([p, v]) => readPath(p, event, envelope) === v) ? { value: rule.then } : undefined;
      case 'derive':
        switch (rule.derive) {
          case 'contentId':
            return { value: contentDerivedId(event) };
          case 'receivedAt':
            return { value: context.receivedAt, derivedTime: column.index === timeIndex };
          case 'sourceOrg':
            return context.organizationId === null ? undefined : { value: context.organizationId };
          case 'sourceEventType': {
            const type = context.eventType ?? context.source;
            return type === null ? undefined : { value: type };
          }
        }
        return undefined;
      case 'path': {
        let value = readPath(rule.path, event, envelope);
        // null is "no value" too, so the next rule gets its turn (credentialType null → provider).
        if (value === undefined || value === null) return undefined;
        if (rule.json) return { value: stringifyJson(value) };
        if (rule.capture) {
          if (typeof value !== 'string') return undefined;
          const m = rule.capture.exec(value);
          if (!m?.[1]) return undefined;
          value = m[1];
        }
        if (typeof value === 'string' && rule.nullIf?.has(value)) return { value: null };
        if (rule.map && typeof value === 'string' && Object.hasOwn(rule.map, value)) value = rule.map[value];
        return { value };
      }
    }
  }

  /** Maps one event (not an envelope) with a leaf profile. */
  function leaf(
    c: CompiledProfile,
    event: Record<string, unknown>,
    where: { path: string; envelope: unknown; fallbacks: ReadonlyMap<number, readonly CompiledRule[]> | undefined; shape: Shape | undefined; rawText: string | null | undefined },
    context: MapContext,
  ): MappedEvent {
    const values: unknown[] = new Array(schema.columns.length);
    const unknownKeys: string[] = [];
    const errors: FieldError[] = [];
    let exact = where.envelope === undefined && c.profile.byName === true;
    let canonical = false;
    if (c.profile.byName) {
      const seenAs: (string | undefined)[] = new Array(schema.columns.length);
      for (const key of Object.keys(event)) {
        const column = schema.columnForKey(key);
        if (!column) {
          unknownKeys.push(key);
          exact = false;
          continue;
        }
        if (canonicalKey.test(key)) canonical = true;
        const previous = seenAs[column.index];
        if (previous !== undefined) {
          errors.push({ field: column.name, message: `given twice, as "${previous}" and as "${key}"` });
          continue;
        }
        seenAs[column.index] = key;
        values[column.index] = event[key];
        if (exact && !keepsExactly(column, event[key])) exact = false;
      }
    }
    let timeDerived = false;
    for (const column of schema.columns) {
      if (values[column.index] !== undefined) continue;
      const rules = [...(c.rules.get(column.index) ?? []), ...(where.fallbacks?.get(column.index) ?? [])];
      for (const rule of rules) {
        const found = evaluate(rule, event, where.envelope, context, column);
        if (found === undefined) continue;
        values[column.index] = found.value;
        exact = false;
        if (found.derivedTime) timeDerived = true;
        break;
      }
    }
    if (context.forceOrganization && context.organizationId !== null) {
      if (values[orgIndex] !== context.organizationId) exact = false;
      values[orgIndex] = context.organizationId;
    }
    for (const [name, hint] of Object.entries(c.profile.hints ?? {})) {
      const column = schema.columns.find((x) => x.name === name);
      if (column?.required && (values[column.index] === undefined || values[column.index] === null)) errors.push({ field: name, message: hint });
    }
    const shape = where.shape ?? (c.profile.byName ? (canonical ? 'canonical' : 'camelcase') : c.profile.shape);
    const eventText = stringifyJson(event);
    const rawText = where.rawText !== undefined ? where.rawText : exact ? null : eventText;
    return { shape, path: where.path, values, unknownKeys, errors, rawText, eventText, timeDerived, event };
  }

  function notAnEvent(path: string, message: string, event: unknown): MappedEvent {
    return {
      shape: 'canonical',
      path,
      values: new Array(schema.columns.length),
      unknownKeys: [],
      errors: [{ field: '(record)', message }],
      rawText: null,
      eventText: stringifyJson(event ?? null),
      timeDerived: false,
      event,
    };
  }

  function mapWith(
    c: CompiledProfile,
    record: unknown,
    where: { path: string; envelope: unknown; fallbacks: ReadonlyMap<number, readonly CompiledRule[]> | undefined; shape: Shape | undefined; rawText: string | null | undefined },
    context: MapContext,
  ): MappedEvent[] {
    if (!isObject(record)) return [notAnEvent(where.path, `must be a JSON object, got ${kindOf(record)}`, record)];
    if (c.profile.detect) {
      const chosen = c.profile.detect.map(get).find((p) => p.match === undefined || p.match(record));
      if (!chosen) return [notAnEvent(where.path, `is none of the shapes profile ${c.profile.name} detects (${c.profile.detect.join(', ')})`, record)];
      return mapWith(chosen, record, where, context);
    }
    if (c.profile.unwrap && c.unwrapPath) {
      const inner = get(c.profile.unwrap.profile);
      const found = readPath(c.unwrapPath, record, undefined);
      const shape = c.profile.shape === 'eventbridge' ? 'eventbridge' : where.shape;
      // An envelope's RAW is the whole envelope; the events of a delivery (each) keep their own.
      const rawText = c.profile.unwrap.each ? undefined : stringifyJson(record);
      const next = (event: unknown, path: string) =>
        mapWith(inner, event, { path, envelope: record, fallbacks: c.rules, shape, rawText }, context);
      // Without the events it names, the record itself is what a quarantine keeps: nothing sent is lost.
      if (found === undefined) return [notAnEvent(c.profile.unwrap.path, 'is missing', record)];
      if (c.profile.unwrap.each) {
        if (!Array.isArray(found)) return [notAnEvent(c.profile.unwrap.path, `must be an array of events, got ${kindOf(found)}`, record)];
        return found.flatMap((event, i) => {
          const path = `${c.profile.unwrap!.path}[${i}]`;
          if (!isObject(event) || (inner.match && !inner.match(event))) {
            return [notAnEvent(path, `is not ${inner.profile.description}`, event)];
          }
          return next(event, path);
        });
      }
      if (!isObject(found)) return [notAnEvent(c.profile.unwrap.path, `must be a JSON object, got ${kindOf(found)}`, record)];
      return next(found, c.profile.unwrap.path);
    }
    return [leaf(c, record, where, context)];
  }

  return {
    matches(profileName, record) {
      const c = get(profileName);
      return isObject(record) && (c.match === undefined || c.match(record));
    },
    map(profileName, record, context) {
      return mapWith(get(profileName), record, { path: '', envelope: undefined, fallbacks: undefined, shape: undefined, rawText: undefined }, context);
    },
  };
}

/** What a JSON value is, for messages: "an array", "an object", "null", "a number", "a string", "a boolean". */
function kindOf(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (value === null) return 'null';
  if (isJsonNumber(value)) return 'a number';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** Compiles a profile's match into a predicate (undefined: matches anything). */
function compileMatch(profile: Profile): ((record: Record<string, unknown>) => boolean) | undefined {
  const m = profile.match;
  if (!m) return undefined;
  const p = compilePath;
  const strings = (m.strings ?? []).map(p);
  const objects = (m.objects ?? []).map(p);
  const arrays = (m.arrays ?? []).map(p);
  const present = (m.present ?? []).map(p);
  const equals = Object.entries(m.equals ?? {}).map(([k, v]) => [p(k), v] as const);
  return (record) =>
    strings.every((x) => typeof readPath(x, record, undefined) === 'string') &&
    objects.every((x) => isObject(readPath(x, record, undefined))) &&
    arrays.every((x) => Array.isArray(readPath(x, record, undefined))) &&
    present.every((x) => readPath(x, record, undefined) !== undefined) &&
    equals.every(([x, v]) => readPath(x, record, undefined) === v);
}
