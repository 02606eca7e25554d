/**
 * Responsiveness (a child process of the bench): the longest event-loop stall of the daemon
 * while it exports a large spool to Parquet under ingest load. The daemon runs in this process
 * with perf_hooks.monitorEventLoopDelay; the load comes from a load.js child on 127.0.0.1.
 *
 *   node dist/bench/responsiveness.js --rows 1000000
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startDaemon } from '../app/daemon.js';
import { parseConfig } from '../config/load.js';
import { createLogger } from '../log.js';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '1000000' }, concurrency: { type: 'string', default: '4' } } });
const here = dirname(fileURLToPath(import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'logbarge-responsive-'));

try {
  const spoolPath = join(dir, 'spool.db');
  const filled = spawnSync(process.execPath, ['--no-warnings', join(here, 'export-once.js'), '--rows', values.rows!, '--fill', spoolPath], { stdio: 'inherit' });
  if (filled.status !== 0) throw new Error('responsiveness: filling the spool failed');
  const config = parseConfig(
    {
      writerId: 'bench',
      server: { port: 0 },
      spool: { path: spoolPath, minFreeBytes: 0, maxEvents: 50_000_000, maxBytes: 1e12 },
      exports: [{ name: 'bench', format: 'parquet', destination: `file://${dir}/out/`, schedule: '0 0 1 1 *', maxRowsPerFile: 10_000_000 }],
      log: { level: 'silent' },
    },
    { env: {}, source: 'bench' },
  );
  const daemon = await startDaemon({ config, logger: createLogger('silent') });
  await daemon.exporter.verify();
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  // Ingest load for as long as the export runs, bounded at 120 s and 8,000 requests.
  const load = spawn(
    process.execPath,
    ['--no-warnings', join(here, 'load.js'), '--url', `http://127.0.0.1:${daemon.address.port}/v1/events`, '--requests', '8000', '--concurrency', values.concurrency!, '--seconds', '120', '--seed', `resp-${Date.now()}`],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const ready = new Promise<void>((resolve) => load.stderr.setEncoding('utf8').on('data', (c: string) => c.includes('load: ready') && resolve()));
  let loadOut = '';
  load.stdout.setEncoding('utf8').on('data', (c: string) => (loadOut += c));
  const loadDone = new Promise<void>((resolve) => load.on('exit', () => resolve()));
  await ready; // the load child builds its request bodies before it sends
  await new Promise((r) => setTimeout(r, 500));
  histogram.enable();
  const started = performance.now();
  const [result] = await daemon.exporter.flush();
  const seconds = (performance.now() - started) / 1000;
  histogram.disable();
  load.kill('SIGTERM');
  await loadDone;
  await daemon.stop();
  if (!result || result.error) throw new Error(`responsiveness: export failed: ${JSON.stringify(result)}`);
  process.stdout.write(
    `${JSON.stringify({
      rows: Number(values.rows),
      exportSeconds: seconds,
      exportedRows: result.rows,
      maxStallMs: histogram.max / 1e6,
      p99StallMs: histogram.percentile(99) / 1e6,
      meanStallMs: histogram.mean / 1e6,
      load: loadOut.trim() ? (JSON.parse(loadOut) as unknown) : null,
    })}\n`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
