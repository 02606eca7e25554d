/**
 * Loads the event schema (`schemas/*.json`), the single source of truth for columns and types.
 * Validation, CSV header order, the Parquet schema and the DDL are all generated from it.
 *
 * A schema file may `extends` another (a file name relative to it, or a shipped schema's name)
 * and append columns: the base's columns come first, in their order, then its own. Appended
 * columns are never required (other senders' events lack them) and cannot reuse a base name.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { LogbargeError } from '../errors.js';
import { parseSourcePath, sourcePathText, type SourcePath } from './source-path.js';

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
  /** Per source profile, where the column's value is in that sender's JSON (source-path.ts). */
  sources: z
    .record(z.string(), z.union([z.string(), z.strictObject({ path: z.string(), json: z.boolean().optional() })]))
    .optional(),
});

/** A source profile's name as `sources` keys it (`okta`, `okta-hook`). */
const profileName = /^[a-z0-9][a-z0-9_-]*$/;

const schemaFile = z
  .strictObject({
    $comment: z.string().optional(),
    name: z.string().regex(/^[a-z][a-z0-9_]*$/),
    version: z.number().int().positive(),
    extends: z.string().min(1).optional(),
    columns: z.array(columnFile).min(1),
    eventTypes: z.array(z.string().min(1)).optional(),
  })
  .superRefine((file, ctx) => {
    if (file.extends === undefined && file.eventTypes === undefined) {
      ctx.addIssue({ code: 'custom', path: ['eventTypes'], message: 'is required unless the schema extends another' });
    }
  });

/** One column of the schema, as read from the schema file. */
export type Column = Omit<z.infer<typeof columnFile>, 'sources'> & {
  /** Per source profile name (`okta`), the path of the column's value in that sender's JSON (source-path.ts). */
  readonly sources?: Readonly<Record<string, SourcePath>>;
  /** Position of the column in the schema (CSV order, Parquet order). */
  readonly index: number;
};

/** The loaded schema with lookup helpers. */
export interface Schema {
  /** Schema name, e.g. `airkit_audit_event`. */
  readonly name: string;
  /** Schema version; files of one version share one column list. */
  readonly version: number;
  /** The schema this one extends (its columns come first), or undefined. */
  readonly base: Schema | undefined;
  /** Columns in their fixed order. */
  readonly columns: readonly Column[];
  /** The published EVENT_TYPE values (known to be incomplete). */
  readonly eventTypes: ReadonlySet<string>;
  /** Column by its exact name, e.g. `EVENT_TIME`. */
  column(name: string): Column;
  /** Column matching an input key, case- and underscore-insensitively (`eventTime`, `event_time`), or aliases. */
  columnForKey(key: string): Column | undefined;
}

/** The folder of the schema files that ship with logbarge. */
export const schemasDir = fileURLToPath(new URL('../../schemas/', import.meta.url));

/** Path of the schema file that ships with logbarge. */
export const defaultSchemaPath = join(schemasDir, 'airkit-audit-event.v1.json');

/** Name of the column every export writes after the schema's columns: the record as the sender sent it. */
export const rawColumnName = 'RAW';

/** Folds an input key to its matching form: lowercase, without underscores or dashes. */
export function foldKey(key: string): string {
  return key.replace(/[_-]/g, '').toLowerCase();
}

/** Options of buildSchema. */
export interface BuildSchemaOptions {
  /** The schema the file `extends` (loadSchema finds and loads it); required when the file extends one. */
  readonly base?: Schema;
  /** Where the file came from, for error messages. */
  readonly source?: string;
}

/** Builds a Schema from the parsed contents of a schema file; throws SCHEMA_INVALID naming the bad field. */
export function buildSchema(raw: unknown, options: BuildSchemaOptions = {}): Schema {
  const action = options.source === undefined ? 'load schema' : `load schema ${options.source}`;
  const invalid = (cause: string): LogbargeError => new LogbargeError('SCHEMA_INVALID', `${action}: ${cause}`);
  const parsed = schemaFile.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw invalid(`${issue?.path.join('.') ?? '?'}: ${issue?.message ?? 'invalid'}`);
  }
  const file = parsed.data;
  const { base } = options;
  if (file.extends !== undefined && base === undefined) throw invalid(`extends ${file.extends}, but no base schema was given`);
  if (file.extends === undefined && base !== undefined) throw invalid(`a base schema was given, but the file has no "extends"`);
  const inherited = base?.columns ?? [];
  const columns: Column[] = [...inherited, ...file.columns.map((c, i) => ({ ...c, index: inherited.length + i }))];
  const byName = new Map<string, Column>();
  const byKey = new Map<string, Column>();
  const claim = (key: string, column: Column): void => {
    const folded = foldKey(key);
    const other = byKey.get(folded);
    if (other && other !== column) throw invalid(`key "${key}" of ${column.name} also matches ${other.name}`);
    byKey.set(folded, column);
  };
  for (const column of columns) {
    // Exports append RAW after the schema's columns; a schema column of that name (in any case:
    // DuckDB, Athena and Snowflake fold identifiers) would give files two columns of one name.
    if (column.name.toUpperCase() === rawColumnName) {
      throw invalid(`column ${column.name}: RAW is the column every export appends after the schema's (the record as sent); name this column otherwise`);
    }
    if (byName.has(column.name)) {
      throw invalid(
        column.index >= inherited.length && inherited.some((c) => c.name === column.name)
          ? `column ${column.name} is a column of ${base!.name}, which this schema extends; an extension cannot redefine it`
          : `column ${column.name} appears twice`,
      );
    }
    byName.set(column.name, column);
    claim(column.name, column);
    for (const alias of column.aliases ?? []) claim(alias, column);
  }
  for (const column of columns) {
    if (column.derive && byName.get(column.derive.from)?.type !== 'TIMESTAMPNTZ') {
      throw invalid(`${column.name} derives from ${column.derive.from}, which is not a TIMESTAMPNTZ column`);
    }
    if (base && column.index >= inherited.length && column.required) {
      throw invalid(`column ${column.name} extends ${base.name} and cannot be required: events from other senders lack it`);
    }
    for (const [profile, source] of Object.entries(column.sources ?? {})) {
      if (!profileName.test(profile)) throw invalid(`column ${column.name}, sources.${profile}: profile names are lowercase letters, digits, - or _`);
      try {
        parseSourcePath(sourcePathText(source));
      } catch (err) {
        throw invalid(`column ${column.name}, sources.${profile}: ${(err as Error).message}`);
      }
    }
  }
  return {
    name: file.name,
    version: file.version,
    base,
    columns,
    eventTypes: new Set([...(base?.eventTypes ?? []), ...(file.eventTypes ?? [])]),
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

/** True when a schema reference is a shipped schema's name (`okta-security.v1`), not a file path. */
function isShippedName(ref: string): boolean {
  return !/[\\/]/.test(ref) && !ref.endsWith('.json');
}

/** The names of the shipped schemas (`airkit-audit-event.v1`, …), sorted. */
export function shippedSchemaNames(): string[] {
  return readdirSync(schemasDir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -'.json'.length))
    .sort();
}

/**
 * The file a schema reference names: a shipped schema's name (no `/`, no `.json`) is a file in
 * `schemas/`; anything else is a path, relative to `relativeTo`. Throws SCHEMA_INVALID for an
 * unknown shipped name.
 */
export function schemaFileFor(ref: string, relativeTo: string): string {
  if (!isShippedName(ref)) return resolve(relativeTo, ref);
  const path = join(schemasDir, `${ref}.json`);
  if (!existsSync(path)) {
    throw new LogbargeError('SCHEMA_INVALID', `find schema ${JSON.stringify(ref)}: no shipped schema has that name`, {
      hint: `use one of ${shippedSchemaNames().join(', ')}, or a path to a schema file (containing a / or ending in .json)`,
    });
  }
  return path;
}

const cache = new Map<string, Schema>();

function loadFile(path: string, extendedBy: readonly string[]): Schema {
  const cached = cache.get(path);
  if (cached) return cached;
  if (extendedBy.includes(path)) {
    throw new LogbargeError('SCHEMA_INVALID', `the schemas extend one another in a cycle: ${[...extendedBy.slice(extendedBy.indexOf(path)), path].join(' → ')}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new LogbargeError('SCHEMA_INVALID', `load schema ${path}: ${(err as Error).message}`, { cause: err });
  }
  const ref = (raw as { extends?: unknown } | null)?.extends;
  let base: Schema | undefined;
  if (typeof ref === 'string' && ref !== '') {
    try {
      base = loadFile(schemaFileFor(ref, dirname(path)), [...extendedBy, path]);
    } catch (err) {
      const hint = err instanceof LogbargeError ? err.hint : undefined;
      throw new LogbargeError('SCHEMA_INVALID', `load schema ${path}: extends ${ref}: ${(err as Error).message}`, hint ? { hint } : {});
    }
  }
  const schema = buildSchema(raw, { source: path, ...(base ? { base } : {}) });
  cache.set(path, schema);
  return schema;
}

/**
 * Loads the schema file at `path` (the shipped Airkit schema by default), and the schemas it
 * extends; each file is read once per process.
 */
export function loadSchema(path: string = defaultSchemaPath): Schema {
  return loadFile(resolve(path), []);
}

/**
 * Loads the schema the config key `schema` names: null is the shipped Airkit schema; a shipped
 * schema's name (`okta-security.v1`); else a path to a schema file, relative to the working directory.
 */
export function loadNamedSchema(ref: string | null): Schema {
  return ref === null ? loadSchema() : loadSchema(schemaFileFor(ref, process.cwd()));
}
