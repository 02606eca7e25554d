/**
 * `logbarge ddl athena|snowflake|iam [-c FILE] [--export NAME] …`: prints the DDL (or IAM policy)
 * for an export's files, generated from the schema. Exit 0, or 2 for a bad option or config.
 */
import type { Command } from 'commander';
import type { Config, ExportConfig } from '../config/schema.js';
import { generateAthenaDdl, minEventDate } from '../ddl/athena.js';
import { generateBucketPolicy, generateIamPolicy, policyText } from '../ddl/iam.js';
import { generateSnowflakeDdl } from '../ddl/snowflake.js';
import { loadNamedSchema } from '../schema/schema.js';
import { commandConfig, ExitError, exitCodes, type ConfigOption } from './common.js';

/** Options every ddl subcommand takes. */
export interface DdlOptions extends ConfigOption {
  readonly export?: string;
}

/** Options of `ddl athena`. */
export interface AthenaOptions extends DdlOptions {
  readonly table?: string;
  readonly database?: string;
  readonly startDate?: string;
}

/** Options of `ddl snowflake`. */
export interface SnowflakeOptions extends DdlOptions {
  readonly table?: string;
  readonly integration?: string;
  readonly dedup?: boolean;
  readonly warehouse?: string;
}

/** Options of `ddl iam`. */
export interface IamOptions extends DdlOptions {
  readonly reader?: boolean;
  readonly sealer?: boolean;
  readonly bucketPolicy?: boolean;
  readonly verifyExtras?: boolean;
}

/** The config and the export a ddl subcommand works on: `--export NAME`, else the first. */
function selectExport(command: string, options: DdlOptions): { config: Config; exportConfig: ExportConfig } {
  const config = commandConfig(options, { keepUnsetPlaceholders: true });
  const exportConfig = options.export === undefined ? config.exports[0] : config.exports.find((e) => e.name === options.export);
  if (!exportConfig) {
    throw new ExitError(exitCodes.usage, `ddl ${command}: no export named ${options.export} (have: ${config.exports.map((e) => e.name).join(', ')})`);
  }
  return { config, exportConfig };
}

/** Prints the Athena DDL. */
export function athenaCommand(options: AthenaOptions): void {
  const { config, exportConfig } = selectExport('athena', options);
  const schema = loadNamedSchema(config.schema);
  const eventTime = config.ingest.eventTime;
  const text = generateAthenaDdl({
    schema,
    exportConfig,
    options: {
      table: options.table ?? schema.name,
      database: options.database ?? 'logbarge',
      // The oldest dt= folder ingest can create, so every accepted event is in the table.
      startDate: options.startDate ?? minEventDate(eventTime.min),
      eventTime,
    },
  });
  process.stdout.write(text);
}

/** Prints the Snowflake DDL. */
export function snowflakeCommand(options: SnowflakeOptions): void {
  const { config, exportConfig } = selectExport('snowflake', options);
  if (options.dedup && options.warehouse === undefined) {
    throw new ExitError(exitCodes.usage, 'ddl snowflake: --dedup needs --warehouse NAME, the warehouse the merge task runs on');
  }
  if (!options.dedup && options.warehouse !== undefined) throw new ExitError(exitCodes.usage, 'ddl snowflake: --warehouse is for --dedup only');
  const schema = loadNamedSchema(config.schema);
  const text = generateSnowflakeDdl({
    schema,
    exportConfig,
    options: {
      table: options.table ?? schema.name.toUpperCase(),
      integration: options.integration ?? 'LOGBARGE_S3',
      ...(options.dedup ? { dedup: { warehouse: options.warehouse! } } : {}),
    },
  });
  process.stdout.write(text);
}

/** Prints the IAM policy on stdout and notes on stderr. */
export function iamCommand(options: IamOptions): void {
  const { config, exportConfig } = selectExport('iam', options);
  if ([options.reader, options.sealer, options.bucketPolicy].filter(Boolean).length > 1) {
    throw new ExitError(exitCodes.usage, 'ddl iam: choose one of --reader, --sealer and --bucket-policy');
  }
  if (options.bucketPolicy && options.verifyExtras) throw new ExitError(exitCodes.usage, 'ddl iam: --verify-extras is for the writer\'s policy, not --bucket-policy');
  const { policy, notes } = options.bucketPolicy ? generateBucketPolicy({ exportConfig, s3: config.s3 }) : generateIamPolicy({
    exportConfig,
    s3: config.s3,
    options: { role: options.reader ? 'reader' : options.sealer ? 'sealer' : 'writer', verifyExtras: options.verifyExtras ?? false },
  });
  process.stdout.write(policyText(policy));
  for (const note of notes) process.stderr.write(`note: ${note}\n`);
}

const configHelp = 'config file (default: $LOGBARGE_CONFIG, else built-in defaults)';
const exportHelp = 'the export to describe (default: the first)';

/** Registers `ddl` and its subcommands. */
export function register(program: Command): void {
  const ddl = program
    .command('ddl')
    .description('print the Athena or Snowflake DDL, or the IAM policy, for an export\'s files')
    .addHelpText(
      'after',
      `
Everything is generated from the schema and the export's config; docs/athena.md and
docs/snowflake.md walk through using it.

Examples:
  logbarge ddl athena -c prod.json --export athena
  logbarge ddl snowflake -c prod.json --export snowflake --table AUDIT.PUBLIC.AIRKIT_AUDIT_EVENT
  logbarge ddl iam -c prod.json > logbarge-writer-policy.json`,
    );

  ddl
    .command('athena')
    .description('CREATE EXTERNAL TABLE (and for CSV a typed view) with dt partition projection')
    .option('-c, --config <file>', configHelp)
    .option('--export <name>', exportHelp)
    .option('--table <name>', 'table name (default: the schema\'s name, airkit_audit_event unless config "schema" names another; for CSV the view, over <name>_raw)')
    .option('--database <name>', 'database, created if missing (default: logbarge)')
    .option('--start-date <YYYY-MM-DD>', 'first dt partition to project (default: the date of ingest.eventTime.min)')
    .addHelpText(
      'after',
      `
Events dated before --start-date are not visible; widen the range later with
ALTER TABLE … SET TBLPROPERTIES ('projection.dt.range' = '2020-01-01,NOW+1DAYS').
The range ends as many days after NOW as ingest.eventTime.maxAheadMs reaches.
Exit codes: 0 ok, 2 bad option, unknown export or a destination that is not s3://.

Examples:
  logbarge ddl athena -c prod.json
  logbarge ddl athena --export athena --database audit --start-date 2026-01-01`,
    )
    .action(athenaCommand);

  ddl
    .command('snowflake')
    .description('storage integration, stage, file format, table, COPY INTO, Snowpipe and external table')
    .option('-c, --config <file>', configHelp)
    .option('--export <name>', exportHelp)
    .option('--table <name>', 'target table, optionally DB.SCHEMA.TABLE (default: the schema\'s name in capitals, AIRKIT_AUDIT_EVENT unless config "schema" names another)')
    .option('--integration <name>', 'storage integration name (default: LOGBARGE_S3)')
    .option('--dedup', 'load into a landing table and merge each distinct event into the target once (stream + task): for several replicas')
    .option('--warehouse <name>', 'with --dedup: the warehouse the merge task runs on')
    .addHelpText(
      'after',
      `
Replace <AWS_ROLE_ARN> with the role Snowflake assumes (docs/snowflake.md).
With more than one replica writing the destination, --dedup keeps their copies
of an event out of the target table (docs/snowflake.md, Deduplication).
Exit codes: 0 ok, 2 bad option, unknown export or a destination that is not s3://.

Examples:
  logbarge ddl snowflake -c prod.json --export snowflake
  logbarge ddl snowflake --table AUDIT.PUBLIC.AIRKIT_AUDIT_EVENT > snowflake.sql
  logbarge ddl snowflake -c prod.json --export snowflake --dedup --warehouse LOGBARGE_WH`,
    )
    .action(snowflakeCommand);

  ddl
    .command('iam')
    .description('the least-privilege IAM policy JSON for the writer (or, with --reader, a query engine)')
    .option('-c, --config <file>', configHelp)
    .option('--export <name>', exportHelp)
    .option('--verify-extras', 'also allow s3:GetObject, s3:DeleteObject and s3:ListBucket on _verify/ (verify read-back, --cleanup, sweep of old verify objects)')
    .option('--reader', 'the read-only policy for a query engine\'s role instead (e.g. Snowflake\'s storage integration)')
    .option('--sealer', 'the policy for an identity that runs `logbarge seal` (list, read, write and delete under the seal folders)')
    .option('--bucket-policy', 'a bucket policy denying every write to dt=, _quarantine/ and _digest/ without If-None-Match (docs/integrity.md)')
    .addHelpText(
      'after',
      `
The policy JSON goes to stdout, notes to stderr. KMS actions are included when
s3.serverSideEncryption is aws:kms or aws:kms:dsse with an s3.kmsKeyId.
Exit codes: 0 ok, 2 bad option, unknown export or a destination that is not s3://.

Examples:
  logbarge ddl iam -c prod.json > writer-policy.json
  aws iam put-role-policy --role-name logbarge --policy-name logbarge-writer --policy-document file://writer-policy.json
  logbarge ddl iam -c prod.json --export snowflake --reader > snowflake-reader-policy.json
  logbarge ddl iam -c prod.json --bucket-policy > bucket-policy.json`,
    )
    .action(iamCommand);
}
