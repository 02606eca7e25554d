/**
 * Event-loop stalls (a child process of the bench): the longest block of the daemon's event
 * loop, measured with perf_hooks.monitorEventLoopDelay, in one of three scenarios. The daemon
 * runs in this process; the bodies come from a big-bodies.js child on 127.0.0.1.
 *
 *   export   a --rows export (flush) of a filled spool while a 5 MiB NDJSON body arrives every second
 *   ingest   no export: --rounds rounds of three concurrent 5 MiB NDJSON bodies (group commit + parsing)
 *   parse    as ingest, but each body's last record is invalid: parse and validate only (400s)
 *   json     as ingest, with each body one JSON array (application/json) instead of NDJSON
 *
 *   node dist/bench/loop-stall.js --scenario export --rows 1000000
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

const { values } = parseArgs({
  options: { scenario: { type: 'string', default: 'export' }, rows: { type: 'string', default: '1000000' }, rounds: { type: 'string', default: '5' } },
});
const scenario = values.scenario!;
if (!['export', 'ingest', 'parse', 'json'].includes(scenario)) throw new Error(`loop-stall: --scenario ${scenario}: expected export, ingest, parse or json`);
const here = dirname(fileURLToPath(import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'logbarge-stall-'));

try {
  const spoolPath = join(dir, 'spool.db');
  if (scenario === 'export') {
    const filled = spawnSync(process.execPath, ['--no-warnings', join(here, 'export-once.js'), '--rows', values.rows!, '--fill', spoolPath], { stdio: 'inherit' });
    if (filled.status !== 0) throw new Error('loop-stall: filling the spool failed');
  }
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
  const exporting = scenario === 'export';
  const sender = spawn(
    process.execPath,
    [
      '--no-warnings', join(here, 'big-bodies.js'), '--url', `http://127.0.0.1:${daemon.address.port}/v1/events`,
      '--concurrency', exporting ? '1' : '3', '--every-ms', exporting ? '1000' : '0', '--rounds', exporting ? '120' : values.rounds!,
      ...(scenario === 'parse' ? ['--invalid-last'] : []),
      ...(scenario === 'json' ? ['--json'] : []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const ready = new Promise<void>((resolve) => sender.stderr.setEncoding('utf8').on('data', (c: string) => c.includes('load: ready') && resolve()));
  let out = '';
  sender.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  const senderDone = new Promise<void>((resolve) => sender.on('exit', () => resolve()));
  await ready;
  histogram.enable();
  const started = performance.now();
  let exported: number | null = null;
  if (exporting) {
    const [result] = await daemon.exporter.flush();
    if (!result || result.error) throw new Error(`loop-stall: export failed: ${JSON.stringify(result)}`);
    exported = result.rows;
    sender.kill('SIGTERM');
  }
  await senderDone;
  const seconds = (performance.now() - started) / 1000;
  histogram.disable();
  await daemon.stop();
  process.stdout.write(
    `${JSON.stringify({
      scenario,
      rows: exporting ? Number(values.rows) : null,
      exportedRows: exported,
      seconds,
      maxStallMs: histogram.max / 1e6,
      p99StallMs: histogram.percentile(99) / 1e6,
      bodies: out.trim() ? (JSON.parse(out) as unknown) : null,
    })}\n`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
