/**
 * Snowflake DDL for an export's files, generated from the schema: storage integration, file
 * format(s), stage, target table, COPY INTO, the Snowpipe variant, and an external table
 * partitioned by the `dt=` folder of each object.
 *
 * RAW (unless the export says `"raw": false`) is a VARIANT column filled by PARSE_JSON. COPY
 * cannot combine MATCH_BY_COLUMN_NAME with a transformation, so an export with RAW is loaded by a
 * COPY that selects every column by name (by position for CSV) and converts it explicitly, with
 * the same expressions as the external table.
 *
 * Snowflake string literals treat `\` as an escape, so the NULL marker `\N` is written '\\N'.
 */
import type { ExportConfig } from '../config/schema.js';
import { rawColumnName } from '../export/encoders/types.js';
import type { Column, ColumnType, Schema } from '../schema/schema.js';
import { checkIdentifier, dataObjectPattern, ddlError, headerLines, s3Location, type S3Location } from './common.js';

/** Snowflake column type of each schema type; NUMBER(10,0) holds every Parquet INT32. */
export const snowflakeTypes: Readonly<Record<ColumnType, string>> = {
  VARCHAR: 'VARCHAR',
  NUMBER: 'NUMBER(10,0)',
  DATE: 'DATE',
  TIMESTAMPNTZ: 'TIMESTAMP_NTZ(3)',
};

/** Snowflake type of the RAW column. */
export const snowflakeRawType = 'VARIANT';

/** Placeholder for the IAM role Snowflake assumes; the guide says where it comes from. */
export const roleArnPlaceholder = '<AWS_ROLE_ARN>';

/** Snowflake format of the text dates and timestamps (docs/formats.md). */
const dateFormat = 'YYYY-MM-DD';
const timestampFormat = 'YYYY-MM-DD HH24:MI:SS.FF3';

/** Options of generateSnowflakeDdl. */
export interface SnowflakeDdlOptions {
  /** Target table, optionally qualified (`DB.SCHEMA.TABLE`); other objects are named after it. */
  readonly table: string;
  /** Storage integration name. */
  readonly integration: string;
  /**
   * Load into a landing table and merge new rows into the target with a stream and a task,
   * skipping rows the target already holds (several replicas' copies of one event). Omitted: COPY
   * and Snowpipe load straight into the target.
   */
  readonly dedup?: { readonly warehouse: string };
}

/** Inputs of generateSnowflakeDdl. */
export interface SnowflakeDdlInput {
  readonly schema: Schema;
  readonly exportConfig: ExportConfig;
  readonly options: SnowflakeDdlOptions;
}

const action = 'generate snowflake ddl';

/** The comment on the RAW column. */
const rawDescription = 'The record as the sender sent it (JSON, parsed); NULL when the typed columns hold all of it.';

/** A Snowflake single-quoted string literal. */
function sfString(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/** Format-type options of the export's file format, one per line. */
function formatOptions(exportConfig: ExportConfig, header: 'parse' | 'skip'): string[] {
  const compression = exportConfig.compression === 'gzip' ? 'GZIP' : 'NONE';
  switch (exportConfig.format) {
    case 'parquet':
      // USE_LOGICAL_TYPE: our INT64 TIMESTAMP(MILLIS, isAdjustedToUTC=false) loads as TIMESTAMP_NTZ.
      return ['TYPE = PARQUET', 'COMPRESSION = AUTO', 'USE_LOGICAL_TYPE = TRUE', 'BINARY_AS_TEXT = TRUE', 'NULL_IF = ()'];
    case 'ndjson':
      // NULL_IF = (): only JSON null is NULL; a string that is literally \N stays a string.
      return [
        'TYPE = JSON',
        `COMPRESSION = ${compression}`,
        `DATE_FORMAT = ${sfString(dateFormat)}`,
        `TIMESTAMP_FORMAT = ${sfString(timestampFormat)}`,
        'NULL_IF = ()',
      ];
    default:
      return [
        'TYPE = CSV',
        `COMPRESSION = ${compression}`,
        `FIELD_DELIMITER = ','`,
        `RECORD_DELIMITER = '\\n'`,
        header === 'parse' ? 'PARSE_HEADER = TRUE' : 'SKIP_HEADER = 1',
        `FIELD_OPTIONALLY_ENCLOSED_BY = '"'`,
        'ESCAPE = NONE',
        'ESCAPE_UNENCLOSED_FIELD = NONE',
        `NULL_IF = (${sfString('\\N')})`,
        'EMPTY_FIELD_AS_NULL = FALSE',
        'TRIM_SPACE = FALSE',
        `DATE_FORMAT = ${sfString(dateFormat)}`,
        `TIMESTAMP_FORMAT = ${sfString(timestampFormat)}`,
        `ENCODING = 'UTF8'`,
      ];
  }
}

function fileFormat(name: string, lines: readonly string[]): string {
  return [`CREATE OR REPLACE FILE FORMAT ${name}`, ...lines.map((l) => `  ${l}`)].join('\n') + ';';
}

/** Where a column's value is in a staged file: the external table's VALUE, or a COPY's `$1` (`$<n>` for CSV). */
type Scope = 'external' | 'copy';

/** A reference to the field at 1-based `position` named `name`, as Snowflake reads a staged file. */
function fieldRef(format: string, scope: Scope, position: number, name: string): string {
  if (format === 'csv') return scope === 'external' ? `VALUE:c${position}` : `$${position}`;
  return scope === 'external' ? `VALUE:${name}` : `$1:${name}`;
}

/** The expression that reads one schema column from a staged file with the table's type. */
function columnValue(format: string, scope: Scope, column: Column): string {
  const type = snowflakeTypes[column.type];
  const field = fieldRef(format, scope, column.index + 1, column.name);
  if (format === 'parquet') return `${field}::${type}`;
  switch (column.type) {
    case 'DATE':
      return `TO_DATE(${field}::VARCHAR, ${sfString(dateFormat)})`;
    case 'TIMESTAMPNTZ':
      return `TO_TIMESTAMP_NTZ(${field}::VARCHAR, ${sfString(timestampFormat)})`;
    default:
      return `${field}::${type}`;
  }
}

/** The expression that reads RAW (the field after the schema's columns) as a parsed VARIANT. */
function rawValue(format: string, scope: Scope, schema: Schema): string {
  return `PARSE_JSON(${fieldRef(format, scope, schema.columns.length + 1, rawColumnName)}::VARCHAR)`;
}

/** COPY INTO by column name: the files' columns are the table's. */
function copyByName(table: string, stage: string, format: string, pattern: string): string {
  return [
    `COPY INTO ${table}`,
    `  FROM @${stage}`,
    `  FILE_FORMAT = (FORMAT_NAME = ${sfString(format)})`,
    '  MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE',
    `  PATTERN = ${sfString(pattern)};`,
  ].join('\n');
}

/** COPY INTO with a transformation: every column selected and converted, RAW through PARSE_JSON. */
function copyTransformed(options: { table: string; stage: string; format: string; pattern: string; schema: Schema; fileFormat: string }): string {
  const { schema, fileFormat } = options;
  const names = [...schema.columns.map((c) => c.name), rawColumnName];
  const values = [...schema.columns.map((c) => columnValue(fileFormat, 'copy', c)), rawValue(fileFormat, 'copy', schema)];
  return [
    `COPY INTO ${options.table} (`,
    names.map((n) => `  ${n}`).join(',\n'),
    ')',
    '  FROM (',
    '    SELECT',
    values.map((v) => `      ${v}`).join(',\n'),
    `    FROM @${options.stage}`,
    '  )',
    `  FILE_FORMAT = (FORMAT_NAME = ${sfString(options.format)})`,
    `  PATTERN = ${sfString(options.pattern)};`,
  ].join('\n');
}

/** The partition expression: the date in the object's `dt=YYYY-MM-DD/` folder. */
function partitionExpression(location: S3Location): string {
  if (location.prefix.includes('dt=')) {
    throw ddlError(action, `the destination prefix "${location.prefix}" contains "dt=", which the external table's partition expression splits on`, 'choose a prefix without "dt="');
  }
  return `TO_DATE(SPLIT_PART(SPLIT_PART(METADATA$FILENAME, 'dt=', 2), '/', 1), ${sfString(dateFormat)})`;
}

/**
 * The task's MERGE: new landing rows (from the stream, copies among them collapsed) are inserted
 * unless the target has a row equal in every column; a row with the same EVENT_ID and EVENT_TIME
 * but other content is a conflict and is inserted too (DESIGN.md).
 */
export function mergeStatement(options: { schema: Schema; target: string; stream: string; withRaw?: boolean }): string {
  const { schema, target, stream } = options;
  const names = [...schema.columns.map((c) => c.name), ...(options.withRaw ? [rawColumnName] : [])];
  const keys = ['EVENT_ID', 'EVENT_TIME'];
  const on = [
    ...keys.map((n) => `t.${n} = s.${n}`),
    ...names.filter((n) => !keys.includes(n)).map((n) => `t.${n} IS NOT DISTINCT FROM s.${n}`),
  ];
  return [
    `MERGE INTO ${target} t`,
    `USING (SELECT DISTINCT ${names.join(', ')} FROM ${stream}) s`,
    `ON ${on.join('\n  AND ')}`,
    `WHEN NOT MATCHED THEN INSERT (${names.join(', ')})`,
    `  VALUES (${names.map((n) => `s.${n}`).join(', ')});`,
  ].join('\n');
}

/** CREATE TABLE for the schema's columns, then RAW when the export writes it. */
function tableStatement(table: string, schema: Schema, withRaw: boolean): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${table} (`,
    [
      ...schema.columns.map((c) => `  ${c.name} ${snowflakeTypes[c.type]} COMMENT ${sfString(c.description)}`),
      ...(withRaw ? [`  ${rawColumnName} ${snowflakeRawType} COMMENT ${sfString(rawDescription)}`] : []),
    ].join(',\n'),
    ');',
  ];
}

/** Generates the Snowflake statements for one export, in the order they are run. */
export function generateSnowflakeDdl({ schema, exportConfig, options }: SnowflakeDdlInput): string {
  const table = checkIdentifier(action, '--table', options.table, { qualified: true });
  const integration = checkIdentifier(action, 'integration', options.integration);
  const location = s3Location(action, exportConfig);
  const qualifier = table.includes('.') ? table.slice(0, table.lastIndexOf('.') + 1) : '';
  const base = table.slice(qualifier.length);
  const names = {
    format: `${qualifier}${base}_FORMAT`,
    positional: `${qualifier}${base}_FORMAT_POSITIONAL`,
    stage: `${qualifier}${base}_STAGE`,
    pipe: `${qualifier}${base}_PIPE`,
    external: `${qualifier}${base}_EXTERNAL`,
    landing: `${qualifier}${base}_LANDING`,
    stream: `${qualifier}${base}_LANDING_STREAM`,
    task: `${qualifier}${base}_MERGE`,
  };
  const dedup = options.dedup;
  const warehouse = dedup ? checkIdentifier(action, '--warehouse', dedup.warehouse, { qualified: false }) : undefined;
  const loadInto = dedup ? names.landing : table;
  const isCsv = exportConfig.format === 'csv';
  const withRaw = exportConfig.raw;
  // With RAW, every CSV read is by position (a COPY transformation cannot match by name), so the
  // one file format skips the header; without, COPY parses it and the external table skips it.
  const csvHeader = withRaw ? 'skip' : 'parse';
  const pattern = dataObjectPattern(exportConfig);
  const copy = (into: string): string =>
    withRaw
      ? copyTransformed({ table: into, stage: names.stage, format: names.format, pattern, schema, fileFormat: exportConfig.format })
      : copyByName(into, names.stage, names.format, pattern);
  const out: string[] = [...headerLines('--', 'Snowflake DDL', schema, exportConfig)];
  out.push(
    `-- Replace ${roleArnPlaceholder} with the IAM role Snowflake assumes to read the bucket (docs/snowflake.md).`,
    '-- Step 1 needs ACCOUNTADMIN (or CREATE INTEGRATION); run the rest in the database and schema',
    '-- that should hold the table.',
    '',
    '-- 1. Storage integration: Snowflake reads the bucket through an IAM role of yours.',
    `CREATE STORAGE INTEGRATION IF NOT EXISTS ${integration}`,
    '  TYPE = EXTERNAL_STAGE',
    `  STORAGE_PROVIDER = 'S3'`,
    '  ENABLED = TRUE',
    `  STORAGE_AWS_ROLE_ARN = ${sfString(roleArnPlaceholder)}`,
    `  STORAGE_ALLOWED_LOCATIONS = (${sfString(location.url)});`,
    `-- DESC INTEGRATION ${integration};  -- STORAGE_AWS_IAM_USER_ARN and STORAGE_AWS_EXTERNAL_ID go in the role's trust policy`,
    '',
    `-- 2. File format: the export's ${exportConfig.format.toUpperCase()} files${
      isCsv ? (withRaw ? ' (docs/formats.md dialect; COPY and the external table read the columns by position, so it skips the header)' : ' (docs/formats.md dialect; the header names the columns)') : ''
    }.`,
    fileFormat(names.format, formatOptions(exportConfig, csvHeader)),
  );
  if (isCsv && !withRaw) {
    out.push(
      '-- The external table reads CSV columns by position, so it skips the header instead of parsing it.',
      fileFormat(names.positional, formatOptions(exportConfig, 'skip')),
    );
  }
  out.push(
    '',
    '-- 3. Stage on the destination (not replaced when it exists: the pipe and external table refer to it).',
    `CREATE STAGE IF NOT EXISTS ${names.stage}`,
    `  URL = ${sfString(location.url)}`,
    `  STORAGE_INTEGRATION = ${integration}`,
    `  FILE_FORMAT = ${names.format};`,
    '',
    `-- 4. Target table.${withRaw ? ` ${rawColumnName}: the record as the sender sent it, NULL when the typed columns hold all of it (RAW:field::type reads a value).` : ''}`,
    ...tableStatement(table, schema, withRaw),
    ...(dedup
      ? [
          '-- Landing table: COPY and Snowpipe load every object here as it is, copies written by',
          '-- several replicas included; the task in step 6 merges each distinct event into the target once.',
          ...tableStatement(names.landing, schema, withRaw),
        ]
      : []),
    '',
    `-- 5. Load the objects ${dedup ? 'into the landing table' : 'there'} now; COPY skips objects it has loaded before. PATTERN leaves out _verify/, _quarantine/ and _sealed/.${
      withRaw ? `\n--    It selects and converts each column: MATCH_BY_COLUMN_NAME cannot be combined with the PARSE_JSON of ${rawColumnName}.` : ''
    }`,
    copy(loadInto),
    '',
    '-- 6. Or load continuously: Snowpipe runs the same COPY for each new object.',
    `CREATE PIPE IF NOT EXISTS ${names.pipe}`,
    '  AUTO_INGEST = TRUE',
    '  AS',
    copy(loadInto),
    `-- SHOW PIPES LIKE '${base}_PIPE';  -- send the bucket's s3:ObjectCreated:* events for prefix "${location.prefix}"`,
    '-- to its notification_channel (an SQS queue ARN): S3 console > bucket > Properties > Event notifications.',
    '',
    ...(dedup
      ? [
          '-- Deduplication: a stream of the rows loaded since the last merge, and a task that merges them',
          '-- into the target, skipping rows it already holds (same EVENT_ID, EVENT_TIME and every other',
          '-- column). Same id and time with other content is a conflict: both rows are kept.',
          `CREATE STREAM IF NOT EXISTS ${names.stream} ON TABLE ${names.landing} APPEND_ONLY = TRUE;`,
          `CREATE OR REPLACE TASK ${names.task}`,
          `  WAREHOUSE = ${warehouse}`,
          // Every five minutes, like the exporter's default schedule.
          `  SCHEDULE = '5 MINUTE'`,
          `  WHEN SYSTEM$STREAM_HAS_DATA('${names.stream}')`,
          '  AS',
          mergeStatement({ schema, target: table, stream: names.stream, withRaw }),
          `ALTER TASK ${names.task} RESUME;`,
          `-- The landing table keeps every loaded row; with the task suspended and the stream empty it can be truncated.`,
          '',
        ]
      : []),
    '-- 7. Or query the objects in place: an external table partitioned by their dt= folder.',
    ...(dedup ? ["-- It reads the objects as they are, several replicas' copies included; the target table has each event once."] : []),
    `CREATE OR REPLACE EXTERNAL TABLE ${names.external} (`,
    [
      `  DT DATE AS (${partitionExpression(location)})`,
      ...schema.columns.map((c) => `  ${c.name} ${snowflakeTypes[c.type]} AS (${columnValue(exportConfig.format, 'external', c)})`),
      ...(withRaw ? [`  ${rawColumnName} ${snowflakeRawType} AS (${rawValue(exportConfig.format, 'external', schema)})`] : []),
    ].join(',\n'),
    ')',
    'PARTITION BY (DT)',
    `LOCATION = @${names.stage}`,
    `PATTERN = ${sfString(pattern)}`,
    `FILE_FORMAT = (FORMAT_NAME = ${sfString(isCsv && !withRaw ? names.positional : names.format)})`,
    'AUTO_REFRESH = TRUE;',
    `-- SHOW EXTERNAL TABLES LIKE '${base}_EXTERNAL';  -- its notification_channel takes the same S3 events`,
    '',
    '-- First query:',
    `-- SELECT EVENT_TYPE, COUNT(*) AS EVENTS FROM ${table}`,
    '--   WHERE EVENT_DATE >= DATEADD(DAY, -7, CURRENT_DATE()) GROUP BY EVENT_TYPE ORDER BY EVENTS DESC;',
  );
  return `${out.join('\n')}\n`;
}
