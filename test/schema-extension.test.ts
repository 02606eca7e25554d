/**
 * Schema extensions end to end (config `schema`): canonical events carrying the okta-security.v1
 * columns by name go through HTTP → spool → flush → S3 (fauxqs) in every format, and come back
 * through DuckDB with every value as sent; and a spool written under one schema is exported under
 * another — the files hold exactly the exporting schema's columns, a column the spooled event
 * lacks is NULL, one the schema lacks is left out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { loadNamedSchema, loadSchema, type Schema } from '../src/schema/schema.js';
import { startTestDaemon, tempDir, type TestDaemon } from './support/daemon.js';
import { columnsOf, parquetSchema, readFiles } from './support/duckdb.js';
import { byEventId, columnNamesOf, samples, type Sample } from './support/events.js';
import { openTestStore, startS3Server, type S3TestServer } from './support/s3.js';

const airkit = loadSchema();
const okta = loadNamedSchema('okta-security.v1');
const formats = [
  { name: 'pq', format: 'parquet', compression: 'zstd' },
  { name: 'nd', format: 'ndjson', compression: 'gzip' },
  { name: 'csv', format: 'csv', compression: 'none' },
];

/** Downloads every data object under `prefix` of `bucket` into `dir`. */
async function download(server: S3TestServer, bucket: string, prefix: string, dir: string): Promise<{ key: string; path: string }[]> {
  mkdirSync(dir, { recursive: true });
  const store = openTestStore(`s3://${bucket}/${prefix}`, server.s3Config());
  try {
    const listed = (await store.list('')).filter((o) => o.key.startsWith('dt='));
    return await Promise.all(
      listed.map(async (o, i) => {
        const path = join(dir, `${i}-${o.key.replace(/[^A-Za-z0-9.=-]/g, '_')}`);
        writeFileSync(path, await store.get(o.key));
        return { key: o.key, path };
      }),
    );
  } finally {
    store.close();
  }
}

/** The column names a file carries, in order: Parquet's schema, the CSV header, or each NDJSON line's keys. */
async function columnsInFile(path: string, format: string): Promise<string[][]> {
  if (format === 'parquet') return [Object.keys(await parquetSchema(path))];
  const raw = readFileSync(path);
  const text = (path.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8');
  if (format === 'csv') return [text.slice(0, text.indexOf('\n')).split(',')];
  return text.split('\n').filter((l) => l !== '').map((l) => Object.keys(JSON.parse(l) as object));
}

/** Reads back every file of one export and checks the files carry exactly `schema`'s columns, then RAW. */
async function readExport(options: { server: S3TestServer; bucket: string; prefix: string; dir: string; format: string; schema: Schema }) {
  const files = await download(options.server, options.bucket, options.prefix, options.dir);
  expect(files.length).toBeGreaterThan(0);
  for (const f of files) {
    for (const names of await columnsInFile(f.path, options.format)) expect(names).toEqual([...columnNamesOf(options.schema), 'RAW']);
  }
  return byEventId(await readFiles(files.map((f) => ({ path: f.path, format: options.format })), [...columnsOf(options.schema), ['RAW', 'VARCHAR'] as const]));
}

describe('a daemon configured with schema okta-security.v1', () => {
  let server: S3TestServer;
  let d: TestDaemon;
  const work = tempDir('logbarge-ext-');
  const bucket = 'ext-bucket';
  const sent = samples(30, `ext-${process.pid}`, okta);

  beforeAll(async () => {
    server = await startS3Server();
    await server.createBucket(bucket);
    d = await startTestDaemon(
      { schema: 'okta-security.v1', s3: server.s3Config(), exports: formats.map((e) => ({ ...e, destination: `s3://${bucket}/okta/${e.name}/` })) },
      undefined,
      { openStore: (destination, config) => openTestStore(destination, config.s3) },
    );
    expect((await d.post(sent.map((s) => s.sent))).body).toEqual({ accepted: 30, duplicates: 0 });
    const flush = await d.request('/v1/flush', { method: 'POST' });
    expect(flush.body.exports.map((r: { error?: string }) => r.error)).toEqual(formats.map(() => undefined));
  });
  afterAll(async () => {
    await d?.stop();
    await server?.stop();
    work.remove();
  });

  it('has samples that fill the extension columns, including JSON text for TARGETS and absent columns', () => {
    const client = sent.map((s) => s.sent.CLIENT_IP);
    expect(client).toContain('192.0.2.1');
    expect(client).toContain(undefined);
    expect(client).toContain(null);
    expect(sent.some((s) => typeof s.sent.TARGETS === 'string' && JSON.parse(s.sent.TARGETS as string)[0].id === '00u1')).toBe(true);
  });

  it.each(formats)('$format: every extension value comes back as sent, under exactly the schema\'s columns', async (e) => {
    const rows = await readExport({ server, bucket, prefix: `okta/${e.name}/`, dir: join(work.dir, e.name), format: e.format, schema: okta });
    expect(rows.size).toBe(sent.length);
    for (const s of sent) expect(rows.get(s.expected.EVENT_ID as string)).toEqual(s.expected);
  });

  it('writes the extension columns as Parquet UTF8 strings', async () => {
    const [first] = await download(server, bucket, 'okta/pq/', join(work.dir, 'types'));
    const types = await parquetSchema(first!.path);
    expect(Object.keys(types)).toEqual([...columnNamesOf(okta), 'RAW']);
    for (const c of okta.columns.slice(airkit.columns.length)) expect(types[c.name]).toMatchObject({ type: 'BYTE_ARRAY', converted: 'UTF8' });
  });

  it('validates extension columns like the others: a too-long CLIENT_IP is refused, naming it, and nothing is stored', async () => {
    const before = d.snapshot();
    const [good, bad] = samples(2, `ext-bad-${process.pid}`, okta);
    const answer = await d.post([good!.sent, { ...bad!.sent, CLIENT_IP: 'x'.repeat(5000) }]);
    expect(answer.status).toBe(400);
    expect(answer.body.details).toEqual([{ index: 1, field: 'CLIENT_IP', message: expect.stringContaining('4096') }]);
    expect(d.snapshot()).toEqual(before);
  });
});

describe('a spool written under one schema, exported under another', () => {
  let server: S3TestServer;
  const work = tempDir('logbarge-ext-mix-');
  const bucket = 'late-bucket';
  const spoolDir = join(work.dir, 'spool');
  /** Every export reads the one spool: `okta-*` are flushed under okta-security.v1, `airkit-*` under the Airkit schema. */
  const exportsFor = (group: 'okta' | 'airkit') => formats.map((e) => ({ ...e, name: `${group}-${e.name}`, destination: `s3://${bucket}/${group}/${e.name}/` }));
  const allExports = [...exportsFor('okta'), ...exportsFor('airkit')];
  const underAirkit = samples(12, `mix-a-${process.pid}`);
  const underOkta = samples(12, `mix-o-${process.pid}`, okta);

  /** Starts a daemon on the shared spool; the bucket may not exist yet. */
  const daemon = (schema: string | null, exports: unknown[]) =>
    startTestDaemon({ schema, shutdownTimeoutMs: 2_000, s3: server.s3Config(), exports }, spoolDir, {
      openStore: (destination, config) => openTestStore(destination, config.s3),
    });

  beforeAll(async () => {
    mkdirSync(spoolDir, { recursive: true });
    server = await startS3Server();
    // Accepted under each schema while the bucket is missing: nothing can be delivered yet.
    for (const [schema, batch] of [[null, underAirkit], ['okta-security.v1', underOkta]] as const) {
      const d = await daemon(schema, allExports);
      expect((await d.post(batch.map((s: Sample) => s.sent))).body).toEqual({ accepted: 12, duplicates: 0 });
      await d.stop();
    }
    await server.createBucket(bucket);
  });
  afterAll(async () => {
    await server?.stop();
    work.remove();
  });

  it('under okta-security.v1: Airkit-era events get NULL extension columns, the others keep theirs', async () => {
    const d = await daemon('okta-security.v1', exportsFor('okta'));
    try {
      expect(d.snapshot().depth).toBe(24);
      const flush = await d.request('/v1/flush', { method: 'POST' });
      expect(flush.body.exports.map((r: { rows: number; error?: string }) => [r.rows, r.error])).toEqual(formats.map(() => [24, undefined]));
    } finally {
      await d.stop();
    }
    const widened = (s: Sample) => ({ ...Object.fromEntries(columnNamesOf(okta).map((c) => [c, null])), ...s.expected });
    for (const e of formats) {
      const rows = await readExport({ server, bucket, prefix: `okta/${e.name}/`, dir: join(work.dir, 'okta', e.name), format: e.format, schema: okta });
      expect(rows.size).toBe(24);
      for (const s of underAirkit) expect(rows.get(s.expected.EVENT_ID as string), e.format).toEqual(widened(s));
      for (const s of underOkta) expect(rows.get(s.expected.EVENT_ID as string), e.format).toEqual(s.expected);
    }
  });

  it('under the Airkit schema: the extension columns are left out of every file', async () => {
    const d = await daemon(null, exportsFor('airkit'));
    try {
      const flush = await d.request('/v1/flush', { method: 'POST' });
      expect(flush.body.exports.map((r: { rows: number; error?: string }) => [r.rows, r.error])).toEqual(formats.map(() => [24, undefined]));
    } finally {
      await d.stop();
    }
    const narrowed = (s: Sample) => Object.fromEntries([...columnNamesOf(airkit), 'RAW'].map((c) => [c, s.expected[c]]));
    for (const e of formats) {
      const rows = await readExport({ server, bucket, prefix: `airkit/${e.name}/`, dir: join(work.dir, 'airkit', e.name), format: e.format, schema: airkit });
      expect(rows.size).toBe(24);
      for (const s of [...underAirkit, ...underOkta]) expect(rows.get(s.expected.EVENT_ID as string), e.format).toEqual(narrowed(s));
    }
  });
});
