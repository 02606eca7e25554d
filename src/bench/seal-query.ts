/**
 * Small files against a sealed day (a child process of the bench): one day of events as 288 × 3
 * Parquet objects (a file per five-minute cycle from each of three replicas, as the exporter
 * names them, under a file:// destination), sealed by the real `sealExport`, then the same DuckDB
 * queries over the 864 small files and over the sealed files, alternating, in one process.
 *
 *   node dist/bench/seal-query.js --rows-per-file 300 --reps 5
 *
 * Prints one JSON line: per query the seconds of each repetition on both layouts, the row and file
 * counts, and how long the seal took.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { parseConfig } from '../config/load.js';
import { defaultEventTime } from '../config/schema.js';
import { duckdbTypes, rowGroupSize } from '../export/encoders/parquet.js';
import { createPreparer } from '../ingest/prepare.js';
import { loadSchema } from '../schema/schema.js';
import { sealContextFor } from '../app/sealer.js';
import { sealExport } from '../seal/run.js';
import { readRecord } from '../seal/record.js';
import { createFileStore } from '../store/file.js';
import { benchEvent } from './fixtures.js';

const { values } = parseArgs({ options: { 'rows-per-file': { type: 'string', default: '300' }, reps: { type: 'string', default: '5' } } });
const rowsPerFile = Number(values['rows-per-file']);
const reps = Number(values.reps);
/** Five-minute cycles in a day, and replicas writing each. */
const slots = 288;
const replicas = 3;
const dt = '2026-03-14';
const dayStart = Date.parse(`${dt}T00:00:00Z`);

const dir = mkdtempSync(join(tmpdir(), 'logbarge-seal-bench-'));
const schema = loadSchema();
try {
  // Canonical rows, as ingest makes them; event times spread over the day, slot by slot.
  const preparer = createPreparer(schema, { strictEventTypes: false, unknownFields: 'drop', maxStringLength: 4096, organizationId: null, eventTime: defaultEventTime });
  const ndjson = join(dir, 'rows.ndjson');
  const lines: string[] = [];
  let i = 0;
  for (let slot = 0; slot < slots; slot++) {
    for (let r = 0; r < replicas; r++) {
      for (let k = 0; k < rowsPerFile; k++, i++) {
        const event = benchEvent(i, 'seal-bench');
        event.EVENT_TIME = new Date(dayStart + slot * 300_000 + ((k * 997 + r * 331) % 300_000)).toISOString();
        const body = preparer.prepare([event]).rows[0]!.body;
        lines.push(JSON.stringify({ ...JSON.parse(body), __file: slot * replicas + r }));
      }
    }
  }
  writeFileSync(ndjson, `${lines.join('\n')}\n`);
  const columns = schema.columns.map((c) => `'${c.name}': '${duckdbTypes[c.type]}'`).join(', ');
  const destination = join(dir, 'dest');
  const folder = join(destination, `dt=${dt}`);
  mkdirSync(folder, { recursive: true });
  const instance = await DuckDBInstance.create(join(dir, 'write.duckdb'));
  const db = await instance.connect();
  await db.run(`CREATE TABLE rows AS SELECT * FROM read_json('${ndjson}', format = 'newline_delimited', records = true, columns = {${columns}, '__file': 'INTEGER'})`);
  const select = schema.columns.map((c) => `"${c.name}"`).join(', ');
  for (let f = 0; f < slots * replicas; f++) {
    const seq = String(f * rowsPerFile + 1).padStart(12, '0');
    const name = `pod-${f % replicas}-bench-${seq}-${String((f + 1) * rowsPerFile).padStart(12, '0')}.parquet`;
    await db.run(`COPY (SELECT ${select} FROM rows WHERE __file = ${f}) TO '${join(folder, name)}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ${rowGroupSize})`);
  }
  db.closeSync();
  instance.closeSync();

  const config = parseConfig(
    { writerId: 'bench', spool: { path: join(dir, 'spool.db') }, exports: [{ name: 'bench', destination: `file://${destination}/`, seal: { memoryLimit: '512MB' } }] },
    { env: {}, source: 'bench' },
  );
  const store = createFileStore({ url: config.exports[0]!.destination });
  const sealStarted = performance.now();
  const result = await sealExport(sealContextFor({ config, exportConfig: config.exports[0]!, store }), { date: dt });
  const sealSeconds = (performance.now() - sealStarted) / 1000;
  if (result.days[0]?.outcome !== 'sealed') throw new Error(`bench seal: ${JSON.stringify(result.days)}`);
  const record = (await readRecord({ store, dt }))!;
  store.close();

  const small = `read_parquet('${folder}/*.parquet')`;
  const sealed = `read_parquet([${record.files.map((f) => `'${join(destination, f.key)}'`).join(', ')}])`;
  const queries = {
    'count by type, whole day': (from: string) => `SELECT EVENT_TYPE, count(*) FROM ${from} GROUP BY EVENT_TYPE ORDER BY 1`,
    'one hour by EVENT_TIME': (from: string) =>
      `SELECT count(*), count(DISTINCT USER_ID) FROM ${from} WHERE EVENT_TIME >= TIMESTAMP '${dt} 13:00:00' AND EVENT_TIME < TIMESTAMP '${dt} 14:00:00'`,
  };
  /** One query in a fresh DuckDB instance (nothing cached between runs), seconds. */
  async function time(sql: string): Promise<{ seconds: number; answer: string }> {
    const duck = await DuckDBInstance.create(':memory:');
    const conn = await duck.connect();
    const started = performance.now();
    const answer = JSON.stringify((await conn.runAndReadAll(sql)).getRowsJson());
    const seconds = (performance.now() - started) / 1000;
    conn.closeSync();
    duck.closeSync();
    return { seconds, answer };
  }
  const out: Record<string, { small: number[]; sealed: number[] }> = {};
  for (const [name, q] of Object.entries(queries)) {
    await time(q(small)); // warm-up: the file system cache holds both layouts for every measured run
    await time(q(sealed));
    const runs = { small: [] as number[], sealed: [] as number[] };
    for (let r = 0; r < reps; r++) {
      const a = await time(q(small));
      const b = await time(q(sealed));
      if (a.answer !== b.answer) throw new Error(`bench seal: "${name}" answers differ: ${a.answer} vs ${b.answer}`);
      runs.small.push(a.seconds);
      runs.sealed.push(b.seconds);
    }
    out[name] = runs;
  }
  process.stdout.write(
    `${JSON.stringify({ rows: record.rows, smallFiles: readdirSync(folder).length, sealedFiles: record.files.length, sealedBytes: record.files.reduce((n, f) => n + f.bytes, 0), sealSeconds, queries: out })}\n`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
