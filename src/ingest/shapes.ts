/**
 * The shapes `POST /v1/events` accepts, through the `auto` profile (src/sources/auto.ts):
 * canonical events (schema keys, any case), Airkit camelCase records, Amazon EventBridge
 * envelopes (the event is `detail`), Okta System Log events, and Okta event hook deliveries
 * (`data.events`). A view of the profile engine for callers that want one record's raw column
 * values (tests, diagnostics); ingest itself goes through createPreparer.
 */
import type { Schema } from '../schema/schema.js';
import type { FieldError } from '../schema/validate.js';
import { builtinProfiles } from '../sources/builtins.js';
import { createMapper, type Mapper } from '../sources/engine.js';
import type { Shape } from '../sources/profile.js';

export { contentDerivedId } from '../sources/engine.js';
export type { Shape } from '../sources/profile.js';

/** One event found in a top-level record, ready for validation. */
export interface MappedRecord {
  readonly shape: Shape;
  /** Where inside the top-level record this event sits (`detail`, `data.events[3]`), or '' for the record itself. */
  readonly path: string;
  /** Raw values by column index; undefined = absent. */
  readonly raw: unknown[];
  /** Input keys that match no column. */
  readonly unknownKeys: string[];
  /** Problems found while mapping (a key given twice under two spellings, say). */
  readonly errors: FieldError[];
}

/** Options of mapRecord. */
export interface MapOptions {
  /** ORGANIZATION_ID for Okta events (ingest.organizationId); overrides the EventBridge source. */
  readonly organizationId: string | null;
}

const mappers = new WeakMap<Schema, Mapper>();

/** The auto-profile mapper of a schema (built once per schema). */
function mapperOf(schema: Schema): Mapper {
  let mapper = mappers.get(schema);
  if (!mapper) {
    mapper = createMapper({ schema, profiles: builtinProfiles });
    mappers.set(schema, mapper);
  }
  return mapper;
}

/** True when `record` is what the named built-in profile maps (its match), e.g. an Okta LogEvent for `okta`. */
export function matchesProfile(schema: Schema, profile: string, record: unknown): boolean {
  return mapperOf(schema).matches(profile, record);
}

/** True when a record is an EventBridge envelope: `detail-type`, `source` and an object `detail`. */
export function isEventBridgeEnvelope(record: Record<string, unknown>, schema: Schema): boolean {
  return matchesProfile(schema, 'eventbridge', record);
}

/**
 * Maps one top-level record to the events it holds (one, or several for an Okta event hook) as
 * POST /v1/events does. A record that is not an object yields a single record with an error.
 */
export function mapRecord(schema: Schema, record: unknown, options: MapOptions): MappedRecord[] {
  return mapperOf(schema)
    .map('auto', record, { source: null, organizationId: options.organizationId, forceOrganization: false, eventType: null, receivedAt: 0 })
    .map((m) => ({ shape: m.shape, path: m.path, raw: m.values, unknownKeys: m.unknownKeys, errors: m.errors }));
}
