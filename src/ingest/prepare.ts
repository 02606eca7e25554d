/**
 * The ingest core shared by HTTP and `logbarge ingest`: top-level records → the source's profile
 * (src/sources/) → validation → spool rows. A source with onInvalid reject (and POST /v1/events)
 * is all-or-nothing: one bad record means the caller stores nothing. Under quarantine, a bad
 * record becomes a quarantine row and the valid ones are stored.
 */
import type { Schema } from '../schema/schema.js';
import { createValidator, type FieldError, type ValidatorOptions } from '../schema/validate.js';
import { contentKey, quarantineDt, type SpoolRow } from '../spool/spool.js';
import type { SourceConfig } from '../config/schema.js';
import { LogbargeError } from '../errors.js';
import { compileSources, type CompiledSource } from '../sources/compile.js';
import { contentDerivedId, createMapper, type MapContext, type Mapper } from '../sources/engine.js';
import type { Shape } from '../sources/profile.js';

/** A problem with one field of one record of a request. */
export interface RecordError extends FieldError {
  /** Position of the top-level record (array index or NDJSON line, from 0). */
  readonly index: number;
  /** Where in that record, for envelopes (`detail`, `data.events[2]`). */
  readonly path?: string;
}

/** Ingest options, the `ingest` config section, and the sources of the config. */
export interface PrepareOptions {
  readonly strictEventTypes: boolean;
  readonly unknownFields: 'drop' | 'reject';
  readonly maxStringLength: number;
  /** ORGANIZATION_ID that Okta events on POST /v1/events take first (ingest.organizationId). */
  readonly organizationId: string | null;
  readonly eventTime: ValidatorOptions['eventTime'];
  /** The validator's clock (ValidatorOptions.now). */
  readonly now?: () => number;
  /** The config's sources (POST /v1/events/<name>); none when absent. */
  readonly sources?: Readonly<Record<string, SourceConfig>>;
  /** The header server.apiKeys are read from (a source's default). */
  readonly apiKeyHeader?: string;
}

/** How one request reached ingest. */
export interface Arrival {
  /** The source's name, or undefined for POST /v1/events (profile auto). */
  readonly source?: string;
  /** When it was received, epoch ms (default: now). */
  readonly receivedAt?: number;
}

/** A record kept in quarantine instead of refusing its request. */
export interface Quarantined {
  /** Position of the top-level record. */
  readonly index: number;
  /** Where in that record the refused event sits, or ''. */
  readonly path: string;
  readonly errors: readonly FieldError[];
}

/** The outcome of preparing a batch of records. */
export interface Prepared {
  /** Rows to store (empty when there are errors); quarantine rows come last. */
  readonly rows: SpoolRow[];
  /** The input shape of each row, parallel to `rows` ('quarantine' for quarantine rows). */
  readonly rowShapes: (Shape | 'quarantine')[];
  /** How many rows at the end of `rows` are quarantine rows. */
  readonly quarantineRows: number;
  /** The records quarantined (source policy quarantine), with their errors. */
  readonly quarantined: Quarantined[];
  /** Errors that refuse the request, at most `maxErrors` of them (none under quarantine). */
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
  /** Prepares the records of one request (or one chunk of a file: `firstIndex` is its first record's position). */
  prepare(records: readonly unknown[], firstIndex?: number, arrival?: Arrival): Prepared;
  /** The named source, or undefined when the config has none by that name. */
  source(name: string): CompiledSource | undefined;
  /**
   * Prepares what a body that failed to decode still holds, for a quarantine source: the records
   * that could be read (at their positions), and quarantine rows for those that could not (a
   * broken NDJSON line, kept as text).
   */
  prepareReadable(readable: readonly { index: number; value: unknown }[], unreadable: readonly { index: number; text: string; message: string }[], arrival: Arrival): Prepared;
}

/** Builds the preparer for a schema and the ingest options. */
export function createPreparer(schema: Schema, options: PrepareOptions): Preparer {
  const validator = createValidator(schema, options);
  const specs = options.sources ?? {};
  const { profiles, sources } = (() => {
    try {
      return compileSources({ schema, sources: specs, defaultApiKeyHeader: options.apiKeyHeader ?? 'x-api-key' });
    } catch (err) {
      throw new LogbargeError('CONFIG_INVALID', `load sources: ${(err as Error).message}`, { hint: 'see docs/sources/ for profiles and map rules' });
    }
  })();
  let mapper: Mapper;
  try {
    mapper = createMapper({ schema, profiles });
  } catch (err) {
    throw new LogbargeError('CONFIG_INVALID', `load sources: ${(err as Error).message}`);
  }

  function contextOf(arrival: Arrival): { profile: string; context: MapContext; policy: 'reject' | 'quarantine'; source: string } {
    const receivedAt = arrival.receivedAt ?? Date.now();
    if (arrival.source === undefined) {
      return {
        profile: 'auto',
        policy: 'reject',
        source: '(default)',
        context: { source: null, organizationId: options.organizationId, forceOrganization: false, eventType: null, receivedAt },
      };
    }
    const compiled = sources.get(arrival.source);
    const spec = specs[arrival.source];
    if (!compiled || !spec) throw new Error(`prepare: no source named ${arrival.source}`);
    return {
      profile: compiled.profile,
      policy: compiled.onInvalid,
      source: compiled.name,
      context: { source: compiled.name, organizationId: spec.organizationId, forceOrganization: spec.organizationId !== null, eventType: spec.eventType, receivedAt },
    };
  }

  function quarantineRow(via: { source: string; context: MapContext }, item: { event: unknown; errors: readonly FieldError[]; text: string }): SpoolRow {
    const receivedIso = new Date(via.context.receivedAt).toISOString();
    const body =
      `{"received_at":${JSON.stringify(receivedIso)},"source":${JSON.stringify(via.source)},` +
      `"errors":${JSON.stringify(item.errors.map((e) => ({ field: e.field, message: e.message })))},"record":${item.text}}`;
    return {
      eventId: contentDerivedId(item.event),
      // Quarantine rows are keyed at time 0: a re-delivery of the same bad record is a duplicate.
      eventMs: 0,
      dt: quarantineDt(receivedIso.slice(0, 10)),
      body,
      raw: null,
      content: contentKey(`quarantine\n${via.source}\n${item.text}`),
    };
  }

  function result(parts: {
    rows: SpoolRow[]; rowShapes: Shape[]; quarantine: SpoolRow[]; quarantined: Quarantined[]; errors: RecordError[]; errorCount: number; unknownEventTypes: number; unknownFields: Map<string, number>;
  }): Prepared {
    const refused = parts.errorCount > 0;
    return {
      rows: refused ? [] : [...parts.rows, ...parts.quarantine],
      rowShapes: refused ? [] : [...parts.rowShapes, ...parts.quarantine.map(() => 'quarantine' as const)],
      quarantineRows: refused ? 0 : parts.quarantine.length,
      quarantined: refused ? [] : parts.quarantined,
      errors: parts.errors,
      errorCount: parts.errorCount,
      unknownEventTypes: parts.unknownEventTypes,
      unknownFields: parts.unknownFields,
    };
  }

  function run(items: readonly { index: number; value: unknown }[], unreadable: readonly { index: number; text: string; message: string }[], arrival: Arrival): Prepared {
    const via = contextOf(arrival);
    const rows: SpoolRow[] = [];
    const rowShapes: Shape[] = [];
    const quarantine: SpoolRow[] = [];
    const quarantined: Quarantined[] = [];
    const errors: RecordError[] = [];
    let errorCount = 0;
    let unknownEventTypes = 0;
    const unknownFields = new Map<string, number>();
    for (const item of unreadable) {
      const problems = [{ field: '(record)', message: item.message }];
      quarantine.push(quarantineRow(via, { event: item.text, errors: problems, text: JSON.stringify(item.text) }));
      quarantined.push({ index: item.index, path: '', errors: problems });
    }
    for (const { index, value: record } of items) {
      for (const mapped of mapper.map(via.profile, record, via.context)) {
        const problems: FieldError[] = [...mapped.errors];
        const dropped: string[] = [];
        for (const key of mapped.unknownKeys) {
          if (options.unknownFields === 'reject') problems.push({ field: key, message: 'matches no column (ingest.unknownFields is reject)' });
          else dropped.push(key);
        }
        let valid: ReturnType<typeof validator.validate> | undefined;
        // A record that is not an event at all has nothing worth validating field by field.
        if (!mapped.errors.some((e) => e.field === '(record)')) {
          valid = validator.validate(mapped.values);
          if (!valid.ok) for (const e of valid.errors) if (!problems.some((m) => m.field === e.field)) problems.push(e);
        }
        if (problems.length > 0 || !valid?.ok) {
          if (via.policy === 'quarantine') {
            quarantine.push(quarantineRow(via, { event: mapped.event, errors: problems, text: mapped.eventText }));
            quarantined.push({ index, path: mapped.path, errors: problems });
          } else {
            const where = mapped.path === '' ? {} : { path: mapped.path };
            for (const e of problems) {
              errorCount++;
              if (errors.length < maxErrors) errors.push({ index, ...where, ...e });
            }
          }
          continue;
        }
        for (const key of dropped) unknownFields.set(key, (unknownFields.get(key) ?? 0) + 1);
        const row = valid.row;
        if (row.unknownEventType) unknownEventTypes++;
        const body = validator.toJson(row.values);
        // Duplicates are judged by the mapped record, not its envelope: the typed body plus the
        // event's own JSON (a re-delivery in a new EventBridge envelope is still a duplicate).
        // Without a time of its own, an event is keyed at time 0 by its text alone, so a retry
        // (received later) is still a duplicate.
        const content = mapped.timeDerived
          ? contentKey(`received-at\n${via.source}\n${mapped.eventText}`)
          : mapped.rawText === null
            ? contentKey(body)
            : contentKey(`${body}\n${mapped.eventText}`);
        rows.push({ eventId: row.eventId, eventMs: mapped.timeDerived ? 0 : row.eventMs, dt: row.dt, body, raw: mapped.rawText, content });
        rowShapes.push(mapped.shape);
      }
    }
    return result({ rows, rowShapes, quarantine, quarantined, errors, errorCount, unknownEventTypes, unknownFields });
  }

  return {
    source: (name) => sources.get(name),
    prepare: (records, firstIndex = 0, arrival = {}) => run(records.map((value, i) => ({ index: firstIndex + i, value })), [], arrival),
    prepareReadable: (readable, unreadable, arrival) => run(readable, unreadable, arrival),
  };
}
