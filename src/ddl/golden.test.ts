/**
 * Golden tests: the exact DDL text for each engine and format, compared with the files in
 * `__golden__/`. A change to the generated text fails here until the golden files are
 * regenerated on purpose and the diff reviewed:
 *
 *   UPDATE_GOLDEN=1 npx vitest run src/ddl
 *
 * (test/ddl-proof.test.ts proves, separately, that the text matches the files.)
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.js';
import { loadNamedSchema, loadSchema } from '../schema/schema.js';
import { generateAthenaDdl } from './athena.js';
import { generateBucketPolicy, generateIamPolicy, policyText } from './iam.js';
import { generateSnowflakeDdl } from './snowflake.js';

const schema = loadSchema();
/** One extended case per engine: the shipped okta-security.v1 (config `schema`). */
const okta = loadNamedSchema('okta-security.v1');
const update = process.env.UPDATE_GOLDEN === '1';

/** A parsed config with one export (and optional s3 settings), as `-c FILE` would give. */
function configWith(exp: Record<string, unknown>, s3: Record<string, unknown> = {}) {
  return parseConfig({ writerId: 'pod-a', s3: { region: 'us-east-1', ...s3 }, exports: [exp] }, { env: {}, source: 'golden' });
}

const text = [
  { file: 'parquet-zstd', exp: { name: 'athena', format: 'parquet', compression: 'zstd', destination: 's3://audit-bucket/airkit/parquet/' } },
  { file: 'ndjson-gzip', exp: { name: 'snowflake', format: 'ndjson', compression: 'gzip', destination: 's3://audit-bucket/airkit/ndjson/' } },
  { file: 'ndjson-none', exp: { name: 'plain', format: 'ndjson', compression: 'none', destination: 's3://audit-bucket/airkit/ndjson-plain/' } },
  { file: 'csv-gzip', exp: { name: 'csv', format: 'csv', compression: 'gzip', destination: 's3://audit-bucket/airkit/csv/' } },
  { file: 'csv-none', exp: { name: 'csv-plain', format: 'csv', compression: 'none', destination: 's3://audit-bucket/airkit/csv-plain/' } },
];

/** The same exports with `"raw": false`: their DDL is the text of before RAW, byte for byte. */
const withoutRaw = text
  .filter((c) => ['parquet-zstd', 'ndjson-gzip', 'csv-none'].includes(c.file))
  .map((c) => ({ file: `${c.file}-raw-false`, exp: { ...c.exp, raw: false } }));

const cases = [
  ...[...text, ...withoutRaw].map((c) => ({
    file: `athena-${c.file}.sql`,
    generate: () => {
      const config = configWith(c.exp);
      return generateAthenaDdl({
        schema,
        exportConfig: config.exports[0]!,
        options: { table: 'airkit_audit_event', database: 'logbarge', startDate: '2026-01-01', eventTime: config.ingest.eventTime },
      });
    },
  })),
  ...[...text, ...withoutRaw].map((c) => ({
    file: `snowflake-${c.file}.sql`,
    generate: () => generateSnowflakeDdl({ schema, exportConfig: configWith(c.exp).exports[0]!, options: { table: 'AIRKIT_AUDIT_EVENT', integration: 'LOGBARGE_S3' } }),
  })),
  {
    file: 'athena-okta-security-parquet-zstd.sql',
    generate: () => {
      const config = configWith(text[0]!.exp);
      return generateAthenaDdl({
        schema: okta,
        exportConfig: config.exports[0]!,
        options: { table: 'okta_security', database: 'logbarge', startDate: '2026-01-01', eventTime: config.ingest.eventTime },
      });
    },
  },
  {
    file: 'snowflake-ndjson-gzip-dedup.sql',
    generate: () =>
      generateSnowflakeDdl({ schema, exportConfig: configWith(text[1]!.exp).exports[0]!, options: { table: 'AIRKIT_AUDIT_EVENT', integration: 'LOGBARGE_S3', dedup: { warehouse: 'LOGBARGE_WH' } } }),
  },
  {
    file: 'athena-parquet-zstd-sealed.sql',
    generate: () => {
      const config = configWith({ ...text[0]!.exp, seal: {} });
      return generateAthenaDdl({
        schema,
        exportConfig: config.exports[0]!,
        options: { table: 'airkit_audit_event', database: 'logbarge', startDate: '2026-01-01', eventTime: config.ingest.eventTime },
      });
    },
  },
  {
    file: 'snowflake-okta-security-ndjson-gzip.sql',
    generate: () => generateSnowflakeDdl({ schema: okta, exportConfig: configWith(text[1]!.exp).exports[0]!, options: { table: 'OKTA_SECURITY', integration: 'LOGBARGE_S3' } }),
  },
  {
    file: 'athena-csv-gzip-sealed.sql',
    generate: () => {
      const config = configWith({ ...text[3]!.exp, seal: {} });
      return generateAthenaDdl({
        schema,
        exportConfig: config.exports[0]!,
        options: { table: 'airkit_audit_event', database: 'logbarge', startDate: '2026-01-01', eventTime: config.ingest.eventTime },
      });
    },
  },
  ...[
    { file: 'iam-writer.json', s3: {}, role: 'writer', verifyExtras: false },
    { file: 'iam-writer-kms-verify.json', s3: { serverSideEncryption: 'aws:kms', kmsKeyId: 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab' }, role: 'writer', verifyExtras: true },
    { file: 'iam-writer-kms-alias.json', s3: { serverSideEncryption: 'aws:kms', kmsKeyId: 'alias/audit-logs' }, role: 'writer', verifyExtras: false },
    { file: 'iam-reader-kms.json', s3: { serverSideEncryption: 'aws:kms', kmsKeyId: 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab' }, role: 'reader', verifyExtras: false },
    { file: 'iam-sealer-delete-raw.json', s3: {}, role: 'sealer', verifyExtras: false, seal: { deleteRaw: true } },
    { file: 'iam-writer-sealed.json', s3: {}, role: 'writer', verifyExtras: false, seal: {} },
  ].map((c) => ({
    file: c.file,
    generate: () => {
      const config = configWith('seal' in c ? { ...text[0]!.exp, seal: c.seal } : text[0]!.exp, c.s3);
      const { policy, notes } = generateIamPolicy({ exportConfig: config.exports[0]!, s3: config.s3, options: { role: c.role as 'writer' | 'reader' | 'sealer', verifyExtras: c.verifyExtras } });
      return policyText(policy) + notes.map((n) => `// note: ${n}\n`).join('');
    },
  })),
  {
    file: 'iam-bucket-policy.json',
    generate: () => {
      const config = configWith(text[0]!.exp);
      const { policy, notes } = generateBucketPolicy({ exportConfig: config.exports[0]!, s3: config.s3 });
      return policyText(policy) + notes.map((n) => `// note: ${n}\n`).join('');
    },
  },
];

describe('golden DDL text', () => {
  it.each([
    ['docs/athena.md', 'athena-parquet-zstd.sql'],
    ['docs/snowflake.md', 'snowflake-ndjson-gzip.sql'],
  ])('%s shows %s verbatim', (doc, file) => {
    const guide = readFileSync(fileURLToPath(new URL(`../../${doc}`, import.meta.url)), 'utf8');
    const golden = readFileSync(fileURLToPath(new URL(`./__golden__/${file}`, import.meta.url)), 'utf8');
    expect(guide.includes(`\`\`\`sql\n${golden}\`\`\`\n`), `${doc} no longer shows the generated ${file}; paste it again`).toBe(true);
  });

  it.each(cases)('$file', ({ file, generate }) => {
    const path = fileURLToPath(new URL(`./__golden__/${file}`, import.meta.url));
    const got = generate();
    if (update) writeFileSync(path, got);
    expect(existsSync(path), `${path} is missing; run UPDATE_GOLDEN=1 npx vitest run src/ddl`).toBe(true);
    expect(got, `generated text drifted from ${file}; if intended, run UPDATE_GOLDEN=1 npx vitest run src/ddl and review the diff`).toBe(readFileSync(path, 'utf8'));
  });
});
