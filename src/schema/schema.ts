/**
 * Loads the event schema (`schemas/*.json`), the single source of truth for columns and types.
 * Validation, CSV header order, the Parquet schema and the DDL are all generated from it.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { LogbargeError } from '../errors.js';

/** The logical column types the schema may use (Snowflake's names). */
export const columnTypes = ['VARCHAR', 'NUMBER', 'DATE', 'TIMESTAMPNTZ'] as const;

/** One logical column type. */
export type ColumnType = (typeof columnTypes)[number];

const columnFile = z.strictObject({
  name: z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'column names are UPPER_SNAKE_CASE'),
  type: z.enum(columnTypes),
  required: z.boolean(),
  description: z.string().min(1),
  derive: z
    .strictObject({ from: z.string(), part: z.enum(['year', 'month', 'date']) })
    .optional(),
  aliases: z.array(z.string().min(1)).optional(),
});

const schemaFile = z.strictObject({
  $comment: z.string().optional(),
  name: z.string().regex(/^[a-z][a-z0-9_]*$/),
  version: z.number().int().positive(),
  columns: z.array(columnFile).min(1),
  eventTypes: z.array(z.string().min(1)),
});

/** One column of the schema, as read from the schema file. */
export type Column = z.infer<typeof columnFile> & {
  /** Position of the column in the schema (CSV order, Parquet order). */
  readonly index: number;
};

/** The loaded schema with lookup helpers. */
export interface Schema {
  /** Schema name, e.g. `airkit_audit_event`. */
  readonly name: string;
  /** Schema version; files of one version share one column list. */
  readonly version: number;
  /** Columns in their fixed order. */
  readonly columns: readonly Column[];
  /** The published EVENT_TYPE values (known to be incomplete). */
  readonly eventTypes: ReadonlySet<string>;
  /** Column by its exact name, e.g. `EVENT_TIME`. */
  column(name: string): Column;
  /** Column matching an input key, case- and underscore-insensitively (`eventTime`, `event_time`), or aliases. */
  columnForKey(key: string): Column | undefined;
}

/** Path of the schema file that ships with logbarge. */
export const defaultSchemaPath = fileURLToPath(
  new URL('../../schemas/airkit-audit-event.v1.json', import.meta.url),
);

/** Folds an input key to its matching form: lowercase, without underscores or dashes. */
export function foldKey(key: string): string {
  return key.replace(/[_-]/g, '').toLowerCase();
}

/** Builds a Schema from the parsed contents of a schema file; throws SCHEMA_INVALID naming the bad field. */
export function buildSchema(raw: unknown): Schema {
  const parsed = schemaFile.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new LogbargeError(
      'SCHEMA_INVALID',
      `load schema: ${issue?.path.join('.') ?? '?'}: ${issue?.message ?? 'invalid'}`,
    );
  }
  const file = parsed.data;
  const columns: Column[] = file.columns.map((c, index) => ({ ...c, index }));
  const byName = new Map<string, Column>();
  const byKey = new Map<string, Column>();
  const claim = (key: string, column: Column): void => {
    const folded = foldKey(key);
    const other = byKey.get(folded);
    if (other && other !== column) {
      throw new LogbargeError(
        'SCHEMA_INVALID',
        `load schema: key "${key}" of ${column.name} also matches ${other.name}`,
      );
    }
    byKey.set(folded, column);
  };
  for (const column of columns) {
    if (byName.has(column.name)) {
      throw new LogbargeError('SCHEMA_INVALID', `load schema: column ${column.name} appears twice`);
    }
    byName.set(column.name, column);
    claim(column.name, column);
    for (const alias of column.aliases ?? []) claim(alias, column);
  }
  for (const column of columns) {
    if (column.derive && byName.get(column.derive.from)?.type !== 'TIMESTAMPNTZ') {
      throw new LogbargeError(
        'SCHEMA_INVALID',
        `load schema: ${column.name} derives from ${column.derive.from}, which is not a TIMESTAMPNTZ column`,
      );
    }
  }
  return {
    name: file.name,
    version: file.version,
    columns,
    eventTypes: new Set(file.eventTypes),
    column(name) {
      const column = byName.get(name);
      if (!column) throw new LogbargeError('SCHEMA_INVALID', `schema: no column ${name}`);
      return column;
    },
    columnForKey(key) {
      return byKey.get(foldKey(key));
    },
  };
}

let cached: Schema | undefined;

/** Loads the shipped schema once per process (or the file at `path`). */
export function loadSchema(path: string = defaultSchemaPath): Schema {
  if (path === defaultSchemaPath && cached) return cached;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new LogbargeError('SCHEMA_INVALID', `load schema ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const schema = buildSchema(raw);
  if (path === defaultSchemaPath) cached = schema;
  return schema;
}
