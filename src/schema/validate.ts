/**
 * The record validator, built from the schema: coerces each column to its type, derives
 * EVENT_YEAR / EVENT_MONTH / EVENT_DATE from EVENT_TIME, checks consistency and event types,
 * and produces the canonical row the spool stores.
 */
import { LogbargeError } from '../errors.js';
import type { Column, Schema } from './schema.js';
import {
  dateParts,
  formatTimestamp,
  isProblem,
  parseDate,
  parseInteger,
  parseString,
  parseTimestamp,
  type TimeRange,
} from './coerce.js';

/** A canonical column value: strings for VARCHAR/DATE/TIMESTAMPNTZ, numbers for NUMBER. */
export type Value = string | number | null;

/** A problem with one field of one record. */
export interface FieldError {
  /** Column name (or input key, for keys that match no column). */
  readonly field: string;
  /** What is wrong, for a person. */
  readonly message: string;
}

/** A record that passed validation, in canonical form. */
export interface ValidRow {
  /** Values in schema column order; TIMESTAMPNTZ as `YYYY-MM-DD HH:MM:SS.sss` (UTC). */
  readonly values: readonly Value[];
  /** The EVENT_ID value. */
  readonly eventId: string;
  /** EVENT_TIME in epoch ms (it leads the spool's idempotency key). */
  readonly eventMs: number;
  /** The event's own UTC date, `YYYY-MM-DD`: its `dt=` partition. */
  readonly dt: string;
  /** True when EVENT_TYPE is not one of the published values. */
  readonly unknownEventType: boolean;
}

/** Validation options, from the `ingest` config section. */
export interface ValidatorOptions {
  /** Refuse EVENT_TYPE values that are not in the schema's published list. */
  readonly strictEventTypes: boolean;
  /** Longest accepted VARCHAR value, in UTF-16 code units. */
  readonly maxStringLength: number;
  /** Plausible TIMESTAMPNTZ values (EVENT_TIME): from `min` (ISO-8601) to now + `maxAheadMs`. */
  readonly eventTime: { readonly min: string; readonly maxAheadMs: number };
  /** The clock "now" is read from, in epoch ms, once per record; Date.now when absent. */
  readonly now?: () => number;
}

/** Result of validating one record. */
export type Validated = { ok: true; row: ValidRow } | { ok: false; errors: FieldError[] };

/** Validates records given as raw values by column index (`undefined` = absent). */
export interface Validator {
  validate(raw: readonly unknown[]): Validated;
  /** Serialises a row's values as the canonical JSON object (schema key order, null for missing). */
  toJson(values: readonly Value[]): string;
}

/** Builds the validator for a schema. */
export function createValidator(schema: Schema, options: ValidatorOptions): Validator {
  const columns = schema.columns;
  const eventIdIndex = schema.column('EVENT_ID').index;
  const eventTypeIndex = schema.column('EVENT_TYPE').index;
  const eventTimeName = schema.column('EVENT_TIME').name;
  const dtColumn = columns.find((c) => c.derive?.part === 'date');
  if (!dtColumn) throw new LogbargeError('SCHEMA_INVALID', 'schema: no column derives the event date');
  const dtIndex = dtColumn.index;
  const knownTypes = [...schema.eventTypes].sort().join(', ');
  // JSON key prefixes are computed once: `"NAME":`; values are JSON.stringify'd per row.
  const keyPrefixes = columns.map((c, i) => `${i === 0 ? '{' : ','}${JSON.stringify(c.name)}:`);
  const parsedMin = parseTimestamp(options.eventTime.min);
  if (isProblem(parsedMin)) {
    throw new LogbargeError('CONFIG_INVALID', `build validator: ingest.eventTime.min ${parsedMin.problem}`, {
      hint: 'set ingest.eventTime.min to an ISO-8601 timestamp, e.g. 2000-01-01T00:00:00Z',
    });
  }
  const minMs = parsedMin;
  const now = options.now ?? Date.now;

  function coerce(column: Column, value: unknown, range: TimeRange): Value | { problem: string } {
    switch (column.type) {
      case 'VARCHAR':
        return parseString(value, options.maxStringLength);
      case 'NUMBER':
        return parseInteger(value);
      case 'DATE':
        return parseDate(value);
      case 'TIMESTAMPNTZ':
        return parseTimestamp(value, range);
    }
  }

  function validate(raw: readonly unknown[]): Validated {
    const errors: FieldError[] = [];
    const values: Value[] = new Array<Value>(columns.length).fill(null);
    const instants = new Map<string, number>();
    const range: TimeRange = { minMs, maxMs: now() + options.eventTime.maxAheadMs };
    for (const column of columns) {
      const input = raw[column.index];
      if (input === undefined || input === null) {
        if (column.required) errors.push({ field: column.name, message: 'is required' });
        continue;
      }
      const result = coerce(column, input, range);
      if (isProblem(result)) {
        errors.push({ field: column.name, message: result.problem });
        continue;
      }
      if (column.required && typeof result === 'string' && result.trim() === '') {
        errors.push({ field: column.name, message: result === '' ? 'must not be empty' : 'must not be blank' });
        continue;
      }
      if (column.type === 'TIMESTAMPNTZ') {
        instants.set(column.name, result as number);
        values[column.index] = formatTimestamp(result as number);
      } else {
        values[column.index] = result;
      }
    }
    // Derived columns: filled when absent, checked when present.
    for (const column of columns) {
      if (!column.derive) continue;
      const ms = instants.get(column.derive.from);
      if (ms === undefined) continue;
      const parts = dateParts(ms);
      const expected: Value =
        column.derive.part === 'year' ? parts.year : column.derive.part === 'month' ? parts.month : parts.date;
      const given = values[column.index];
      if (given === null || given === undefined) {
        if (!errors.some((e) => e.field === column.name)) values[column.index] = expected;
      } else if (given !== expected) {
        errors.push({
          field: column.name,
          message: `${JSON.stringify(given)} does not match ${column.derive.from} (expected ${JSON.stringify(expected)})`,
        });
      }
    }
    const eventType = values[eventTypeIndex];
    const unknownEventType = typeof eventType === 'string' && !schema.eventTypes.has(eventType);
    if (unknownEventType && options.strictEventTypes) {
      errors.push({
        field: 'EVENT_TYPE',
        message: `${JSON.stringify(eventType)} is not a known event type (strict event types are on); known: ${knownTypes}`,
      });
    }
    if (errors.length > 0) return { ok: false, errors };
    const dt = values[dtIndex] as string;
    return {
      ok: true,
      row: { values, eventId: values[eventIdIndex] as string, eventMs: instants.get(eventTimeName) as number, dt, unknownEventType },
    };
  }

  function toJson(values: readonly Value[]): string {
    let out = '';
    for (let i = 0; i < keyPrefixes.length; i++) {
      const v = values[i];
      out += keyPrefixes[i] + (v === null || v === undefined ? 'null' : JSON.stringify(v));
    }
    return `${out}}`;
  }

  return { validate, toJson };
}
