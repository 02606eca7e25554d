/**
 * End to end, the RAW column: events through HTTP (RAW NULL when the typed columns hold them
 * exactly) and rows with chosen raw records appended to the daemon's spool, POST /v1/flush, objects
 * on fauxqs, read back with DuckDB in every format and compression: RAW after the last schema
 * column, byte for byte, NULL as NULL (not the text "null"); `"raw": false` exports write the
 * schema's columns only.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createPreparer } from '../src/ingest/prepare.js';
import { loadSchema } from '../src/schema/schema.js';
import { startTestDaemon, tempDir, type TestDaemon } from './support/daemon.js';
import { exportColumns, parquetSchema, readFiles, schemaColumns } from './support/duckdb.js';
import { downloadData } from './support/export-check.js';
import { byEventId, samples } from './support/events.js';
import { openTestStore, startS3Server, type S3TestServer } from './support/s3.js';

const schema = loadSchema();
const columnNames = schema.columns.map((c) => c.name);
const bucket = 'raw-bucket';

const exportsUnderTest = [
  { name: 'pq-zstd', format: 'parquet', compression: 'zstd' },
  { name: 'pq-snappy', format: 'parquet', compression: 'snappy' },
  { name: 'pq-gzip', format: 'parquet', compression: 'gzip' },
  { name: 'nd-gzip', format: 'ndjson', compression: 'gzip' },
  { name: 'nd-none', format: 'ndjson', compression: 'none' },
  { name: 'csv-gzip', format: 'csv', compression: 'gzip' },
  { name: 'csv-none', format: 'csv', compression: 'none' },
  { name: 'pq-noraw', format: 'parquet', compression: 'zstd', raw: false },
  { name: 'nd-noraw', format: 'ndjson', compression: 'gzip', raw: false },
  { name: 'csv-noraw', format: 'csv', compression: 'none', raw: false },
];

/** Raw records as a sender might send them, stored with events dated 2026-03-14. */
const raws = [
  '{"log":"My test log"}',
  '{"a":1,\r\n "cr":"\\r","lf":"\\n"}',
  '{"ls":"\u2028","ps":"\u2029"}',
  '{"id":1234567890123456789,"f":1.10,"e":1e400}',
  '{"emoji":"🚀","pair":"\\ud83d\\ude80"}',
  '{"marker":"\\\\N"}',
  '"\\\\N"',
  'null',
];
/**
 * Raw texts DuckDB's JSON parser refuses (a lone `\N`, an escaped unpaired surrogate), stored
 * with events dated 2026-03-16: in their own objects, which Parquet writes with RAW as UTF8.
 */
const oddRaws = ['\\N', '{"s":"\\ud800"}'];

describe('the RAW column, HTTP → spool → every format → DuckDB', () => {
  let server: S3TestServer;
  let d: TestDaemon;
  const work = tempDir('logbarge-raw-');
  /** EVENT_ID → the raw record stored with it (null for events sent over HTTP). */
  const expectedRaw = new Map<string, string | null>();

  beforeAll(async () => {
    server = await startS3Server();
    await server.createBucket(bucket);
    d = await startTestDaemon(
      { s3: server.s3Config(), exports: exportsUnderTest.map((e) => ({ ...e, destination: `s3://${bucket}/${e.name}/` })) },
      undefined,
      { openStore: (destination, config) => openTestStore(destination, config.s3) },
    );
    const overHttp = samples(12, `http-${process.pid}`);
    const a = await d.post(overHttp.map((s) => s.sent));
    expect(a.status).toBe(202);
    // Over HTTP, the spool keeps a raw record only for events the typed columns cannot hold
    // exactly (an offset time, an unknown key); the others have none. Expect what it stored.
    const stored = d.daemon.spool.db.prepare('SELECT body, raw FROM events').all() as { body: string; raw: string | null }[];
    for (const row of stored) expectedRaw.set(JSON.parse(row.body).EVENT_ID as string, row.raw);
    expect(new Set(stored.map((r) => r.raw === null))).toEqual(new Set([true, false]));

    const preparer = createPreparer(schema, d.config.ingest);
    const event = (id: string, date: string) => ({ ORGANIZATION_ID: 'org-raw', EVENT_ID: id, EVENT_TIME: `${date}T10:00:00.000Z`, EVENT_TYPE: 'user_login' });
    const withRaw = [
      ...raws.map((raw, i) => ({ raw, record: event(`raw-${process.pid}-${i}`, '2026-03-14') })),
      ...oddRaws.map((raw, i) => ({ raw, record: event(`odd-${process.pid}-${i}`, '2026-03-16') })),
    ];
    const prepared = preparer.prepare(withRaw.map((r) => r.record));
    expect(prepared.errors).toEqual([]);
    const rows = prepared.rows.map((row, i) => ({ ...row, raw: withRaw[i]!.raw }));
    const [outcome] = d.daemon.spool.appendGroups([rows], { now: Date.now(), limits: { maxEvents: 1_000_000, maxBytes: 1e9 } });
    expect(outcome).toMatchObject({ accepted: rows.length, duplicates: 0 });
    for (const r of withRaw) expectedRaw.set(r.record.EVENT_ID, r.raw);

    const flush = await d.request('/v1/flush', { method: 'POST' });
    expect(flush.body.exports.map((r: { export: string; error?: string }) => [r.export, r.error])).toEqual(exportsUnderTest.map((e) => [e.name, undefined]));
  });
  afterAll(async () => {
    await d?.stop();
    await server?.stop();
    work.remove();
  });

  async function objectsOf(name: string) {
    const dir = join(work.dir, name);
    mkdirSync(dir, { recursive: true });
    return downloadData(server, bucket, `${name}/`, dir);
  }

  it.each(exportsUnderTest.filter((e) => e.raw !== false))('$name: RAW after the last schema column, byte for byte, NULL as NULL', async (e) => {
    const objects = await objectsOf(e.name);
    const rows = await readFiles(objects.map((o) => ({ path: o.path, format: e.format })), exportColumns);
    expect(rows).toHaveLength(expectedRaw.size);
    const got = byEventId(rows);
    for (const [id, raw] of expectedRaw) expect(got.get(id)?.RAW, `RAW of ${id}`).toBe(raw);
    // The text "null" is a string; a missing raw record is SQL NULL.
    expect([...got.values()].filter((r) => r.RAW === 'null')).toHaveLength(1);
    expect([...got.values()].filter((r) => r.RAW === null)).toHaveLength([...expectedRaw.values()].filter((r) => r === null).length);
    for (const o of objects) {
      const header =
        e.format === 'parquet'
          ? Object.keys(await parquetSchema(o.path))
          : e.format === 'csv'
            ? fileText(o.path).split('\n')[0]!.split(',')
            : Object.keys(JSON.parse(fileText(o.path).split('\n')[0]!) as object);
      expect(header).toEqual([...columnNames, 'RAW']);
    }
  });

  it.each(exportsUnderTest.filter((e) => e.format === 'parquet' && e.raw !== false))('$name: RAW has the JSON logical type, UTF8 in the object of the texts DuckDB refuses', async (e) => {
    for (const o of await objectsOf(e.name)) {
      const raw = (await parquetSchema(o.path)).RAW;
      if (o.key.startsWith('dt=2026-03-16/')) expect(raw).toEqual({ type: 'BYTE_ARRAY', converted: 'UTF8', logical: null });
      else expect(raw).toEqual({ type: 'BYTE_ARRAY', converted: 'JSON', logical: 'JsonType()' });
    }
  });

  it.each(exportsUnderTest.filter((e) => e.raw === false))('$name ("raw": false): exactly the schema\'s columns, every event once', async (e) => {
    const objects = await objectsOf(e.name);
    for (const o of objects) {
      const header =
        e.format === 'parquet'
          ? Object.keys(await parquetSchema(o.path))
          : e.format === 'csv'
            ? fileText(o.path).split('\n')[0]!.split(',')
            : Object.keys(JSON.parse(fileText(o.path).split('\n')[0]!) as object);
      expect(header).toEqual(columnNames);
    }
    const rows = await readFiles(objects.map((o) => ({ path: o.path, format: e.format })), schemaColumns);
    expect([...byEventId(rows).keys()].sort()).toEqual([...expectedRaw.keys()].sort());
  });
});

/** A downloaded object's text (gunzipped when it is gzip). */
function fileText(path: string): string {
  const bytes = readFileSync(path);
  return (path.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8');
}
