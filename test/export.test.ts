/**
 * End to end: events through the real HTTP API into the spool, POST /v1/flush, objects on a real
 * S3-compatible server (fauxqs on 127.0.0.1), downloaded and read back with DuckDB using explicit
 * types: every accepted event exactly once, every value as sent, the Parquet types as promised.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openTestStore, startS3Server, type S3TestServer } from './support/s3.js';
import { startTestDaemon, tempDir, type TestDaemon } from './support/daemon.js';
import { parquetSchema, readFiles } from './support/duckdb.js';
import { byEventId, columnNames, samples } from './support/events.js';

const exportsUnderTest = [
  { name: 'pq-zstd', format: 'parquet', compression: 'zstd' },
  { name: 'pq-snappy', format: 'parquet', compression: 'snappy' },
  { name: 'pq-gzip', format: 'parquet', compression: 'gzip', maxRowsPerFile: 7 },
  { name: 'nd-gzip', format: 'ndjson', compression: 'gzip' },
  { name: 'nd-none', format: 'ndjson', compression: 'none', maxRowsPerFile: 5 },
  { name: 'csv-gzip', format: 'csv', compression: 'gzip' },
  { name: 'csv-none', format: 'csv', compression: 'none' },
];

/** Downloads every object under `prefix` into `dir`; returns local paths with their keys. */
async function download(server: S3TestServer, bucket: string, prefix: string, dir: string) {
  const store = openTestStore(`s3://${bucket}/${prefix}`, server.s3Config());
  try {
    const listed = (await store.list('')).filter((o) => o.key.startsWith('dt='));
    return await Promise.all(
      listed.map(async (o, i) => {
        const path = join(dir, `${i}-${o.key.replace(/[^A-Za-z0-9.=-]/g, '_')}`);
        writeFileSync(path, await store.get(o.key));
        return { key: o.key, path, size: o.size };
      }),
    );
  } finally {
    store.close();
  }
}

describe('export to S3', () => {
  let server: S3TestServer;
  let d: TestDaemon;
  const work = tempDir();
  const bucket = 'audit-bucket';
  const sent = samples(60);

  beforeAll(async () => {
    server = await startS3Server();
    await server.createBucket(bucket);
    d = await startTestDaemon(
      {
        s3: server.s3Config(),
        exports: exportsUnderTest.map((e) => ({ ...e, destination: `s3://${bucket}/airkit/${e.name}/` })),
      },
      undefined,
      { openStore: (destination, config) => openTestStore(destination, config.s3) },
    );
    // One request: a size-triggered cycle (after verify, or on housekeeping's 2 s tick) then sees
    // all 60 rows at once, so the split per maxRowsPerFile is the one the test counts.
    const a = await d.post(sent.map((s) => s.sent));
    expect(a.status).toBe(202);
    expect(a.body).toEqual({ accepted: 60, duplicates: 0 });
    expect((await d.post(sent[0]!.sent)).body).toEqual({ accepted: 0, duplicates: 1 });
    const flush = await d.request('/v1/flush', { method: 'POST' });
    expect(flush.status).toBe(200);
    // Exports with a small maxRowsPerFile may have run early (size trigger); the flush delivers the rest.
    expect(flush.body.exports.map((r: { export: string; error?: string }) => [r.export, r.error])).toEqual(
      exportsUnderTest.map((e) => [e.name, undefined]),
    );
  });
  afterAll(async () => {
    await d?.stop();
    await server?.stop();
    work.remove();
  });

  it.each(exportsUnderTest)('$name: every accepted event exactly once, every value as sent', async (e) => {
    const dir = join(work.dir, e.name);
    mkdirSync(dir, { recursive: true });
    const objects = await download(server, bucket, `airkit/${e.name}/`, dir);
    const ext = e.format === 'parquet' ? '.parquet' : e.compression === 'gzip' ? `.${e.format}.gz` : `.${e.format}`;
    for (const o of objects) expect(o.key).toMatch(new RegExp(`^dt=\\d{4}-\\d{2}-\\d{2}/test-[0-9a-f]{8}-\\d{12}-\\d{12}${ext.replace(/\./g, '\\.')}$`));
    const rows = await readFiles(objects.map((o) => ({ path: o.path, format: e.format })));
    expect(rows).toHaveLength(60);
    const got = byEventId(rows);
    for (const s of sent) expect(got.get(s.sent.EVENT_ID as string)).toEqual(s.expected);
    // Each object holds one event date, the one in its dt= folder; split at maxRowsPerFile.
    for (const o of objects) {
      const inFile = await readFiles([{ path: o.path, format: e.format }]);
      const dates = new Set(inFile.map((r) => r.EVENT_DATE));
      expect([...dates]).toEqual([o.key.slice(3, 13)]);
      expect(inFile.length).toBeLessThanOrEqual(e.maxRowsPerFile ?? 1_000_000);
    }
    const perDate = new Map<string, number>();
    for (const s of sent) perDate.set(s.expected.EVENT_DATE as string, (perDate.get(s.expected.EVENT_DATE as string) ?? 0) + 1);
    const expectedObjects = [...perDate.values()].reduce((n, c) => n + Math.ceil(c / (e.maxRowsPerFile ?? 1_000_000)), 0);
    expect(objects).toHaveLength(expectedObjects);
  });

  it('csv: quotes a value holding CR or NUL, as docs/formats.md says', async () => {
    const dir = join(work.dir, 'csv-quoting');
    mkdirSync(dir, { recursive: true });
    const text = (await download(server, bucket, 'airkit/csv-none/', dir)).map((o) => readFileSync(o.path, 'utf8')).join('');
    for (const quoted of ['"a\rb"', ',"\r",', '"ends with cr\r"', '"\r\n"', '"nul\u0000byte"', ',"\u0000",']) expect(text).toContain(quoted);
  });

  it('writes the Parquet types of DESIGN.md', async () => {
    const dir = join(work.dir, 'types');
    mkdirSync(dir, { recursive: true });
    const [first] = await download(server, bucket, 'airkit/pq-zstd/', dir);
    const types = await parquetSchema(first!.path);
    expect(types.ORGANIZATION_ID).toMatchObject({ type: 'BYTE_ARRAY', converted: 'UTF8' });
    expect(types.EVENT_YEAR).toMatchObject({ type: 'INT32' });
    expect(types.EVENT_MONTH).toMatchObject({ type: 'INT32', converted: 'DATE' });
    expect(types.EVENT_DATE).toMatchObject({ type: 'INT32', converted: 'DATE' });
    expect(types.EVENT_TIME!.type).toBe('INT64');
    expect(types.EVENT_TIME!.logical).toMatch(/TimestampType\(isAdjustedToUTC=0, unit=TimeUnit\(MILLIS=/);
    expect(types.RAW).toMatchObject({ type: 'BYTE_ARRAY', converted: 'JSON', logical: 'JsonType()' });
    expect(Object.keys(types)).toEqual([...columnNames, 'RAW']);
  });

  it('empties the spool once every export delivered, and keeps answering retries as duplicates', async () => {
    expect(d.snapshot().depth).toBe(0);
    expect((await d.post(sent.slice(0, 5).map((s) => s.sent))).body).toEqual({ accepted: 0, duplicates: 5 });
    const again = await d.request('/v1/flush', { method: 'POST' });
    expect(again.body.exports.every((r: { batches: number }) => r.batches === 0)).toBe(true);
  });

  it('writes verify objects outside every dt= partition, and metrics count the uploads', async () => {
    const store = openTestStore(`s3://${bucket}/airkit/pq-zstd/`, server.s3Config());
    const verify = await store.list('_verify/');
    store.close();
    expect(verify.length).toBeGreaterThanOrEqual(1);
    expect(verify[0]!.key).toMatch(/^_verify\/logbarge-verify-test-\d{8}T\d{6}Z$/);
    const m = (await d.request('/metrics')).text;
    expect(m).toMatch(/^logbarge_export_rows_total\{export="pq-zstd"\} 60$/m);
    expect(m).toMatch(/^logbarge_destination_verified\{export="csv-none"\} 1$/m);
    expect(m).toMatch(/^logbarge_export_oldest_pending_age_seconds\{export="nd-gzip"\} 0$/m);
  });
});

describe('export to a local directory (the embedded default)', () => {
  it('writes Parquet under dt=…/ that DuckDB reads with the right types', async () => {
    const d = await startTestDaemon();
    try {
      const batch = samples(12);
      expect((await d.post(batch.map((s) => s.sent))).status).toBe(202);
      const flush = await d.request('/v1/flush', { method: 'POST' });
      expect(flush.body.exports[0]).toMatchObject({ export: 'default', rows: 12 });
      const root = join(d.dir, 'exports');
      const files = readdirSync(root, { recursive: true }).map(String).filter((f) => f.endsWith('.parquet')).sort();
      expect(files.map((f) => f.slice(0, 14))).toEqual(['dt=2025-12-31/', 'dt=2026-03-14/']);
      const rows = byEventId(await readFiles(files.map((f) => ({ path: join(root, f), format: 'parquet' }))));
      for (const s of batch) expect(rows.get(s.sent.EVENT_ID as string)).toEqual(s.expected);
      expect(readdirSync(join(root, '_verify')).length).toBe(1);
    } finally {
      await d.stop();
    }
  });
});

describe('verify gates uploads', () => {
  it('keeps spooling and stays unready while the bucket is missing, then delivers once it exists', async () => {
    const server = await startS3Server();
    const d = await startTestDaemon(
      { s3: server.s3Config(), exports: [{ name: 'late', format: 'ndjson', destination: 's3://not-yet/x/' }] },
      undefined,
      { openStore: (destination, config) => openTestStore(destination, config.s3) },
    );
    try {
      const batch = samples(4);
      expect((await d.post(batch.map((s) => s.sent))).status).toBe(202);
      let ready = await d.request('/readyz');
      for (let i = 0; i < 50 && !ready.body.details.join().includes('verify'); i++) {
        await new Promise((r) => setTimeout(r, 100));
        ready = await d.request('/readyz');
      }
      expect(ready.status).toBe(503);
      expect(ready.body.reasons).toEqual(['destination_unverified']);
      expect(ready.body.details.join(' ')).toMatch(/s3:\/\/not-yet\/x\/ has not passed verify/);
      const refused = await d.request('/v1/flush', { method: 'POST' });
      expect(refused.body.exports[0].error).toMatch(/not passed verify/);
      expect(d.snapshot().depth).toBe(4);
      await server.createBucket('not-yet');
      const flush = await d.request('/v1/flush', { method: 'POST' });
      expect(flush.body.exports[0]).toMatchObject({ rows: 4, batches: 2 }); // two event dates
      expect((await d.request('/readyz')).status).toBe(200);
      expect(d.snapshot().depth).toBe(0);
    } finally {
      await d.stop();
      await server.stop();
    }
  });
});
