/**
 * Input shapes: recognises what a producer sent and turns it into raw column values for the
 * validator. Accepted: canonical events (schema keys, any case), Airkit camelCase records,
 * Amazon EventBridge envelopes (the event is `detail`), Okta System Log events, and Okta event
 * hook deliveries (`data.events`).
 */
import { createHash } from 'node:crypto';
import { isJsonNumber, stringifyJson } from '../schema/json-number.js';
import type { Schema } from '../schema/schema.js';
import type { FieldError } from '../schema/validate.js';
import {
  isOktaLogEvent,
  mapOktaLogEvent,
  oktaHookEvents,
  oktaOrgFromSource,
} from './okta.js';

/** Which producer shape a record had; a metrics label. */
export type Shape = 'canonical' | 'camelcase' | 'eventbridge' | 'okta';

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
  /** ORGANIZATION_ID for Okta events, from config; overrides the EventBridge source. */
  readonly organizationId: string | null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !isJsonNumber(value);
}

/** A content-derived EVENT_ID: `sha256:` and 32 hex digits of the SHA-256 of the record's JSON text. */
export function contentDerivedId(record: unknown): string {
  return `sha256:${createHash('sha256').update(stringifyJson(record), 'utf8').digest('hex').slice(0, 32)}`;
}

/** True when a record is an EventBridge envelope: `detail-type`, `source` and an object `detail`. */
export function isEventBridgeEnvelope(record: Record<string, unknown>): boolean {
  return (
    isObject(record.detail) && typeof record['detail-type'] === 'string' && typeof record.source === 'string'
  );
}

const canonicalKey = /^[A-Z0-9_]+$|_/;

/** Maps canonical / camelCase keys to columns; `fallback` fills a missing EVENT_ID/EVENT_TIME (envelope events). */
function mapKeys(
  schema: Schema,
  record: Record<string, unknown>,
  shape: Shape | undefined,
  path: string,
  fallback?: { id: unknown; time: unknown },
): MappedRecord {
  const raw: unknown[] = new Array(schema.columns.length);
  const seenAs: (string | undefined)[] = new Array(schema.columns.length);
  const unknownKeys: string[] = [];
  const errors: FieldError[] = [];
  let canonical = false;
  for (const key of Object.keys(record)) {
    const column = schema.columnForKey(key);
    if (!column) {
      unknownKeys.push(key);
      continue;
    }
    if (canonicalKey.test(key)) canonical = true;
    const previous = seenAs[column.index];
    if (previous !== undefined) {
      errors.push({ field: column.name, message: `given twice, as "${previous}" and as "${key}"` });
      continue;
    }
    seenAs[column.index] = key;
    raw[column.index] = record[key];
  }
  if (fallback) {
    const id = schema.column('EVENT_ID').index;
    const time = schema.column('EVENT_TIME').index;
    if (raw[id] === undefined) raw[id] = fallback.id;
    if (raw[time] === undefined) raw[time] = fallback.time;
  }
  return { shape: shape ?? (canonical ? 'canonical' : 'camelcase'), path, raw, unknownKeys, errors };
}

function mapOkta(
  schema: Schema,
  event: Record<string, unknown>,
  shape: Shape,
  path: string,
  organizationId: string | undefined,
): MappedRecord {
  const raw: unknown[] = new Array(schema.columns.length);
  for (const field of mapOktaLogEvent(event, organizationId)) {
    raw[schema.column(field.column).index] = field.value;
  }
  const errors: FieldError[] =
    organizationId === undefined
      ? [
          {
            field: 'ORGANIZATION_ID',
            message:
              'is required for Okta events: set ingest.organizationId, or deliver through EventBridge, whose source names the Okta org',
          },
        ]
      : [];
  return { shape, path, raw, unknownKeys: [], errors };
}

/**
 * Maps one top-level record to the events it holds (one, or several for an Okta event hook).
 * A record that is not an object yields a single record with an error.
 */
export function mapRecord(schema: Schema, record: unknown, options: MapOptions): MappedRecord[] {
  if (!isObject(record)) {
    const got = Array.isArray(record) ? 'an array' : record === null ? 'null' : isJsonNumber(record) ? 'a number' : `a ${typeof record}`;
    return [
      {
        shape: 'canonical',
        path: '',
        raw: new Array(schema.columns.length),
        unknownKeys: [],
        errors: [{ field: '(record)', message: `must be a JSON object, got ${got}` }],
      },
    ];
  }
  if (isEventBridgeEnvelope(record)) {
    const detail = record.detail as Record<string, unknown>;
    if (isOktaLogEvent(detail)) {
      const org = options.organizationId ?? oktaOrgFromSource(record.source);
      return [mapOkta(schema, detail, 'eventbridge', 'detail', org)];
    }
    // Without an id of its own, the event is named by its content: a producer's PutEvents retry
    // gets a new envelope id but carries the same detail, so it is still a duplicate.
    return [mapKeys(schema, detail, 'eventbridge', 'detail', { id: contentDerivedId(detail), time: record.time })];
  }
  const hookEvents = oktaHookEvents(record);
  if (hookEvents) {
    return hookEvents.map((event, i) => {
      const path = `data.events[${i}]`;
      if (!isObject(event) || !isOktaLogEvent(event)) {
        return {
          shape: 'okta' as const,
          path,
          raw: new Array(schema.columns.length),
          unknownKeys: [],
          errors: [{ field: '(record)', message: 'is not an Okta LogEvent (needs uuid, published, eventType)' }],
        };
      }
      return mapOkta(schema, event, 'okta', path, options.organizationId ?? undefined);
    });
  }
  if (isOktaLogEvent(record)) return [mapOkta(schema, record, 'okta', '', options.organizationId ?? undefined)];
  return [mapKeys(schema, record, undefined, '')];
}
