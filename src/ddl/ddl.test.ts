/**
 * Table tests of the DDL generators' rules: type mappings, the data-object pattern, refused
 * inputs (file:// destinations, bad identifiers and dates), and the IAM policy's shape.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.js';
import { isCode } from '../errors.js';
import { columnTypes, loadSchema, type Column, type Schema } from '../schema/schema.js';
import { athenaRawType, athenaTypes, generateAthenaDdl, minEventDate, projectionEnd } from './athena.js';
import { checkDate, dataObjectPattern } from './common.js';
import { generateIamPolicy } from './iam.js';
import { generateSnowflakeDdl, snowflakeRawType, snowflakeTypes } from './snowflake.js';

const schema = loadSchema();

function exportOf(exp: Record<string, unknown>, s3: Record<string, unknown> = {}) {
  const config = parseConfig({ s3, exports: [{ name: 'e', ...exp }] }, { env: {}, source: 'test', hostname: 'h' });
  return { exportConfig: config.exports[0]!, s3: config.s3 };
}

const eventTime = { min: '2000-01-01T00:00:00Z', maxAheadMs: 86_400_000 };
const athena = { table: 'airkit_audit_event', database: 'logbarge', startDate: '2026-01-01', eventTime };
const snowflake = { table: 'AIRKIT_AUDIT_EVENT', integration: 'LOGBARGE_S3' };

describe('type mappings', () => {
  it('cover every schema type', () => {
    for (const t of columnTypes) {
      expect(athenaTypes[t]).toBeTruthy();
      expect(snowflakeTypes[t]).toBeTruthy();
    }
  });
});

/** The schema with two extension columns appended, as an `extends` schema would add them. */
const extended: Schema = {
  ...schema,
  column: schema.column.bind(schema),
  columnForKey: schema.columnForKey.bind(schema),
  columns: [
    ...schema.columns,
    ...[
      ['CLIENT_IP', 'VARCHAR'],
      ['THREAT_SCORE', 'NUMBER'],
    ].map(([name, type], i): Column => ({ name: name!, type: type as Column['type'], required: false, description: `${name}.`, index: schema.columns.length + i })),
  ],
};

describe('RAW in the DDL', () => {
  const on = exportOf({ destination: 's3://audit-bucket/airkit/' }).exportConfig;
  const off = exportOf({ destination: 's3://audit-bucket/airkit/', raw: false }).exportConfig;
  const csv = exportOf({ format: 'csv', destination: 's3://audit-bucket/airkit/' }).exportConfig;
  /** The statement lines (not comments) matching `re`. */
  const lines = (text: string, re: RegExp): string[] => text.split('\n').filter((l) => re.test(l) && !l.startsWith('--'));

  it('types RAW as Athena string and Snowflake VARIANT', () => {
    expect([athenaRawType, snowflakeRawType]).toEqual(['string', 'VARIANT']);
  });

  it.each([
    ['parquet', { ...on }, '  `raw` string'],
    ['csv (the string table)', { ...csv }, '  `raw` string'],
  ])('Athena %s: raw after the last schema column', (_what, exportConfig, rawLine) => {
    const ddl = generateAthenaDdl({ schema: extended, exportConfig, options: athena });
    const table = ddl.slice(ddl.indexOf('CREATE EXTERNAL TABLE'), ddl.indexOf('PARTITIONED BY'));
    expect(table).toContain(`  \`threat_score\` ${exportConfig.format === 'csv' ? 'string' : 'int'},\n${rawLine}\n)`);
  });

  it('Athena csv: the view passes raw through with the NULL mapping, uncast', () => {
    expect(generateAthenaDdl({ schema, exportConfig: csv, options: athena })).toContain(`  NULLIF("event_type", '\\N') AS "event_type",\n  NULLIF("raw", '\\N') AS "raw",\n  "dt"`);
  });

  it('Snowflake: RAW VARIANT after the last column, PARSE_JSON in both COPYs and the external table', () => {
    const ddl = generateSnowflakeDdl({ schema: extended, exportConfig: on, options: snowflake });
    expect(ddl).toContain(`  THREAT_SCORE NUMBER(10,0) COMMENT 'THREAT_SCORE.',\n  RAW VARIANT COMMENT`);
    expect(lines(ddl, /PARSE_JSON/)).toEqual(['      PARSE_JSON($1:RAW::VARCHAR)', '      PARSE_JSON($1:RAW::VARCHAR)', '  RAW VARIANT AS (PARSE_JSON(VALUE:RAW::VARCHAR))']);
    expect(lines(ddl, /MATCH_BY_COLUMN_NAME/)).toEqual([]);
  });

  it('Snowflake csv: RAW is the field after the last schema column, read by position, header skipped', () => {
    const ddl = generateSnowflakeDdl({ schema: extended, exportConfig: csv, options: snowflake });
    const n = extended.columns.length;
    expect(lines(ddl, /PARSE_JSON/)).toEqual([`      PARSE_JSON($${n + 1}::VARCHAR)`, `      PARSE_JSON($${n + 1}::VARCHAR)`, `  RAW VARIANT AS (PARSE_JSON(VALUE:c${n + 1}::VARCHAR))`]);
    expect(lines(ddl, /HEADER/)).toEqual(['  SKIP_HEADER = 1']);
    expect(ddl).not.toContain('_FORMAT_POSITIONAL');
  });

  it.each(['parquet', 'ndjson', 'csv'])('"raw": false (%s): no RAW anywhere, COPY matches by column name', (format) => {
    const exportConfig = exportOf({ format, destination: 's3://audit-bucket/airkit/', raw: false }).exportConfig;
    const sf = generateSnowflakeDdl({ schema, exportConfig, options: snowflake });
    const at = generateAthenaDdl({ schema, exportConfig, options: athena });
    expect(sf).not.toMatch(/RAW|PARSE_JSON/);
    expect(at).not.toMatch(/`raw`|"raw"|json_extract/);
    expect(lines(sf, /MATCH_BY_COLUMN_NAME/)).toHaveLength(2);
  });

  it('"raw": false changes nothing else: the DDL with RAW minus its RAW lines', () => {
    const withRaw = generateAthenaDdl({ schema, exportConfig: on, options: athena });
    const without = generateAthenaDdl({ schema, exportConfig: off, options: athena });
    expect(withRaw.replace(',\n  `raw` string', '').replace(/-- raw holds[\s\S]*$/, '')).toBe(without);
  });
});

describe('Athena partition projection covers every dt= folder ingest can create', () => {
  it.each<[number, string]>([
    [0, 'NOW'],
    [1, 'NOW+1DAYS'],
    [86_400_000, 'NOW+1DAYS'],
    [86_400_001, 'NOW+2DAYS'],
    [36 * 3_600_000, 'NOW+2DAYS'],
    [7 * 86_400_000, 'NOW+7DAYS'],
  ])('maxAheadMs %d → range end %s', (maxAheadMs, end) => {
    expect(projectionEnd(maxAheadMs)).toBe(end);
    const { exportConfig } = exportOf({ destination: 's3://audit-bucket/airkit/' });
    const ddl = generateAthenaDdl({ schema, exportConfig, options: { ...athena, eventTime: { ...eventTime, maxAheadMs } } });
    expect(ddl).toContain(`'projection.dt.range' = '2026-01-01,${end}',`);
  });

  it.each([
    ['2000-01-01T00:00:00Z', '2000-01-01'],
    ['2015-06-30T23:30:00-02:00', '2015-07-01'],
    ['2015-06-30 23:30:00', '2015-06-30'],
  ])('the oldest folder of ingest.eventTime.min %s is dt=%s', (min, date) => {
    expect(minEventDate(min)).toBe(date);
  });

  it('says which accepted events a start date after ingest.eventTime.min leaves out, and how to widen', () => {
    const { exportConfig } = exportOf({ destination: 's3://audit-bucket/airkit/' });
    const later = generateAthenaDdl({ schema, exportConfig, options: athena });
    expect(later).toContain('-- Ingest accepts events dated from 2000-01-01 (ingest.eventTime.min); those dated before 2026-01-01 are in S3');
    expect(later).toContain("-- ('projection.dt.range' = '2000-01-01,NOW+1DAYS');");
    const same = generateAthenaDdl({ schema, exportConfig, options: { ...athena, startDate: '2000-01-01' } });
    expect(same).not.toContain('Ingest accepts events dated from');
  });
});

describe('dataObjectPattern', () => {
  it.each([
    ['parquet', 'zstd', 'dt=2026-03-14/pod-a-1a2b3c4d-000000000001-000000000009.parquet', true],
    ['ndjson', 'gzip', 'airkit/ndjson/dt=2026-03-14/pod-a-1a2b3c4d-000000000001-000000000009.ndjson.gz', true],
    ['ndjson', 'gzip', 'dt=2026-03-14/pod-a-1a2b3c4d-000000000001-000000000009.ndjson', false],
    ['csv', 'none', 'dt=2026-03-14/x.csv', true],
    ['csv', 'none', 'dt=2026-03-14/xcsv', false],
    ['csv', 'none', '_verify/logbarge-verify-test-20260314T092653Z', false],
    ['parquet', 'zstd', 'dt=2026-03-14/sub/x.parquet', false],
    ['ndjson', 'gzip', '_quarantine/dt=2026-03-14/pod-a-1a2b3c4d-000000000001-000000000009.ndjson.gz', false],
    ['parquet', 'zstd', '_sealed/dt=2026-03-14/seal-0001.parquet', false],
    ['parquet', 'zstd', 'airkit/_sealed/dt=2026-03-14/seal-0001.parquet', false],
  ])('%s/%s matches %s: %s', (format, compression, path, matches) => {
    const { exportConfig } = exportOf({ format, compression, destination: 's3://bkt/p/' });
    expect(new RegExp(`^${dataObjectPattern(exportConfig)}$`).test(path)).toBe(matches);
  });
});

describe('refused inputs', () => {
  const local = exportOf({ destination: 'file:///var/lib/logbarge/' }).exportConfig;
  const s3 = exportOf({ destination: 's3://audit-bucket/airkit/' }).exportConfig;
  it.each([
    ['athena with a file:// destination', () => generateAthenaDdl({ schema, exportConfig: local, options: athena }), /generate athena ddl: export "e" writes to file:\/\/\/var\/lib\/logbarge\/; .* need an s3:\/\/ destination/],
    ['snowflake with a file:// destination', () => generateSnowflakeDdl({ schema, exportConfig: local, options: snowflake }), /generate snowflake ddl: export "e" writes to file:/],
    ['iam with a file:// destination', () => generateIamPolicy({ exportConfig: local, s3: exportOf({ destination: 's3://bkt/' }).s3, options: { role: 'writer', verifyExtras: false } }), /generate iam policy: /],
    ['an uppercase Athena table', () => generateAthenaDdl({ schema, exportConfig: s3, options: { ...athena, table: 'Audit' } }), /--table "Audit" is not a plain identifier/],
    ['an Athena database with a dash', () => generateAthenaDdl({ schema, exportConfig: s3, options: { ...athena, database: 'my-db' } }), /--database "my-db"/],
    ['a start date that is not a date', () => generateAthenaDdl({ schema, exportConfig: s3, options: { ...athena, startDate: '2026-02-30' } }), /--start-date "2026-02-30" is not a YYYY-MM-DD date/],
    ['a Snowflake table with a quote', () => generateSnowflakeDdl({ schema, exportConfig: s3, options: { ...snowflake, table: 'A"B' } }), /--table "A"B"/],
    ['a prefix with dt=', () => generateSnowflakeDdl({ schema, exportConfig: exportOf({ destination: 's3://bkt/dt=x/' }).exportConfig, options: snowflake }), /contains "dt="/],
  ])('%s', (_what, run, message) => {
    let thrown: unknown;
    try {
      run();
    } catch (err) {
      thrown = err;
    }
    expect(isCode(thrown, 'USAGE')).toBe(true);
    expect((thrown as Error).message).toMatch(message);
  });

  it('accepts qualified Snowflake names and real dates', () => {
    expect(generateSnowflakeDdl({ schema, exportConfig: s3, options: { ...snowflake, table: 'AUDIT.PUBLIC.EVENTS' } })).toContain('CREATE STAGE IF NOT EXISTS AUDIT.PUBLIC.EVENTS_STAGE');
    expect(checkDate('x', '--start-date', '2024-02-29')).toBe('2024-02-29');
  });
});

describe('generateIamPolicy', () => {
  const sids = (s3: Record<string, unknown>, role: 'writer' | 'reader', verifyExtras = false) => {
    const e = exportOf({ destination: 's3://audit-bucket/airkit/parquet' }, s3);
    return generateIamPolicy({ exportConfig: e.exportConfig, s3: e.s3, options: { role, verifyExtras } });
  };

  it('grants PutObject and AbortMultipartUpload on the prefix, and GetObject (HeadObject) on its dt= and _quarantine/ keys only, without SSE-KMS', () => {
    const { policy } = sids({}, 'writer');
    // A quarantine batch whose upload landed before a crash is checked with HEAD like a data one.
    expect(policy.Statement).toEqual([
      { Sid: 'LogbargeWriteObjects', Effect: 'Allow', Action: ['s3:PutObject', 's3:AbortMultipartUpload'], Resource: 'arn:aws:s3:::audit-bucket/airkit/parquet/*' },
      {
        Sid: 'LogbargeCheckExistingObjects',
        Effect: 'Allow',
        Action: 's3:GetObject',
        Resource: ['arn:aws:s3:::audit-bucket/airkit/parquet/dt=*', 'arn:aws:s3:::audit-bucket/airkit/parquet/_quarantine/*'],
      },
    ]);
  });

  it('with integrity, also lets the writer read its digests back (a digest whose upload landed before a crash is compared, never overwritten)', () => {
    const e = exportOf({ destination: 's3://audit-bucket/airkit/parquet', integrity: { privateKeyFile: '/etc/logbarge/audit.key' } });
    const { policy } = generateIamPolicy({ exportConfig: e.exportConfig, s3: e.s3, options: { role: 'writer', verifyExtras: false } });
    expect(policy.Statement.find((s) => s.Sid === 'LogbargeCheckExistingObjects')?.Resource).toEqual([
      'arn:aws:s3:::audit-bucket/airkit/parquet/dt=*',
      'arn:aws:s3:::audit-bucket/airkit/parquet/_quarantine/*',
      'arn:aws:s3:::audit-bucket/airkit/parquet/_digest/*',
    ]);
  });

  it.each([
    [{ serverSideEncryption: 'AES256' }, ['LogbargeWriteObjects', 'LogbargeCheckExistingObjects']],
    [{ serverSideEncryption: 'aws:kms' }, ['LogbargeWriteObjects', 'LogbargeCheckExistingObjects']],
    [{ serverSideEncryption: 'aws:kms', kmsKeyId: '1234abcd-12ab-34cd-56ef-1234567890ab', region: 'eu-west-1' }, ['LogbargeWriteObjects', 'LogbargeUseKmsKey', 'LogbargeCheckExistingObjects']],
    [{ serverSideEncryption: 'aws:kms:dsse', kmsKeyId: 'alias/logs' }, ['LogbargeWriteObjects', 'LogbargeUseKmsKey', 'LogbargeCheckExistingObjects']],
  ])('KMS statement for %j', (s3, expected) => {
    expect(sids(s3, 'writer').policy.Statement.map((s) => s.Sid)).toEqual(expected);
  });

  it('uses GenerateDataKey and Decrypt on the key, through S3 in its region', () => {
    const kms = sids({ serverSideEncryption: 'aws:kms', kmsKeyId: '1234abcd-12ab-34cd-56ef-1234567890ab', region: 'cn-north-1' }, 'writer').policy.Statement[1]!;
    expect(kms).toEqual({
      Sid: 'LogbargeUseKmsKey',
      Effect: 'Allow',
      Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
      Resource: 'arn:aws-cn:kms:cn-north-1:<ACCOUNT_ID>:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      Condition: { StringEquals: { 'kms:ViaService': 's3.cn-north-1.amazonaws.com' } },
    });
  });

  it('keeps verify extras apart and scoped to _verify/', () => {
    const { policy, notes } = sids({}, 'writer', true);
    expect(policy.Statement.slice(2)).toEqual([
      { Sid: 'OptionalVerifyReadBack', Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::audit-bucket/airkit/parquet/_verify/*' },
      { Sid: 'OptionalVerifyCleanup', Effect: 'Allow', Action: 's3:DeleteObject', Resource: 'arn:aws:s3:::audit-bucket/airkit/parquet/_verify/*' },
      // Listing only _verify/: the daemon's sweep of its old verify objects.
      {
        Sid: 'OptionalVerifyList',
        Effect: 'Allow',
        Action: 's3:ListBucket',
        Resource: 'arn:aws:s3:::audit-bucket',
        Condition: { StringLike: { 's3:prefix': ['airkit/parquet/_verify/*'] } },
      },
    ]);
    expect(notes).toEqual([]);
    expect(sids({}, 'writer').notes.join()).toMatch(/--verify-extras/);
  });

  it('gives a reader Get/List on the prefix and never a write', () => {
    const actions = sids({}, 'reader').policy.Statement.flatMap((s) => s.Action);
    expect(actions).toEqual(['s3:GetObject', 's3:GetObjectVersion', 's3:ListBucket', 's3:GetBucketLocation']);
  });
});
