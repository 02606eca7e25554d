/**
 * Sealing reads whatever the export wrote: NDJSON and CSV (gzip or not) as well as Parquet, every
 * value byte for byte (unicode, CR/LF, NUL, empty vs NULL, a literal \N), and the columns the files
 * themselves carry beyond the schema's (`RAW`, a schema extension's), on the file:// backend.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { sealContextFor } from '../src/app/sealer.js';
import { duckdbTypes } from '../src/export/encoders/parquet.js';
import { loadSchema } from '../src/schema/schema.js';
import { readRecord } from '../src/seal/record.js';
import { sealExport } from '../src/seal/run.js';
import { createFileStore } from '../src/store/file.js';
import { startTestDaemon, tempDir, testConfig, type TestDaemon } from './support/daemon.js';
import { samples } from './support/events.js';
import { readAsAthenaSealed } from './support/ddl-sealed.js';
import { contentKey, downloadAll, rowsInOrder, sealedAthenaDdl } from './support/seal.js';

const schema = loadSchema();
const formats = [
  { name: 'nd-gzip', format: 'ndjson', compression: 'gzip' },
  { name: 'nd-none', format: 'ndjson', compression: 'none' },
  { name: 'csv-gzip', format: 'csv', compression: 'gzip' },
  { name: 'csv-none', format: 'csv', compression: 'none' },
  { name: 'pq-snappy', format: 'parquet', compression: 'snappy' },
];
const seal = { afterHours: 48, leaseSeconds: 60 };

describe('seal: every export format, every value', () => {
  const work = tempDir('logbarge-seal-formats-');
  let daemon: TestDaemon;
  const sent = samples(40, `fmt-${process.pid}-${Date.now()}`);

  beforeAll(async () => {
    daemon = await startTestDaemon({
      exports: formats.map((f) => ({ ...f, destination: `file://${join(work.dir, 'out', f.name)}/`, schedule: '0 0 1 1 *', seal })),
      spool: { path: join(work.dir, 'spool.db'), minFreeBytes: 0 },
    });
    // Twice: the second copy of each event is a duplicate inside one replica and stored once.
    expect((await daemon.post(sent.map((s) => s.sent))).status).toBe(202);
    expect((await daemon.request('/v1/flush', { method: 'POST' })).status).toBe(200);
  });
  afterAll(async () => {
    await daemon?.stop();
    work.remove();
  });

  it.each(formats)('$name: the sealed Parquet holds every value exactly as sent', async (f) => {
    const exportConfig = daemon.config.exports.find((e) => e.name === f.name)!;
    const store = createFileStore({ url: exportConfig.destination });
    const days = [...new Set(sent.map((s) => s.expected.EVENT_DATE as string))].sort();
    for (const dt of days) {
      const result = await sealExport(sealContextFor({ config: daemon.config, exportConfig, store }), { date: dt });
      expect(result.days.map((d) => d.outcome)).toEqual(['sealed']);
    }
    const files = await downloadAll(store, join(work.dir, 'read', f.name));
    const paths: string[] = [];
    for (const dt of days) {
      const record = (await readRecord({ store, dt: dt }))!;
      expect(record.columns.map((c) => c.name)).toEqual([...schema.columns.map((c) => c.name), 'RAW']);
      paths.push(...record.files.map((x) => files.find((o) => o.key === x.key)!.path));
    }
    const rows = await rowsInOrder(paths);
    expect(rows.map(contentKey).sort()).toEqual(sent.map((s) => contentKey(s.expected)).sort());

    // The generated Athena view (as if the objects were at an s3:// destination) reads the sealed
    // days from Parquet, so even CSV values with line breaks come back whole.
    const s3Destination = `s3://proof-bucket/${f.name}/`;
    // Athena's CSV SerDe cannot read values with line breaks (docs/athena.md), so for CSV the raw
    // objects (whose days are all sealed) are left out: every row must come from the sealed files.
    const view = await readAsAthenaSealed(sealedAthenaDdl(daemon.config, { ...exportConfig, destination: s3Destination }), {
      destination: s3Destination,
      objects: f.format === 'csv' ? files.filter((o) => !o.key.startsWith('dt=')) : files,
      workDir: join(work.dir, 'read', f.name),
      now: Date.now(),
    });
    expect(view.map((r) => contentKey(Object.fromEntries(Object.entries(r).map(([k, v]) => [k.toUpperCase(), v])))).sort()).toEqual(sent.map((s) => contentKey(s.expected)).sort());
    store.close();
  });
});

describe('seal: columns come from the files', () => {
  const work = tempDir('logbarge-seal-columns-');
  const dt = '2026-03-14';
  const destination = `file://${join(work.dir, 'dest')}/`;
  const config = testConfig(work.dir, {
    exports: [{ name: 'pq', destination, seal: { stagingDir: join(work.dir, 'staging'), leaseSeconds: 60 } }],
  });
  const exportConfig = config.exports[0]!;
  const folder = join(work.dir, 'dest', `dt=${dt}`);

  /** Writes a Parquet raw object with the schema's columns plus `extra` (name → SQL value), as DuckDB does for the exporter. */
  async function writeParquet(name: string, id: string, extra: Record<string, string>): Promise<void> {
    const instance = await DuckDBInstance.create(':memory:');
    const db = await instance.connect();
    const values = schema.columns.map((c) => {
      const v = c.name === 'EVENT_ID' ? `'${id}'` : c.name === 'EVENT_TIME' ? `TIMESTAMP_MS '2026-03-14 10:00:00.123'` : c.name === 'EVENT_DATE' ? `DATE '2026-03-14'` : 'NULL';
      return `CAST(${v} AS ${duckdbTypes[c.type]}) AS "${c.name}"`;
    });
    const more = Object.entries(extra).map(([k, v]) => `${v} AS "${k}"`);
    await db.run(`COPY (SELECT ${[...values, ...more].join(', ')}) TO '${join(folder, name)}' (FORMAT parquet)`);
    db.closeSync();
    instance.closeSync();
  }

  beforeAll(() => mkdirSync(folder, { recursive: true }));
  afterAll(() => work.remove());

  it('carries RAW and a schema extension\'s column through, with their values, and keeps two contents of one id', async () => {
    await writeParquet('w1-s-000000000001-000000000001.parquet', 'e1', { RAW: `'{"id":"e1","ip":"10.0.0.1"}'`, CLIENT_IP: `'10.0.0.1'` });
    await writeParquet('w2-s-000000000001-000000000001.parquet', 'e1', { RAW: `'{"id":"e1","ip":"10.0.0.1"}'`, CLIENT_IP: `'10.0.0.1'` });
    await writeParquet('w3-s-000000000001-000000000001.parquet', 'e1', { RAW: `'{"id":"e1","ip":"10.0.0.2"}'`, CLIENT_IP: `'10.0.0.2'` });
    // An NDJSON object of the same day (a format change mid-day) with a RAW key: the same event as w1's.
    const row = Object.fromEntries(schema.columns.map((c) => [c.name, null as unknown]));
    Object.assign(row, { EVENT_ID: 'e1', EVENT_TIME: '2026-03-14 10:00:00.123', EVENT_DATE: '2026-03-14' });
    writeFileSync(join(folder, 'w4-s-000000000001-000000000001.ndjson'), `${JSON.stringify({ ...row, RAW: null })}\n`);
    const store = createFileStore({ url: destination });
    const result = await sealExport(sealContextFor({ config, exportConfig, store }), { date: dt });
    expect(result.days[0]!.error).toBeUndefined();
    const record = (await readRecord({ store, dt: dt }))!;
    expect(record.columns.slice(-2)).toEqual([
      { name: 'RAW', type: 'VARCHAR' },
      { name: 'CLIENT_IP', type: 'VARCHAR' },
    ]);
    // w1 and w2 are one event; w3 has other content (a conflict); w4 lacks CLIENT_IP and RAW: other content too.
    expect([record.rows, record.duplicates, record.conflicts]).toEqual([3, 1, 2]);
    const files = await downloadAll(store, join(work.dir, 'read'));
    const rows = await rowsInOrder(record.files.map((f) => files.find((o) => o.key === f.key)!.path));
    expect(rows.map((r) => JSON.stringify([r.RAW, r.CLIENT_IP])).sort()).toEqual(
      [
        ['{"id":"e1","ip":"10.0.0.1"}', '10.0.0.1'],
        ['{"id":"e1","ip":"10.0.0.2"}', '10.0.0.2'],
        [null, null],
      ]
        .map((r) => JSON.stringify(r))
        .sort(),
    );
    store.close();
  });

  it('refuses a text object with a column the schema does not know, naming it, and seals nothing', async () => {
    const day = '2026-03-13';
    const dir = join(work.dir, 'dest', `dt=${day}`);
    mkdirSync(dir, { recursive: true });
    const row = Object.fromEntries(schema.columns.map((c) => [c.name, null as unknown]));
    Object.assign(row, { EVENT_ID: 'x', EVENT_TIME: '2026-03-13 10:00:00.000', CLIENT_IP: '10.0.0.9' });
    writeFileSync(join(dir, 'w1-s-000000000001-000000000001.ndjson'), `${JSON.stringify(row)}\n`);
    const store = createFileStore({ url: destination });
    const result = await sealExport(sealContextFor({ config, exportConfig, store }), { date: day });
    expect(result.days[0]!.outcome).toBe('failed');
    expect(result.days[0]!.error).toMatch(/read columns of dt=2026-03-13\/w1-s-000000000001-000000000001\.ndjson: column "CLIENT_IP" is not in schema airkit_audit_event v1/);
    expect(await readRecord({ store, dt: day })).toBeUndefined();
    expect(await store.list(`_sealed/dt=${day}/`)).toEqual([]);
    store.close();
  });
});
