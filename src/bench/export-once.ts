/**
 * One export measurement in its own process (so peak RSS is this export's alone):
 * fills a fresh spool with N rows, then times spool → encoded object on a loopback S3 server
 * (fauxqs) or a directory, pruning on an append worker as the daemon does. Prints one JSON line.
 *
 *   node dist/bench/export-once.js --rows 200000 --format parquet --compression zstd [--store s3|file] [--schema okta-security.v1]
 *     [--raw-every N]   every Nth row carries a raw record (benchRaw), the others none
 *     [--no-raw]        the export says "raw": false (no RAW column)
 *     [--integrity]     the export has `integrity` (hashes each staged file; a digest at the end)
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createExporter } from '../app/exporter.js';
import { workerPruner } from '../export/pruner.js';
import { startAppendThread } from '../spool/append-thread.js';
import { parseConfig } from '../config/load.js';
import { createPreparer } from '../ingest/prepare.js';
import { defaultEventTime } from '../config/schema.js';
import { createLogger } from '../log.js';
import { createMetrics } from '../metrics.js';
import { loadNamedSchema } from '../schema/schema.js';
import { openSpool } from '../spool/spool.js';
import { openStore } from '../store/open.js';
import { benchClock, benchEvents, benchRaw, type BenchClock } from './fixtures.js';
import { startFauxqsChild } from './fauxqs-child.js';

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '200000' },
    format: { type: 'string', default: 'parquet' },
    compression: { type: 'string' },
    store: { type: 'string', default: 's3' },
    fill: { type: 'string' },
    spool: { type: 'string' },
    'raw-every': { type: 'string', default: '0' },
    'no-raw': { type: 'boolean', default: false },
    integrity: { type: 'boolean', default: false },
    /** EVENT_TIMEs spread over this many days in no order (the fixture before issue 11), for A/B runs against older numbers. */
    'scatter-days': { type: 'string' },
    /** Config `schema` of the export (and of the rows filled in): a shipped name or a file; default the Airkit schema. */
    schema: { type: 'string' },
  },
});
const rawEvery = Number(values['raw-every']);
const self = fileURLToPath(import.meta.url);
const rows = Number(values.rows);
const dir = mkdtempSync(join(tmpdir(), 'logbarge-bench-'));
const credentials = { accessKeyId: 'bench', secretAccessKey: 'bench' };
const clock: BenchClock = values['scatter-days'] === undefined ? benchClock : { ...benchClock, scatterDays: Number(values['scatter-days']) };

/** Fills a spool at `path` with `rows` events (run in a child, so its memory is not counted). */
function fill(path: string): void {
  const spool = openSpool({ path, synchronous: 'NORMAL' });
  const preparer = createPreparer(loadNamedSchema(values.schema ?? null), { strictEventTypes: false, unknownFields: 'drop', maxStringLength: 4096, organizationId: null, eventTime: defaultEventTime });
  for (let i = 0; i < rows; i += 10_000) {
    const events = benchEvents(Math.min(10_000, rows - i), i, undefined, clock);
    const prepared = preparer.prepare(events);
    const withRaw = prepared.rows.map((row, k) => (rawEvery > 0 && (i + k) % rawEvery === 0 ? { ...row, raw: benchRaw(events[k]!, i + k) } : row));
    spool.appendGroups([withRaw], { now: Date.now(), limits: { maxEvents: 1e9, maxBytes: 1e13 } });
  }
  spool.close();
}


async function main(): Promise<void> {
  if (values.fill) return fill(values.fill);
  let endpoint: string | null = null;
  let closeS3 = async (): Promise<void> => {};
  if (values.store === 's3') {
    const s3 = await startFauxqsChild('bench');
    endpoint = s3.endpoint;
    closeS3 = async () => s3.stop();
  }
  const destination = values.store === 's3' ? 's3://bench/out/' : `file://${dir}/out/`;
  const keyFile = join(dir, 'digest.key');
  if (values.integrity) writeFileSync(keyFile, generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  const config = parseConfig(
    {
      writerId: 'bench',
      schema: values.schema ?? null,
      spool: { path: join(dir, 'spool.db'), synchronous: 'NORMAL' },
      s3: { region: 'us-east-1', endpoint, forcePathStyle: true },
      exports: [{ name: 'bench', format: values.format, ...(values.compression ? { compression: values.compression } : {}), destination, maxRowsPerFile: 10_000_000, raw: !values['no-raw'], ...(values.integrity ? { integrity: { privateKeyFile: keyFile } } : {}) }],
      log: { level: 'silent' },
    },
    { env: {}, source: 'bench' },
  );
  const filled = spawnSync(process.execPath, ['--no-warnings', self, '--rows', String(rows), '--raw-every', String(rawEvery), '--fill', config.spool.path, ...(values.schema ? ['--schema', values.schema] : []), ...(values['scatter-days'] ? ['--scatter-days', values['scatter-days']] : [])], { stdio: 'inherit' });
  if (filled.status !== 0) throw new Error('bench: filling the spool failed');
  const spool = openSpool({ path: config.spool.path, synchronous: 'NORMAL' });
  // The daemon's set-up: an append worker beside the spool's connection, which the cycle prunes on.
  const thread = await startAppendThread({ path: config.spool.path, synchronous: 'NORMAL', busyTimeoutMs: 1000 });
  const rssBefore = process.resourceUsage().maxRSS;
  /** Summed over the objects (parquet): staging NDJSON from the spool, DuckDB's COPY, and the whole encode. */
  const split = { stageMs: 0, copyMs: 0, encodeMs: 0 };
  const exporter = createExporter({
    config,
    spool,
    // Debug level (or a lower one BENCH_LOG names), to read each object's stage/copy split; lines
    // reach stderr only when BENCH_LOG is set (to anything: BENCH_LOG=1 shows the debug lines).
    logger: createLogger(process.env.BENCH_LOG === 'trace' ? 'trace' : 'debug', {
      write(line: string) {
        const entry = JSON.parse(line) as { msg?: string; stage?: number; copy?: number; encodeMs?: number };
        if (entry.msg === 'object delivered') {
          split.stageMs += entry.stage ?? 0;
          split.copyMs += entry.copy ?? 0;
          split.encodeMs += entry.encodeMs ?? 0;
        }
        if (process.env.BENCH_LOG) process.stderr.write(line);
      },
    }),
    metrics: createMetrics({ defaultMetrics: false }),
    openStore: (d) => openStore(d, config.s3, { credentials }),
    pruner: workerPruner({ spool, thread }),
  });
  await exporter.verify();
  const peaks = { rss: 0, heapUsed: 0, external: 0, arrayBuffers: 0 };
  const timeline: string[] = [];
  const t0 = performance.now();
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    if (process.env.BENCH_TIMELINE) timeline.push(`${((performance.now() - t0) / 1000).toFixed(1)}s rss=${Math.round(m.rss / 1048576)} heap=${Math.round(m.heapUsed / 1048576)}/${Math.round(m.heapTotal / 1048576)} ext=${Math.round(m.external / 1048576)}`);
    for (const k of Object.keys(peaks) as (keyof typeof peaks)[]) peaks[k] = Math.max(peaks[k], Math.round(m[k] / 1048576));
  }, 100);
  const started = performance.now();
  const [result] = await exporter.flush();
  const [digest] = await exporter.writeDigests();
  clearInterval(sampler);
  if (digest?.error) throw new Error(`bench digest failed: ${digest.error}`);
  if (process.env.BENCH_TIMELINE) process.stderr.write(`${timeline.filter((_, i) => i % 5 === 0).join('\n')}\n`);
  const seconds = (performance.now() - started) / 1000;
  await exporter.close();
  await thread.close();
  spool.close();
  await closeS3();
  if (!result || result.error || result.rows !== rows) throw new Error(`bench export failed: ${JSON.stringify(result)}`);
  process.stdout.write(
    `${JSON.stringify({
      format: config.exports[0]!.format,
      compression: config.exports[0]!.compression,
      store: values.store,
      rawColumn: config.exports[0]!.raw,
      rawEvery,
      rows,
      seconds: Number(seconds.toFixed(3)),
      rowsPerSecond: Math.round(rows / seconds),
      deliveredSeconds: (result.deliveredMs ?? 0) / 1000,
      deliveredRowsPerSecond: Math.round(rows / ((result.deliveredMs ?? 1) / 1000)),
      // The export levers: pruning's share of the cycle, staging's share of encoding.
      pruneShare: Number((1 - (result.deliveredMs ?? 0) / 1000 / seconds).toFixed(3)),
      ...split,
      bytes: result.bytes,
      bytesPerRow: Number((result.bytes / rows).toFixed(1)),
      peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
      rssBeforeExportMB: Math.round(rssBefore / 1024),
      sampledPeaksMB: peaks,
    })}\n`,
  );
}

main()
  .catch((err: unknown) => {
    process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    // A failure part way leaves handles open (the S3 child, the append worker): exit, not hang.
    rmSync(dir, { recursive: true, force: true });
    process.exit(1);
  })
  .finally(() => rmSync(dir, { recursive: true, force: true }));
