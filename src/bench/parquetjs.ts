/**
 * The obvious JavaScript choice (a child process of the bench): parquetjs-lite writing the same
 * rows to a Parquet file with the schema's types (UTF8, INT32, DATE, TIMESTAMP_MILLIS).
 *
 *   node dist/bench/parquetjs.js --rows 200000
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createPreparer } from '../ingest/prepare.js';
import { defaultEventTime } from '../config/schema.js';
import { loadSchema } from '../schema/schema.js';
import { benchEvents } from './fixtures.js';

interface ParquetWriterLike {
  appendRow(row: Record<string, unknown>): Promise<void>;
  close(): Promise<void>;
}
const parquet = createRequire(import.meta.url)('parquetjs-lite') as {
  ParquetSchema: new (fields: Record<string, unknown>) => unknown;
  ParquetWriter: { openFile(schema: unknown, path: string, options?: Record<string, unknown>): Promise<ParquetWriterLike> };
};

const { values } = parseArgs({ options: { rows: { type: 'string', default: '200000' }, seed: { type: 'string', default: 'export' } } });
const rows = Number(values.rows);
const dir = mkdtempSync(join(tmpdir(), 'logbarge-parquetjs-'));
const schema = loadSchema();
const types = { VARCHAR: 'UTF8', NUMBER: 'INT32', DATE: 'DATE', TIMESTAMPNTZ: 'TIMESTAMP_MILLIS' } as const;
try {
  const fields = Object.fromEntries(schema.columns.map((c) => [c.name, { type: types[c.type], optional: true, compression: 'SNAPPY' }]));
  const preparer = createPreparer(schema, { strictEventTypes: false, unknownFields: 'drop', maxStringLength: 4096, organizationId: null, eventTime: defaultEventTime });
  const bodies: string[] = [];
  for (let i = 0; i < rows; i += 10_000) bodies.push(...preparer.prepare(benchEvents(Math.min(10_000, rows - i), i, values.seed)).rows.map((r) => r.body));
  const path = join(dir, 'out.parquet');
  const started = performance.now();
  // The same work the logbarge path does per row: parse the canonical body, type the values.
  const writer = await parquet.ParquetWriter.openFile(new parquet.ParquetSchema(fields), path, { rowGroupSize: 50_000 });
  for (const body of bodies) {
    const event = JSON.parse(body) as Record<string, unknown>;
    const row: Record<string, unknown> = {};
    for (const c of schema.columns) {
      const v = event[c.name];
      if (v === null || v === undefined) continue;
      row[c.name] = c.type === 'TIMESTAMPNTZ' ? new Date(`${String(v).replace(' ', 'T')}Z`) : c.type === 'DATE' ? new Date(`${String(v)}T00:00:00Z`) : v;
    }
    await writer.appendRow(row);
  }
  await writer.close();
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(`${JSON.stringify({ rows, seconds, rowsPerSecond: rows / seconds, bytes: statSync(path).size })}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
