/**
 * The encoder's limit (a child process of the bench): DuckDB's own COPY of the same rows from an
 * NDJSON file to Parquet (zstd), with the same explicit column types logbarge uses and the same
 * RAW column (NULL for these rows, cast to JSON). Only the COPY is timed; the NDJSON file is
 * written first.
 *
 *   node dist/bench/duckdb-copy.js --rows 200000
 */
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DuckDBInstance } from '@duckdb/node-api';
import { duckdbTypes, rowsPerGroup } from '../export/encoders/parquet.js';
import { ndjsonLine } from '../export/encoders/text.js';
import { createPreparer } from '../ingest/prepare.js';
import { defaultEventTime } from '../config/schema.js';
import { loadSchema } from '../schema/schema.js';
import { benchEvents } from './fixtures.js';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '200000' }, seed: { type: 'string', default: 'export' } } });
const rows = Number(values.rows);
const dir = mkdtempSync(join(tmpdir(), 'logbarge-duckcopy-'));
const schema = loadSchema();
try {
  const ndjson = join(dir, 'rows.ndjson');
  const out = createWriteStream(ndjson);
  const preparer = createPreparer(schema, { strictEventTypes: false, unknownFields: 'drop', maxStringLength: 4096, organizationId: null, eventTime: defaultEventTime });
  for (let i = 0; i < rows; i += 10_000) {
    const page = preparer.prepare(benchEvents(Math.min(10_000, rows - i), i, values.seed)).rows.map((r) => ndjsonLine(r, true)).join('\n');
    if (!out.write(`${page}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'close');
  const columns = [...schema.columns.map((c) => `'${c.name}': '${duckdbTypes[c.type]}'`), `'RAW': 'VARCHAR'`].join(', ');
  const instance = await DuckDBInstance.create(join(dir, 'db.duckdb'));
  const db = await instance.connect();
  const parquet = join(dir, 'out.parquet');
  const started = performance.now();
  await db.run(
    `COPY (SELECT * REPLACE (CAST(RAW AS JSON) AS RAW) FROM read_json('${ndjson}', format = 'newline_delimited', records = true, columns = {${columns}}))
     TO '${parquet}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE ${rowsPerGroup(statSync(ndjson).size, rows)})`,
  );
  const seconds = (performance.now() - started) / 1000;
  db.closeSync();
  instance.closeSync();
  process.stdout.write(`${JSON.stringify({ rows, seconds, rowsPerSecond: rows / seconds, bytes: statSync(parquet).size })}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
