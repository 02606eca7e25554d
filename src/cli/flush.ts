/**
 * `logbarge flush [-c FILE] [--export NAME] [--json]`: exports everything spooled now, through
 * the same cycle as the daemon's schedule, then exits. Exit 0 ok, 1 failed.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { createExporter } from '../app/exporter.js';
import { createLogger } from '../log.js';
import { createMetrics } from '../metrics.js';
import { openSpool } from '../spool/spool.js';
import { commandConfig, ExitError, exitCodes, type ConfigOption } from './common.js';
import { pino } from 'pino';

/** Options of the flush command. */
export interface FlushOptions extends ConfigOption {
  readonly export?: string;
  readonly json?: boolean;
}

/** Flushes the spool to the destinations. */
export async function flushCommand(options: FlushOptions): Promise<void> {
  const config = commandConfig(options);
  if (options.export && !config.exports.some((e) => e.name === options.export)) {
    throw new ExitError(exitCodes.usage, `flush: no export named ${options.export} (have: ${config.exports.map((e) => e.name).join(', ')})`);
  }
  // Problems are logged as JSON on stderr; the summary goes to stdout.
  const logger = createLogger(config.log.level === 'info' ? 'warn' : config.log.level, pino.destination(2));
  const spool = openSpool({ path: resolve(config.spool.path), synchronous: config.spool.synchronous });
  const exporter = createExporter({ config, spool, logger, metrics: createMetrics({ defaultMetrics: false }) });
  try {
    const verified = await exporter.verify(options.export);
    const failedVerify = verified.filter((v) => !v.ok);
    if (failedVerify.length > 0) {
      for (const v of failedVerify) {
        process.stderr.write(`logbarge: flush: ${v.location} failed verify: ${v.message ?? v.failure}\n`);
        if (v.hint) process.stderr.write(`Try: ${v.hint}\n`);
      }
      throw new ExitError(exitCodes.failed, 'flush: nothing was uploaded');
    }
    const started = performance.now();
    const results = await exporter.flush(options.export ? { exportName: options.export } : {});
    // Exports with integrity: the digest of the partial period, listing what this flush delivered.
    const digests = await exporter.writeDigests(options.export ? { exportName: options.export, reason: 'flush' } : { reason: 'flush' });
    const seconds = (performance.now() - started) / 1000;
    if (options.json) {
      process.stdout.write(`${JSON.stringify({ exports: results, digests, seconds: Number(seconds.toFixed(3)) }, null, 2)}\n`);
    } else {
      for (const r of results) {
        const line = `${r.export}: ${r.batches} object(s), ${r.rows} event(s), ${r.bytes} bytes${r.error ? ` — FAILED: ${r.error}` : ''}${r.paused ? ` — PAUSED${r.paused.reason ? ` (${r.paused.reason})` : ''}: resume with \`logbarge exports resume ${r.export}\`` : ''}`;
        process.stdout.write(`${line}\n`);
        for (const key of r.keys) process.stdout.write(`  ${key}\n`);
      }
      for (const d of digests) {
        process.stdout.write(`${d.export}: digest ${d.keys.length > 0 ? d.keys.join(', ') : '(none written)'}${d.error ? ` — FAILED: ${d.error}` : ''}\n`);
      }
    }
    if (results.some((r) => r.error)) throw new ExitError(exitCodes.failed, 'flush: an export failed; its events stay spooled');
    if (digests.some((d) => d.error)) throw new ExitError(exitCodes.failed, 'flush: a digest was not written; it is written again with the same bytes by the next flush or the daemon');
  } finally {
    await exporter.close();
    spool.close();
  }
}

/** Registers the command. */
export function register(program: Command): void {
  program
    .command('flush')
    .description('export everything spooled now (same cycle as the daemon), then exit')
    .option('-c, --config <file>', 'config file (default: $LOGBARGE_CONFIG, else built-in defaults)')
    .option('--export <name>', 'only this export')
    .option('--json', 'print the results as JSON')
    .addHelpText(
      'after',
      `
Each destination is verified first; nothing is uploaded to one that fails.
Exit codes: 0 ok, 1 an export failed (its events stay spooled), 2 bad config.

Examples:
  logbarge flush
  logbarge flush -c prod.json --export athena --json`,
    )
    .action(flushCommand);
}
