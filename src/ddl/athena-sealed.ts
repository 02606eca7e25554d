/**
 * The Athena statements of a sealed export (docs/sealing.md): the table over the sealed files
 * (`_sealed/dt=D/`, Parquet), the table over the seal records (`_seals/`, one JSON object per
 * line), and the view readers query. The view takes a day from its current seal's files when the
 * seals table has a record for it, and from the raw objects otherwise (with cross-replica copies
 * removed), so no query sees a day twice. A seal's files are told from an older seal's of the
 * same day by the seal id in their name, which the record names.
 */
import type { S3Location } from './common.js';

/** Names and places of the sealed statements. */
export interface SealedDdlInput<C extends { readonly name: string }> {
  /** The data columns (RAW included when the export writes it), as the raw table declares them. */
  readonly columns: readonly C[];
  readonly location: S3Location;
  readonly database: string;
  /** The view's name; the tables are `<table>_sealed` and `<table>_seals`. */
  readonly table: string;
  /** The table (or, for CSV, typed view) over the raw objects. */
  readonly unsealed: string;
  /** Hive column list renderer and projection properties of the raw table, shared. */
  readonly columnList: (columns: readonly C[]) => string;
  readonly projection: (location: string, range: string) => string[];
  readonly range: string;
}

/** The regular expression that takes the seal id out of a sealed file's path (`…/<sealId>-<n>.parquet`). */
export const sealIdPattern = '/([0-9A-Za-z]+)-[0-9]+[.]parquet$';

/** The sealed table, the seals table and the view, in the order they are run. */
export function sealedStatements<C extends { readonly name: string }>(input: SealedDdlInput<C>): string[] {
  const { database, table, location } = input;
  const sealedTable = `${database}.${table}_sealed`;
  const sealsTable = `${database}.${table}_seals`;
  const sealedLocation = `${location.url}_sealed/`;
  const names = input.columns.map((c) => `"${c.name.toLowerCase()}"`);
  return [
    '-- Sealed days (`logbarge seal`): one deduplicated, sorted set of Parquet files per day.',
    `CREATE EXTERNAL TABLE IF NOT EXISTS ${sealedTable} (`,
    input.columnList(input.columns),
    ')',
    'PARTITIONED BY (`dt` string)',
    'STORED AS PARQUET',
    `LOCATION '${sealedLocation}'`,
    'TBLPROPERTIES (',
    ...input.projection(sealedLocation, input.range),
    ');',
    '',
    '-- The seal records: one line of JSON per sealed day, naming the seal whose files are current.',
    `CREATE EXTERNAL TABLE IF NOT EXISTS ${sealsTable} (`,
    '  `dt` string,',
    '  `seal_id` string,',
    '  `sealed_at` string',
    ')',
    `ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'`,
    `WITH SERDEPROPERTIES ('case.insensitive' = 'true', 'ignore.malformed.json' = 'false')`,
    `LOCATION '${location.url}_seals/';`,
    '',
    '-- Query this view: sealed days from their current seal, the other days from the raw objects',
    '-- without the copies several replicas wrote. A day switches when its seal record lands.',
    `CREATE OR REPLACE VIEW ${database}.${table} AS`,
    `SELECT DISTINCT ${[...names, '"dt"'].join(', ')}`,
    `FROM ${input.unsealed}`,
    `WHERE "dt" NOT IN (SELECT "dt" FROM ${sealsTable} WHERE "dt" IS NOT NULL)`,
    'UNION ALL',
    `SELECT ${[...names, '"dt"'].map((n) => `s.${n}`).join(', ')}`,
    `FROM ${sealedTable} s`,
    `JOIN ${sealsTable} k ON k."dt" = s."dt" AND k."seal_id" = regexp_extract(s."$path", '${sealIdPattern}', 1);`,
  ];
}
