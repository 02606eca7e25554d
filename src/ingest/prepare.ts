/**
 * The ingest core shared by HTTP and `logbarge ingest`: top-level records → shapes → validation
 * → spool rows. All-or-nothing: one bad record means the caller stores nothing.
 */
import type { Schema } from '../schema/schema.js';
import { createValidator, type FieldError, type ValidatorOptions } from '../schema/validate.js';
import { contentKey, type SpoolRow } from '../spool/spool.js';
import { mapRecord, type Shape } from './shapes.js';

/** A problem with one field of one record of a request. */
export interface RecordError extends FieldError {
  /** Position of the top-level record (array index or NDJSON line, from 0). */
  readonly index: number;
  /** Where in that record, for envelopes (`detail`, `data.events[2]`). */
  readonly path?: string;
}

/** Ingest options, the `ingest` config section. */
export interface PrepareOptions {
  readonly strictEventTypes: boolean;
  readonly unknownFields: 'drop' | 'reject';
  readonly maxStringLength: number;
  readonly organizationId: string | null;
  readonly eventTime: ValidatorOptions['eventTime'];
  /** The validator's clock (ValidatorOptions.now). */
  readonly now?: () => number;
}

/** The outcome of preparing a batch of records. */
export interface Prepared {
  /** Rows to store (empty when there are errors). */
  readonly rows: SpoolRow[];
  /** The input shape of each row, parallel to `rows`. */
  readonly rowShapes: Shape[];
  /** Errors, at most `maxErrors` of them. */
  readonly errors: RecordError[];
  /** All errors found, including those not listed. */
  readonly errorCount: number;
  /** Events whose EVENT_TYPE is not in the published list. */
  readonly unknownEventTypes: number;
  /** Input keys that matched no column (dropped), each with its count. */
  readonly unknownFields: ReadonlyMap<string, number>;
}

/** Most errors listed in one answer; the rest are only counted, so a bad 5 MB body gets a small 400. */
export const maxErrors = 100;

/** Turns top-level records into spool rows. */
export interface Preparer {
  prepare(records: readonly unknown[], firstIndex?: number): Prepared;
}

/** Builds the preparer for a schema and the ingest options. */
export function createPreparer(schema: Schema, options: PrepareOptions): Preparer {
  const validator = createValidator(schema, options);
  return {
    prepare(records, firstIndex = 0) {
      const rows: SpoolRow[] = [];
      const errors: RecordError[] = [];
      let errorCount = 0;
      const rowShapes: Shape[] = [];
      let unknownEventTypes = 0;
      const unknownFields = new Map<string, number>();
      const fail = (error: RecordError): void => {
        errorCount++;
        if (errors.length < maxErrors) errors.push(error);
      };
      records.forEach((record, i) => {
        const index = firstIndex + i;
        for (const mapped of mapRecord(schema, record, options)) {
          const where = mapped.path === '' ? {} : { path: mapped.path };
          for (const e of mapped.errors) fail({ index, ...where, ...e });
          for (const key of mapped.unknownKeys) {
            if (options.unknownFields === 'reject') {
              fail({ index, ...where, field: key, message: 'matches no column (ingest.unknownFields is reject)' });
            } else {
              unknownFields.set(key, (unknownFields.get(key) ?? 0) + 1);
            }
          }
          // A record that is not an event at all has nothing worth validating field by field.
          if (mapped.errors.some((e) => e.field === '(record)')) continue;
          const result = validator.validate(mapped.raw);
          if (!result.ok) {
            for (const e of result.errors) {
              if (!mapped.errors.some((m) => m.field === e.field)) fail({ index, ...where, ...e });
            }
            continue;
          }
          if (mapped.errors.length > 0) continue;
          if (result.row.unknownEventType) unknownEventTypes++;
          const body = validator.toJson(result.row.values);
          // The content compared for duplicates is the mapped record, not its envelope: a
          // re-delivery of the same event in a new EventBridge envelope is still a duplicate.
          rows.push({ eventId: result.row.eventId, eventMs: result.row.eventMs, dt: result.row.dt, body, raw: null, content: contentKey(body) });
          rowShapes.push(mapped.shape);
        }
      });
      return {
        rows: errorCount > 0 ? [] : rows,
        rowShapes: errorCount > 0 ? [] : rowShapes,
        errors,
        errorCount,
        unknownEventTypes,
        unknownFields,
      };
    },
  };
}
