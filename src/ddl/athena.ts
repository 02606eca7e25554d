/**
 * Athena DDL for an export's files, generated from the schema: a CREATE EXTERNAL TABLE with
 * lowercase columns, `dt` partition projection under the destination, and a SerDe per format.
 *
 * CSV: Athena's OpenCSVSerde reads every column as a string (it cannot type int/date/timestamp
 * values written as text, and has no NULL marker), so CSV gets a string table plus a typed view
 * that maps the unquoted `\N` marker to NULL and casts each column. Table DDL is Hive syntax,
 * where backslashes in string literals are escapes; the view is Trino SQL, where they are not.
 *
 * RAW (unless the export says `"raw": false`) is a `string` column after the schema's columns:
 * JSON text, read with json_extract_scalar / json_extract.
 */
import type { ExportConfig } from '../config/schema.js';
import { rawColumnName } from '../export/encoders/types.js';
import type { Column, ColumnType, Schema } from '../schema/schema.js';
import { dateParts, isProblem, parseTimestamp } from '../schema/coerce.js';
import { sealedStatements } from './athena-sealed.js';
import { checkDate, checkIdentifier, ddlError, headerLines, s3Location } from './common.js';

/** Athena (Hive DDL) column type of each schema type. */
export const athenaTypes: Readonly<Record<ColumnType, string>> = {
  VARCHAR: 'string',
  NUMBER: 'int',
  DATE: 'date',
  TIMESTAMPNTZ: 'timestamp',
};

/** Athena type of the RAW column: JSON text. */
export const athenaRawType = 'string';

/** Trino type each CSV view column is cast to (VARCHAR columns are not cast). */
const viewCasts: Readonly<Record<ColumnType, string | undefined>> = {
  VARCHAR: undefined,
  NUMBER: 'integer',
  DATE: 'date',
  TIMESTAMPNTZ: 'timestamp',
};

/** Options of generateAthenaDdl. */
export interface AthenaDdlOptions {
  /**
   * Table name (lowercase); for CSV the typed view gets it and the string table `<table>_raw`.
   * A sealed export's view gets it, over `<table>_unsealed` (the raw objects), `<table>_sealed`
   * and `<table>_seals`.
   */
  readonly table: string;
  /** Database (created if missing). */
  readonly database: string;
  /** First `dt` partition, `YYYY-MM-DD`; partition projection ranges from it to NOW (+ eventTime.maxAheadMs). */
  readonly startDate: string;
  /** The `ingest.eventTime` config: the event times ingest accepts, so the dt= folders that can exist. */
  readonly eventTime: { readonly min: string; readonly maxAheadMs: number };
}

/** Inputs of generateAthenaDdl. */
export interface AthenaDdlInput {
  readonly schema: Schema;
  readonly exportConfig: ExportConfig;
  readonly options: AthenaDdlOptions;
}

const action = 'generate athena ddl';

/**
 * OpenCSVSerde escape character. Its default, `\`, silently drops every backslash not followed by
 * a quote (so `\N` would read as `N`), and setting it to `"` makes Hive fall back to `\` (Trino
 * keeps that behaviour). U+0001 (Hive's Ctrl-A) disables escaping for all data without it.
 */
const csvEscapeChar = '\\u0001';

/** A column of the generated table: a schema column, or RAW (typed `string`, never cast). */
interface TableColumn {
  readonly name: string;
  /** The schema type; undefined for RAW. */
  readonly type: ColumnType | undefined;
}

/** The table's columns: the schema's, then RAW unless the export says `"raw": false`. */
function tableColumns(schema: Schema, exportConfig: ExportConfig): TableColumn[] {
  const columns: TableColumn[] = schema.columns.map((c: Column) => ({ name: c.name, type: c.type }));
  return exportConfig.raw ? [...columns, { name: rawColumnName, type: undefined }] : columns;
}

function columnList(columns: readonly TableColumn[], type: (c: TableColumn) => string): string {
  return columns.map((c) => `  \`${c.name.toLowerCase()}\` ${type(c)}`).join(',\n');
}

/** Whole days that `maxAheadMs` reaches into past the receive time. */
function aheadDays(maxAheadMs: number): number {
  return Math.ceil(maxAheadMs / 86_400_000);
}

/**
 * The end of the dt projection range: NOW, plus the days `maxAheadMs` reaches into, since ingest
 * accepts event times up to that far past the receive time (Athena takes `NOW+<n>DAYS` relative
 * to the query time, which is never earlier than an event's receive time).
 */
export function projectionEnd(maxAheadMs: number): string {
  const days = aheadDays(maxAheadMs);
  return days === 0 ? 'NOW' : `NOW+${days}DAYS`;
}

/** The UTC date (`YYYY-MM-DD`) of `ingest.eventTime.min`: the oldest dt= folder ingest can create. */
export function minEventDate(min: string): string {
  const ms = parseTimestamp(min);
  if (isProblem(ms)) throw ddlError(action, `ingest.eventTime.min ${ms.problem}`, 'set it to an ISO-8601 timestamp, e.g. 2000-01-01T00:00:00Z');
  return dateParts(ms).date;
}

function projectionProperties(location: string, range: string): string[] {
  return [
    `  'projection.enabled' = 'true',`,
    `  'projection.dt.type' = 'date',`,
    `  'projection.dt.format' = 'yyyy-MM-dd',`,
    `  'projection.dt.range' = '${range}',`,
    `  'projection.dt.interval' = '1',`,
    `  'projection.dt.interval.unit' = 'DAYS',`,
    `  'storage.location.template' = '${location}dt=\${dt}/'`,
  ];
}

function rowFormat(format: string): string[] {
  switch (format) {
    case 'parquet':
      return ['STORED AS PARQUET'];
    case 'ndjson':
      // OpenX lowercases JSON keys (case.insensitive), so EVENT_TIME fills event_time.
      return [
        `ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'`,
        `WITH SERDEPROPERTIES ('case.insensitive' = 'true', 'ignore.malformed.json' = 'false')`,
      ];
    default:
      return [
        `ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.OpenCSVSerde'`,
        `WITH SERDEPROPERTIES ('separatorChar' = ',', 'quoteChar' = '"', 'escapeChar' = '${csvEscapeChar}')`,
      ];
  }
}

function csvNotes(): string[] {
  return [
    '--',
    '-- CSV in Athena: OpenCSVSerde reads every column as a string, so the table below holds strings',
    '-- and the view after it maps the NULL marker \\N to NULL and casts to int, date and timestamp.',
    '-- Limits of Athena\'s CSV reader (prefer the parquet or ndjson format for Athena):',
    '--   * it reads line by line: a value containing a line break (CR or LF) splits its row;',
    '--   * it cannot tell \\N (NULL) from "\\N" (a string that is literally \\N): both read as NULL;',
    '--   * a value containing U+0001 (the escape character set below) loses that character.',
  ];
}

function viewSql(columns: readonly TableColumn[], qualifiedView: string, qualifiedTable: string): string {
  const items = columns.map((c) => {
    const name = `"${c.name.toLowerCase()}"`;
    const value = `NULLIF(${name}, '\\N')`;
    const cast = c.type === undefined ? undefined : viewCasts[c.type];
    return `  ${cast ? `CAST(${value} AS ${cast})` : value} AS ${name}`;
  });
  return [`CREATE OR REPLACE VIEW ${qualifiedView} AS`, 'SELECT', [...items, '  "dt"'].join(',\n'), `FROM ${qualifiedTable};`].join('\n');
}

/** Generates the Athena statements for one export, ready to run in order in the Athena console. */
export function generateAthenaDdl({ schema, exportConfig, options }: AthenaDdlInput): string {
  const table = checkIdentifier(action, '--table', options.table, { lowercase: true });
  const database = checkIdentifier(action, '--database', options.database, { lowercase: true });
  const startDate = checkDate(action, '--start-date', options.startDate);
  const location = s3Location(action, exportConfig);
  const isCsv = exportConfig.format === 'csv';
  const sealed = exportConfig.seal !== null;
  const unsealed = `${database}.${sealed ? `${table}_unsealed` : table}`;
  const tableName = isCsv ? `${database}.${table}_raw` : unsealed;
  const columns = tableColumns(schema, exportConfig);
  const typed = (c: TableColumn): string => (c.type === undefined ? athenaRawType : athenaTypes[c.type]);

  const end = projectionEnd(options.eventTime.maxAheadMs);
  const minDate = minEventDate(options.eventTime.min);

  const out: string[] = [...headerLines('--', 'Athena DDL', schema, exportConfig)];
  const days = aheadDays(options.eventTime.maxAheadMs);
  const ahead = days === 0 ? 'today' : `${days} day${days === 1 ? '' : 's'} after today (ingest.eventTime.maxAheadMs)`;
  out.push(`-- Partition projection finds dt=YYYY-MM-DD/ folders from ${startDate} to ${ahead}: no crawler or MSCK REPAIR.`);
  if (startDate > minDate) {
    out.push(
      `-- Ingest accepts events dated from ${minDate} (ingest.eventTime.min); those dated before ${startDate} are in S3`,
      `-- but not in this table until the range starts earlier: ALTER TABLE ${tableName} SET TBLPROPERTIES`,
      `-- ('projection.dt.range' = '${minDate},${end}');`,
    );
  }
  if (exportConfig.format !== 'parquet' && exportConfig.compression === 'gzip') {
    out.push('-- Athena decompresses the objects by their lowercase .gz extension.');
  }
  if (isCsv) out.push(...csvNotes());
  out.push('', `CREATE DATABASE IF NOT EXISTS ${database};`, '');
  out.push(
    `CREATE EXTERNAL TABLE IF NOT EXISTS ${tableName} (`,
    columnList(columns, (c) => (isCsv ? 'string' : typed(c))),
    ')',
    'PARTITIONED BY (`dt` string)',
    ...rowFormat(exportConfig.format),
    `LOCATION '${location.url}'`,
    'TBLPROPERTIES (',
    ...(isCsv ? [`  'skip.header.line.count' = '1',`] : []),
    ...projectionProperties(location.url, `${startDate},${end}`),
    ');',
  );
  if (isCsv) out.push('', viewSql(columns, unsealed, tableName));
  if (sealed) {
    out.push(
      '',
      ...sealedStatements({
        columns,
        location,
        database,
        table,
        unsealed,
        columnList: (cols) => columnList(cols, typed),
        projection: projectionProperties,
        range: `${startDate},${end}`,
      }),
    );
  }
  out.push(
    '',
    '-- First query:',
    `-- SELECT event_type, count(*) AS events FROM ${database}.${table}`,
    "--   WHERE dt >= date_format(current_date - INTERVAL '7' DAY, '%Y-%m-%d')",
    '--   GROUP BY event_type ORDER BY events DESC;',
  );
  if (exportConfig.raw) {
    out.push(
      '-- raw holds the record as the sender sent it (JSON text; NULL when the typed columns hold all of it);',
      '-- for an Okta System Log event (more paths in docs/athena.md):',
      `-- SELECT event_id, json_extract_scalar(raw, '$.client.ipAddress') AS client_ip FROM ${database}.${table}`,
      '--   WHERE raw IS NOT NULL LIMIT 10;',
    );
  }
  return `${out.join('\n')}\n`;
}
