/**
 * `logbarge ddl athena|snowflake|iam` as a user runs it: the same text as the generators, the
 * first export by default, exit 2 naming the choices for an unknown export or a bad option.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { parseConfig } from '../src/config/load.js';
import { generateAthenaDdl } from '../src/ddl/athena.js';
import { generateSnowflakeDdl } from '../src/ddl/snowflake.js';
import { loadNamedSchema, loadSchema } from '../src/schema/schema.js';
import { tempDir } from './support/daemon.js';
import { runCliAsync } from './support/export-check.js';
import { writeConfig } from './support/process.js';

// Every run only reads its config (each config file has its own name), so the runs go at once.
describe.concurrent('logbarge ddl', () => {
  const temp = tempDir();
  const raw = {
    writerId: 'cli',
    spool: { path: join(temp.dir, 'spool.db') },
    s3: { region: 'eu-west-1', serverSideEncryption: 'aws:kms', kmsKeyId: 'arn:aws:kms:eu-west-1:111122223333:key/abcd' },
    exports: [
      { name: 'athena', format: 'parquet', destination: 's3://audit-bucket/airkit/parquet/' },
      { name: 'snowflake', format: 'csv', compression: 'gzip', destination: 's3://audit-bucket/airkit/csv/' },
    ],
  };
  let configPath: string;
  beforeAll(() => {
    configPath = writeConfig(temp.dir, raw);
  });
  afterAll(() => temp.remove());

  it('prints the generated Athena DDL for the first export by default', async () => {
    const r = await runCliAsync(['ddl', 'athena', '-c', configPath, '--start-date', '2026-01-01']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const config = parseConfig(raw, { env: {}, source: 'test' });
    expect(r.stdout).toBe(
      generateAthenaDdl({
        schema: loadSchema(),
        exportConfig: config.exports[0]!,
        options: { table: 'airkit_audit_event', database: 'logbarge', startDate: '2026-01-01', eventTime: config.ingest.eventTime },
      }),
    );
  });

  it('takes --export, --table and --database', async () => {
    const r = await runCliAsync(['ddl', 'athena', '-c', configPath, '--export', 'snowflake', '--table', 'events', '--database', 'audit']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('CREATE EXTERNAL TABLE IF NOT EXISTS audit.events_raw (');
    expect(r.stdout).toContain('CREATE OR REPLACE VIEW audit.events AS');
    // Default start: the date of ingest.eventTime.min; end: as far ahead as maxAheadMs reaches.
    expect(r.stdout).toContain("'projection.dt.range' = '2000-01-01,NOW+1DAYS'");
  });

  it('generates the projection range from ingest.eventTime', async () => {
    const path = writeConfig(temp.dir, { ...raw, ingest: { eventTime: { min: '2010-06-30T23:00:00-05:00', maxAheadMs: 3 * 86_400_000 } } }, 'event-time.json');
    const r = await runCliAsync(['ddl', 'athena', '-c', path]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("'projection.dt.range' = '2010-07-01,NOW+3DAYS'");
    expect(r.stdout).toContain('folders from 2010-07-01 to 3 days after today (ingest.eventTime.maxAheadMs)');
  });

  it('follows config "schema": the extension columns, and the schema\'s name as the default table', async () => {
    const path = writeConfig(temp.dir, { ...raw, schema: 'okta-security.v1' }, 'okta.json');
    const config = parseConfig({ ...raw, schema: 'okta-security.v1' }, { env: {}, source: 'test' });
    const okta = loadNamedSchema('okta-security.v1');
    const athena = await runCliAsync(['ddl', 'athena', '-c', path, '--start-date', '2026-01-01']);
    expect(athena.status).toBe(0);
    expect(athena.stdout).toBe(
      generateAthenaDdl({
        schema: okta,
        exportConfig: config.exports[0]!,
        options: { table: 'okta_security', database: 'logbarge', startDate: '2026-01-01', eventTime: config.ingest.eventTime },
      }),
    );
    expect(athena.stdout).toContain('`client_ip` string');
    const snowflake = await runCliAsync(['ddl', 'snowflake', '-c', path, '--export', 'snowflake']);
    expect(snowflake.status).toBe(0);
    expect(snowflake.stdout).toBe(generateSnowflakeDdl({ schema: okta, exportConfig: config.exports[1]!, options: { table: 'OKTA_SECURITY', integration: 'LOGBARGE_S3' } }));
    expect(snowflake.stdout).toContain('THREAT_SUSPECTED VARCHAR COMMENT');
  });

  it('prints the Snowflake DDL', async () => {
    const r = await runCliAsync(['ddl', 'snowflake', '-c', configPath, '--export', 'snowflake', '--table', 'AUDIT.PUBLIC.EVENTS']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('CREATE TABLE IF NOT EXISTS AUDIT.PUBLIC.EVENTS (');
    expect(r.stdout).toContain("NULL_IF = ('\\\\N')");
    expect(r.stdout).toContain("PATTERN = '([^_/][^/]*/)*dt=[0-9]{4}-[0-9]{2}-[0-9]{2}/[^/]+[.]csv[.]gz'");
  });

  it('prints the IAM policy as pure JSON on stdout and notes on stderr', async () => {
    const r = await runCliAsync(['ddl', 'iam', '-c', configPath]);
    expect(r.status).toBe(0);
    const policy = JSON.parse(r.stdout) as { Statement: { Sid: string; Resource: string }[] };
    expect(policy.Statement.map((s) => s.Sid)).toEqual(['LogbargeWriteObjects', 'LogbargeUseKmsKey', 'LogbargeCheckExistingObjects']);
    expect(policy.Statement[1]!.Resource).toBe('arn:aws:kms:eu-west-1:111122223333:key/abcd');
    expect(r.stderr).toMatch(/^note: Optional: --verify-extras/m);
    const extras = await runCliAsync(['ddl', 'iam', '-c', configPath, '--verify-extras']);
    expect((JSON.parse(extras.stdout) as { Statement: { Sid: string }[] }).Statement.map((s) => s.Sid)).toEqual([
      'LogbargeWriteObjects',
      'LogbargeUseKmsKey',
      'LogbargeCheckExistingObjects',
      'OptionalVerifyReadBack',
      'OptionalVerifyCleanup',
      'OptionalVerifyList',
    ]);
    expect(extras.stderr).toBe('');
  });

  it('--bucket-policy prints the If-None-Match bucket policy; it excludes --reader and --sealer', async () => {
    const r = await runCliAsync(['ddl', 'iam', '-c', configPath, '--bucket-policy']);
    expect(r.status).toBe(0);
    const policy = JSON.parse(r.stdout) as { Statement: { Sid: string; Effect: string; Condition: unknown }[] };
    expect(policy.Statement.map((s) => [s.Sid, s.Effect])).toEqual([['LogbargeRequireIfNoneMatch', 'Deny']]);
    expect(policy.Statement[0]!.Condition).toEqual({ Null: { 's3:if-none-match': 'true' }, Bool: { 's3:ObjectCreationOperation': 'true' } });
    expect(r.stderr).toMatch(/^note: This is a bucket policy/m);
    const both = await runCliAsync(['ddl', 'iam', '-c', configPath, '--bucket-policy', '--reader']);
    expect(both.status).toBe(2);
    expect(both.stderr).toContain('ddl iam: choose one of --reader, --sealer and --bucket-policy');
  });

  it('exits 2 naming the exports for an unknown one', async () => {
    const r = await runCliAsync(['ddl', 'snowflake', '-c', configPath, '--export', 'nope']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('ddl snowflake: no export named nope (have: athena, snowflake)');
  });

  it('exits 2 for a bad option value or a destination that is not s3://', async () => {
    const bad = await runCliAsync(['ddl', 'athena', '-c', configPath, '--start-date', '14/03/2026']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('generate athena ddl: --start-date "14/03/2026" is not a YYYY-MM-DD date');
    const local = await runCliAsync(['ddl', 'iam'], { cwd: temp.dir });
    expect(local.status).toBe(2);
    expect(local.stderr).toContain('export "default" writes to file://./data/exports/');
    expect(local.stderr).toContain('Try: set the export\'s "destination" to s3://bucket/prefix/');
  });

  it('ddl snowflake --dedup needs --warehouse, and prints the merge task with it', async () => {
    const missing = await runCliAsync(['ddl', 'snowflake', '-c', configPath, '--export', 'snowflake', '--dedup']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('ddl snowflake: --dedup needs --warehouse NAME, the warehouse the merge task runs on');
    expect((await runCliAsync(['ddl', 'snowflake', '-c', configPath, '--warehouse', 'WH'])).status).toBe(2);
    const r = await runCliAsync(['ddl', 'snowflake', '-c', configPath, '--export', 'snowflake', '--dedup', '--warehouse', 'LOGBARGE_WH']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('CREATE OR REPLACE TASK AIRKIT_AUDIT_EVENT_MERGE\n  WAREHOUSE = LOGBARGE_WH');
    expect(r.stdout).toMatch(/^COPY INTO AIRKIT_AUDIT_EVENT_LANDING( \(|\n)/m);
  });

  it('ddl athena adds the sealed tables and the view for an export with a seal section', async () => {
    const path = writeConfig(temp.dir, { ...raw, exports: [{ ...raw.exports[0], seal: {} }] }, 'sealed.json');
    const r = await runCliAsync(['ddl', 'athena', '-c', path]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('CREATE EXTERNAL TABLE IF NOT EXISTS logbarge.airkit_audit_event_unsealed (');
    expect(r.stdout).toContain("LOCATION 's3://audit-bucket/airkit/parquet/_sealed/'");
    expect(r.stdout).toContain("LOCATION 's3://audit-bucket/airkit/parquet/_seals/';");
    expect(r.stdout).toContain('CREATE OR REPLACE VIEW logbarge.airkit_audit_event AS');
  });

  it('has help that ends in examples', async () => {
    const commands = [['ddl', '--help'], ['ddl', 'athena', '--help'], ['ddl', 'snowflake', '--help'], ['ddl', 'iam', '--help']];
    for (const r of await Promise.all(commands.map((args) => runCliAsync(args)))) {
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/Examples:\n(  logbarge .*\n|  aws .*\n)+$/);
    }
  });
});
