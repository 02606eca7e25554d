/**
 * What the DDL generators share: the S3 location of an export, the object-name pattern of its
 * data files, identifier checks, and the header every generated text starts with.
 */
import type { ExportConfig } from '../config/schema.js';
import { LogbargeError } from '../errors.js';
import { extensionOf, type Compression, type Format } from '../export/encoders/types.js';
import type { Schema } from '../schema/schema.js';
import { parseS3Url } from '../store/s3.js';

/** Where an export's objects live in S3. */
export interface S3Location {
  /** The destination as configured, normalized to end with `/`. */
  readonly url: string;
  readonly bucket: string;
  /** Key prefix, '' or ending with `/`. */
  readonly prefix: string;
}

/** A usage error (exit code 2) naming what is wrong, with an operator hint. */
export function ddlError(action: string, cause: string, hint?: string): LogbargeError {
  return new LogbargeError('USAGE', `${action}: ${cause}`, hint === undefined ? {} : { hint });
}

/** The S3 location of an export; query engines read only S3, so a `file://` destination is refused. */
export function s3Location(action: string, exportConfig: ExportConfig): S3Location {
  const { destination, name } = exportConfig;
  if (!destination.startsWith('s3://')) {
    throw ddlError(
      action,
      `export "${name}" writes to ${destination}; Athena, Snowflake and IAM need an s3:// destination`,
      'set the export\'s "destination" to s3://bucket/prefix/ (see docs/athena.md or docs/snowflake.md)',
    );
  }
  const { bucket, prefix } = parseS3Url(destination);
  return { url: `s3://${bucket}/${prefix}`, bucket, prefix };
}

/** The lowercase extension of an export's data objects (`.parquet`, `.csv.gz`, …). */
export function dataExtension(exportConfig: ExportConfig): string {
  return extensionOf(exportConfig.format as Format, exportConfig.compression as Compression);
}

/**
 * A POSIX regular expression that matches the full path of every data object of the export and
 * nothing under the export's own folders (`_verify/`, `_quarantine/dt=…`, `_sealed/dt=…`,
 * `_digest/`): `dt=YYYY-MM-DD/<name><ext>` after any folders whose names do not start with `_`.
 * Those folders may be there or not, so it matches whether an engine applies it to the
 * stage-relative path or to the whole key, as long as no folder of the destination's own prefix
 * starts with `_`. Dots are written `[.]` so
 * the pattern needs no backslash, which SQL string literals would otherwise reinterpret.
 */
export function dataObjectPattern(exportConfig: ExportConfig): string {
  const ext = dataExtension(exportConfig).replace(/\./g, '[.]');
  return `([^_/][^/]*/)*dt=[0-9]{4}-[0-9]{2}-[0-9]{2}/[^/]+${ext}`;
}

/** Throws unless `value` is a plain SQL identifier (letters, digits, `_`), optionally qualified with dots. */
export function checkIdentifier(action: string, option: string, value: string, { qualified = false, lowercase = false } = {}): string {
  const part = lowercase ? '[a-z_][a-z0-9_]*' : '[A-Za-z_][A-Za-z0-9_]*';
  const re = new RegExp(qualified ? `^${part}(\\.${part}){0,2}$` : `^${part}$`);
  if (!re.test(value)) {
    throw ddlError(
      action,
      `${option} "${value}" is not a plain identifier`,
      `use ${lowercase ? 'lowercase ' : ''}letters, digits and _ (starting with a letter or _)${qualified ? ', optionally qualified as db.schema.name' : ''}`,
    );
  }
  return value;
}

/** Checks a `YYYY-MM-DD` calendar date and returns it. */
export function checkDate(action: string, option: string, value: string): string {
  const ok = /^\d{4}-\d{2}-\d{2}$/.test(value) && new Date(`${value}T00:00:00Z`).toISOString().startsWith(value);
  if (!ok) throw ddlError(action, `${option} "${value}" is not a YYYY-MM-DD date`, 'e.g. --start-date 2026-01-01');
  return value;
}

/** The comment lines every generated text starts with (`prefix` is `--` for SQL). */
export function headerLines(prefix: string, what: string, schema: Schema, exportConfig: ExportConfig): string[] {
  return [
    `${prefix} ${what} for logbarge export "${exportConfig.name}" (${exportConfig.format}, ${exportConfig.compression}) at ${exportConfig.destination}`,
    `${prefix} Generated from schema ${schema.name} v${schema.version}${schema.base ? ` (extends ${schema.base.name} v${schema.base.version})` : ''} by \`logbarge ddl\`; regenerate it rather than editing it.`,
  ];
}
