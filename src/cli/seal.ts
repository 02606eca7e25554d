/**
 * `logbarge seal [-c FILE] [--export NAME] [--date YYYY-MM-DD] [--json]`: seals finished days of
 * every export with a `seal` section (or of one): one deduplicated, sorted set of Parquet files per
 * day across every writer. Runs the same sealExport as the daemon's `seal.schedule`.
 * Exit 0 ok (also when another replica holds a day), 1 a day or a deletion failed, 2 usage.
 */
import type { Command } from 'commander';
import { pino } from 'pino';
import { sealContextFor } from '../app/sealer.js';
import type { ExportConfig } from '../config/schema.js';
import { createLogger } from '../log.js';
import type { DayResult } from '../seal/day.js';
import { dayOf } from '../seal/keys.js';
import { sealExport, type SealRunResult } from '../seal/run.js';
import { openStore } from '../store/open.js';
import { commandConfig, ExitError, exitCodes, type ConfigOption } from './common.js';

/** Options of the seal command. */
export interface SealOptions extends ConfigOption {
  readonly export?: string;
  readonly date?: string;
  readonly json?: boolean;
}

/** The exports a seal command works on; refuses a named export without a `seal` section. */
function sealedExports(exports: readonly ExportConfig[], name: string | undefined): ExportConfig[] {
  if (name !== undefined) {
    const found = exports.find((e) => e.name === name);
    if (!found) throw new ExitError(exitCodes.usage, `seal: no export named ${name} (have: ${exports.map((e) => e.name).join(', ')})`);
    if (!found.seal) {
      throw new ExitError(exitCodes.usage, `seal: export ${name} has no "seal" section\nTry: add "seal": {} to the export (defaults in docs/config.md, guide in docs/sealing.md)`);
    }
    return [found];
  }
  const sealed = exports.filter((e) => e.seal);
  if (sealed.length === 0) {
    throw new ExitError(exitCodes.usage, `seal: no export has a "seal" section\nTry: add "seal": {} to an export (docs/sealing.md)`);
  }
  return sealed;
}

/** Checks --date: a real date, and a day that is over (UTC) at `now`. */
export function checkDate(date: string | undefined, now: number): string | undefined {
  if (date === undefined) return undefined;
  const day = new Date(`${date}T00:00:00Z`); // Invalid Date for month 13 or day 32: no toISOString then
  const ok = /^\d{4}-\d{2}-\d{2}$/.test(date) && !Number.isNaN(day.getTime()) && day.toISOString().startsWith(date);
  if (!ok) throw new ExitError(exitCodes.usage, `seal: --date "${date}" is not a YYYY-MM-DD date`);
  if (date >= dayOf(now)) throw new ExitError(exitCodes.usage, `seal: --date ${date} is not over yet (UTC); only past days can be sealed`);
  return date;
}

/** One line for a day of the text output. */
export function describeDay(exportName: string, day: DayResult): string {
  const n = (x: number | undefined): string => (x ?? 0).toLocaleString('en-US');
  switch (day.outcome) {
    case 'sealed':
    case 'resealed':
      return `${exportName} dt=${day.dt}: ${day.outcome} ${n(day.rows)} event(s) in ${n(day.files)} file(s), ${n(day.bytes)} bytes; ${n(day.duplicates)} duplicate(s) left out, ${n(day.conflicts)} conflict(s) kept; covers ${n(day.rawObjects)} raw object(s)`;
    case 'late':
      return `${exportName} dt=${day.dt}: ${n(day.newObjects)} object(s) arrived after the seal; re-seal with: logbarge seal --export ${exportName} --date ${day.dt}`;
    case 'busy':
      return `${exportName} dt=${day.dt}: busy: ${day.holder ? `${day.holder.owner} holds the seal lease until ${day.holder.expiresAt}` : 'another sealer took the lease'}`;
    case 'unchanged':
      return `${exportName} dt=${day.dt}: unchanged: seal ${day.sealId} covers every object`;
    case 'empty':
      return `${exportName} dt=${day.dt}: no objects`;
    case 'failed':
      return `${exportName} dt=${day.dt}: FAILED: ${day.error}`;
  }
}

/** Seals the configured exports. */
export async function sealCommand(options: SealOptions): Promise<void> {
  const config = commandConfig(options);
  const exports = sealedExports(config.exports, options.export);
  const date = checkDate(options.date, Date.now());
  // Problems and progress are logged as JSON on stderr; the summary goes to stdout.
  const logger = createLogger(config.log.level === 'info' ? 'warn' : config.log.level, pino.destination(2));
  const started = performance.now();
  const results: SealRunResult[] = [];
  for (const exportConfig of exports) {
    const store = openStore(exportConfig.destination, config.s3);
    try {
      results.push(await sealExport(sealContextFor({ config, exportConfig, store, logger }), date === undefined ? {} : { date }));
    } finally {
      store.close();
    }
  }
  const seconds = (performance.now() - started) / 1000;
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ exports: results, seconds: Number(seconds.toFixed(3)) }, null, 2)}\n`);
  } else {
    for (const r of results) {
      if (r.days.length === 0) process.stdout.write(`${r.export}: nothing to seal\n`);
      for (const day of r.days) process.stdout.write(`${describeDay(r.export, day)}\n`);
      if (r.deleted.length > 0) process.stdout.write(`${r.export}: deleted ${r.deleted.length} replaced object(s)\n`);
      for (const e of r.deleteErrors) process.stdout.write(`${r.export}: delete FAILED: ${e}\n`);
    }
  }
  const failed = results.some((r) => r.deleteErrors.length > 0 || r.days.some((d) => d.outcome === 'failed'));
  if (failed) throw new ExitError(exitCodes.failed, 'seal: a day or a deletion failed; sealed days keep their previous state');
}

/** Registers the command. */
export function register(program: Command): void {
  program
    .command('seal')
    .description('seal finished days: one deduplicated, sorted set of Parquet files per day across every writer')
    .option('-c, --config <file>', 'config file (default: $LOGBARGE_CONFIG, else built-in defaults)')
    .option('--export <name>', 'only this export (default: every export with a "seal" section)')
    .option('--date <YYYY-MM-DD>', 'seal this day, or re-seal it when objects arrived after its seal')
    .option('--json', 'print the results as JSON')
    .addHelpText(
      'after',
      `
Without --date, seals every day of the last seal.lookbackDays that ended at least
seal.afterHours ago and has objects but no seal, and reports sealed days that got
objects after their seal. A day another replica is sealing is reported busy.
Exit codes: 0 ok, 1 a day or a deletion failed (the day keeps its previous state), 2 bad config.

Examples:
  logbarge seal -c prod.json
  logbarge seal -c prod.json --export athena --date 2026-03-14 --json`,
    )
    .action(sealCommand);
}
