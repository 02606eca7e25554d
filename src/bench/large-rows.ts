/**
 * One export of large rows in its own process: fills a fresh spool with N events, each with a
 * raw record of about `--raw-bytes` bytes full of quotes (which JSON escaping doubles), then
 * exports them as NDJSON to a directory with export pages bounded at `--page-bytes` stored bytes
 * (`inf`: rows only, 5,000 per page, as before the byte bound). Prints one JSON line: ok or the
 * error, rows, ms, peak RSS.
 *
 *   node dist/bench/large-rows.js --rows 900 --raw-bytes 330000 [--page-bytes inf]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseConfig } from '../config/load.js';
import { describeError } from '../errors.js';
import { createExportRunner, defaultPageBytes } from '../export/cycle.js';
import { createNdjsonEncoder } from '../export/encoders/text.js';
import { createPreparer } from '../ingest/prepare.js';
import { createLogger } from '../log.js';
import { createMetrics } from '../metrics.js';
import { loadNamedSchema } from '../schema/schema.js';
import { registerExports } from '../spool/exports.js';
import { openSpool } from '../spool/spool.js';
import { openStore } from '../store/open.js';
import { benchEvents } from './fixtures.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '900' },
    'raw-bytes': { type: 'string', default: '330000' },
    'page-bytes': { type: 'string' },
  },
});
const rows = Number(values.rows);
const rawBytes = Number(values['raw-bytes']);
const pageBytes = values['page-bytes'] === 'inf' ? Number.POSITIVE_INFINITY : Number(values['page-bytes'] ?? defaultPageBytes);

const dir = mkdtempSync(join(tmpdir(), 'logbarge-bench-large-'));
try {
  const config = parseConfig(
    { writerId: 'bench', spool: { path: join(dir, 'spool.db') }, exports: [{ name: 'big', format: 'ndjson', compression: 'none', destination: `file://${dir}/out/` }] },
    { env: {}, source: 'bench' },
  );
  const schema = loadNamedSchema(config.schema);
  const spool = openSpool({ path: config.spool.path, synchronous: 'NORMAL' });
  registerExports(spool, ['big']);
  const preparer = createPreparer(schema, config.ingest);
  // A JSON text of ~rawBytes: an array of one string made of escaped quotes.
  const raw = JSON.stringify(['"'.repeat(Math.floor(rawBytes / 2))]);
  const events = benchEvents(rows, 0, `large-${Date.now()}`);
  for (let i = 0; i < rows; i += 50) {
    const prepared = preparer.prepare(events.slice(i, i + 50));
    spool.appendGroups([prepared.rows.map((r) => ({ ...r, raw }))], { now: Date.now(), limits: { maxEvents: 1e9, maxBytes: 1e13 } });
  }
  const store = openStore(config.exports[0]!.destination, config.s3);
  const encoder = createNdjsonEncoder(schema);
  const runner = createExportRunner({
    config: { ...config.exports[0]!, maxRowsPerFile: 1_000_000 },
    spool,
    writerId: 'bench',
    stagingDir: join(dir, 'work'),
    storeFor: () => store,
    encoderFor: () => encoder,
    gate: () => undefined,
    logger: createLogger('silent'),
    metrics: createMetrics(),
    pageBytes,
  });
  const t0 = performance.now();
  const result = await runner.run('flush', { untilCaughtUp: true });
  const ms = performance.now() - t0;
  spool.close();
  process.stdout.write(
    `${JSON.stringify({
      ok: result.error === undefined,
      ...(result.error ? { error: describeError(result.error).slice(0, 200) } : {}),
      rows: result.rows,
      rawBytes: raw.length,
      pageBytes: Number.isFinite(pageBytes) ? pageBytes : 'inf',
      ms,
      peakRssMB: process.resourceUsage().maxRSS / 1024,
    })}\n`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
