/**
 * `logbarge exports [-c FILE] [--json]`: every export cursor recorded in the spool, named in this
 * config or not, with its pending rows and open batches. `logbarge exports forget NAME --yes`
 * retires a cursor the config no longer names, so pruning stops waiting for it. The levers for a
 * stuck export: `exports pause NAME`, `exports resume NAME`, and
 * `exports skip-batch NAME --batch ID --yes` (a poison batch's rows go to a dead-letter file).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { skipPoisonBatch } from '../app/dead-letter.js';
import { exportState, forgetExport, pauseExport, recordedCursors, registerExports, resumeExport, type ExportState } from '../spool/exports.js';
import { openSpool } from '../spool/spool.js';
import { commandConfig, ExitError, exitCodes, type ConfigOption } from './common.js';

/** Options of `logbarge exports`. */
export interface ExportsOptions extends ConfigOption {
  readonly json?: boolean;
}

/** One cursor in the listing. */
export interface CursorReport {
  readonly name: string;
  /** True when this config names the export. */
  readonly named: boolean;
  /** The configured destination, else the one its newest batch was planned for. */
  readonly destination: string | null;
  readonly committedSeq: number;
  readonly plannedSeq: number;
  readonly pendingRows: number;
  readonly openBatches: number;
  readonly failedBatches: number;
  readonly lastSuccess: string | null;
  readonly lastError: { message: string; at: string | null } | null;
  /** Set while paused by `exports pause`. */
  readonly paused: { at: string; reason: string | null } | null;
  /** The open batch that failed most often (the id `exports skip-batch --batch` takes), or null. */
  readonly stuckBatch: ExportState['stuckBatch'];
  /** Batches skipped into dead-letter files, and their rows. */
  readonly skipped: ExportState['skipped'];
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

function report(state: ExportState, named: boolean, destination: string | null): CursorReport {
  return {
    name: state.name,
    named,
    destination: destination ?? state.lastDestination,
    committedSeq: state.committedSeq,
    plannedSeq: state.plannedSeq,
    pendingRows: state.pendingRows,
    openBatches: state.openBatches,
    failedBatches: state.failingBatches,
    lastSuccess: iso(state.lastSuccess),
    lastError: state.lastError ? { message: state.lastError, at: iso(state.lastErrorAt) } : null,
    paused: state.paused ? { at: iso(state.paused.at)!, reason: state.paused.reason } : null,
    stuckBatch: state.stuckBatch,
    skipped: state.skipped,
  };
}

/** Lists every cursor of the spool: those this config names first (recorded or not), then the others. */
export function collectCursors(options: ConfigOption): { spool: string; cursors: CursorReport[] } {
  const config = commandConfig(options);
  const path = resolve(config.spool.path);
  if (!existsSync(path)) return { spool: path, cursors: [] };
  const spool = openSpool({ path, readonly: true });
  try {
    const recorded = recordedCursors(spool);
    const named = config.exports.filter((e) => recorded.includes(e.name));
    const cursors = [
      ...named.map((e) => report(exportState(spool, e.name), true, e.destination)),
      ...recorded.filter((name) => !config.exports.some((e) => e.name === name)).map((name) => report(exportState(spool, name), false, null)),
    ];
    return { spool: path, cursors };
  } finally {
    spool.close();
  }
}

/** Prints the cursor listing. */
export function exportsCommand(options: ExportsOptions): void {
  const listing = collectCursors(options);
  if (options.json) {
    process.stdout.write(`${JSON.stringify(listing, null, 2)}\n`);
    return;
  }
  if (listing.cursors.length === 0) {
    process.stdout.write(`no export cursors recorded in ${listing.spool}\n`);
    return;
  }
  const table: string[][] = [['export', 'in config', 'state', 'pending', 'open', 'failed', 'last success', 'last error']];
  for (const c of listing.cursors) {
    table.push([
      c.name,
      c.named ? 'yes' : 'NO',
      c.paused ? 'PAUSED' : 'running',
      c.pendingRows.toLocaleString('en-US'),
      String(c.openBatches),
      String(c.failedBatches),
      c.lastSuccess ?? '-',
      c.lastError ? c.lastError.message.split('\n')[0]!.slice(0, 80) : '-',
    ]);
  }
  const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  let out = table.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n';
  for (const c of listing.cursors) out += `${c.name}: ${c.destination ?? '(no batch recorded)'}\n`;
  out += stuckAdvice(listing.cursors);
  const unnamed = listing.cursors.filter((c) => !c.named);
  if (unnamed.length > 0) {
    out +=
      `\n${unnamed.map((c) => c.name).join(', ')}: not in this config; the spool keeps every event until ` +
      `${unnamed.length === 1 ? 'it delivers' : 'they deliver'} it. If that export is gone for good: logbarge exports forget ${unnamed[0]!.name} --yes\n`;
  }
  process.stdout.write(out);
}

/** What to tell an operator about paused exports, stuck batches and skipped rows (empty when nothing). */
export function stuckAdvice(cursors: readonly Pick<CursorReport, 'name' | 'paused' | 'stuckBatch' | 'skipped'>[]): string {
  let out = '';
  for (const c of cursors) {
    if (c.paused) {
      out += `\n${c.name} is PAUSED since ${c.paused.at}${c.paused.reason ? ` (${c.paused.reason})` : ''}: nothing is uploaded, and its undelivered events keep the spool from pruning them. Resume: logbarge exports resume ${c.name}\n`;
    }
    if (c.stuckBatch) {
      const b = c.stuckBatch;
      out += `\n${c.name} is stuck on batch ${b.id} (${b.key}, ${b.rows} event(s), ${b.attempts} failed attempt(s)): ${(b.lastError ?? '').split('\n')[0]!.slice(0, 160)}\n`;
      out += `  If it can never be delivered: logbarge exports pause ${c.name} && logbarge exports skip-batch ${c.name} --batch ${b.id} --yes\n`;
    }
    if (c.skipped.batches > 0) out += `\n${c.name}: ${c.skipped.batches} batch(es), ${c.skipped.rows.toLocaleString('en-US')} event(s) skipped into dead-letter files (not delivered)\n`;
  }
  return out;
}

/** Options of `logbarge exports pause`. */
export interface PauseOptions extends ConfigOption {
  readonly reason?: string;
}

/** Opens the spool for a lever, recording the cursor of an export this config names; refuses an unknown name. */
function openForLever(verb: string, name: string, options: ConfigOption) {
  const config = commandConfig(options);
  const path = resolve(config.spool.path);
  if (!existsSync(path)) throw new ExitError(exitCodes.usage, `exports ${verb}: no spool at ${path}`);
  const spool = openSpool({ path, synchronous: config.spool.synchronous });
  if (config.exports.some((e) => e.name === name)) registerExports(spool, [name]);
  if (spool.sql.readCursor.get(name) === undefined) {
    const known = recordedCursors(spool);
    spool.close();
    throw new ExitError(exitCodes.usage, `exports ${verb}: no export named ${name} in this config or ${path} (recorded: ${known.length > 0 ? known.join(', ') : 'none'})`);
  }
  return spool;
}

/** Pauses an export: no planning or upload until resumed; its events stay spooled. */
export function pauseCommand(name: string, options: PauseOptions): void {
  const spool = openForLever('pause', name, options);
  try {
    pauseExport(spool, name, { reason: options.reason ?? null, now: Date.now() });
    process.stdout.write(
      `paused export ${name}: running daemons stop before its next batch; its undelivered events stay spooled and hold pruning (resume: logbarge exports resume ${name})\n`,
    );
  } finally {
    spool.close();
  }
}

/** Resumes a paused export. */
export function resumeCommand(name: string, options: ConfigOption): void {
  const spool = openForLever('resume', name, options);
  try {
    resumeExport(spool, name);
    process.stdout.write(`resumed export ${name}: its next scheduled cycle (or logbarge flush --export ${name}) delivers what it holds\n`);
  } finally {
    spool.close();
  }
}

/** Options of `logbarge exports skip-batch`. */
export interface SkipBatchOptions extends ConfigOption {
  readonly batch?: string;
  readonly yes?: boolean;
}

/** Moves a poison batch's rows to a dead-letter file and lets the export move past it. */
export async function skipBatchCommand(name: string, options: SkipBatchOptions): Promise<void> {
  const batchId = Number(options.batch);
  if (options.batch === undefined || !Number.isSafeInteger(batchId) || batchId <= 0) {
    throw new ExitError(exitCodes.usage, `exports skip-batch: --batch must be a batch id (a positive integer; \`logbarge exports\` names the stuck batch), got ${options.batch ?? 'nothing'}`);
  }
  const spool = openForLever('skip-batch', name, options);
  try {
    const batch = spool.sql.readBatch.get(batchId);
    if (!options.yes) {
      const what = batch && batch.export === name ? `batch ${batchId} (${batch.object_key}, ${batch.row_count} event(s), ${batch.attempts} failed attempt(s))` : `batch ${batchId}`;
      throw new ExitError(
        exitCodes.usage,
        `exports skip-batch: ${what} would not be delivered to ${name}'s destination; its rows go to a dead-letter file next to the spool. Run again with --yes to skip it`,
      );
    }
    const skipped = await skipPoisonBatch({ spool, exportName: name, batchId, now: Date.now() });
    process.stdout.write(
      `skipped batch ${batchId} of ${name}: ${skipped.rows} event(s) written to ${skipped.path} (not delivered)` +
        `${skipped.cursorAdvanced ? '; the export moved past its plan' : '; other batches of its plan are still open'}. Resume: logbarge exports resume ${name}\n`,
    );
  } finally {
    spool.close();
  }
}

/** Options of `logbarge exports forget`. */
export interface ForgetOptions extends ConfigOption {
  readonly yes?: boolean;
}

/** Retires a cursor this config does not name. */
export function forgetCommand(name: string, options: ForgetOptions): void {
  const config = commandConfig(options);
  if (config.exports.some((e) => e.name === name)) {
    throw new ExitError(exitCodes.usage, `exports forget: ${name} is named in this config; remove it from the config (and from every process's config) first`);
  }
  const path = resolve(config.spool.path);
  if (!existsSync(path)) throw new ExitError(exitCodes.usage, `exports forget: no spool at ${path}`);
  const spool = openSpool({ path, synchronous: config.spool.synchronous });
  try {
    const state = exportState(spool, name);
    if (!state.recorded) {
      const known = recordedCursors(spool);
      throw new ExitError(exitCodes.usage, `exports forget: no cursor named ${name} in ${path} (recorded: ${known.length > 0 ? known.join(', ') : 'none'})`);
    }
    if (!options.yes) {
      throw new ExitError(
        exitCodes.usage,
        `exports forget: ${name} has ${state.pendingRows} undelivered event(s) and ${state.openBatches} open batch(es); they are deleted once the other exports deliver them. Run again with --yes to retire it`,
      );
    }
    forgetExport(spool, name);
    process.stdout.write(`forgot export cursor ${name}: ${state.pendingRows} event(s) it had not delivered no longer hold the spool\n`);
  } finally {
    spool.close();
  }
}

/** Registers the command. */
export function register(program: Command): void {
  const exportsCmd = program
    .command('exports')
    .description('list every export cursor recorded in the spool (named in this config or not)')
    .option('-c, --config <file>', 'config file (default: $LOGBARGE_CONFIG, else built-in defaults)')
    .option('--json', 'print {"spool": PATH, "cursors": [...]} as JSON')
    .addHelpText(
      'after',
      `
Pruning deletes an event only once every recorded cursor has delivered it, whether or not the
config of the process that prunes names that export. A cursor appears when a daemon, flush or
ingest runs with a config that names the export.

Examples:
  logbarge exports -c prod.json
  logbarge exports --json | jq '.cursors[] | select(.named | not)'
  logbarge exports forget old-athena --yes -c prod.json`,
    )
    .action(exportsCommand);
  exportsCmd
    .command('forget')
    .description('retire a cursor the config no longer names, so pruning stops waiting for it')
    .argument('<name>', 'the export cursor to retire')
    .option('-c, --config <file>', 'config file (default: $LOGBARGE_CONFIG, else built-in defaults)')
    .option('--yes', 'really retire it: the events only it had not delivered are then pruned')
    .addHelpText(
      'after',
      `
Exit codes: 0 forgotten, 2 unknown cursor, named in the config, or --yes missing.

Example:
  logbarge exports forget old-athena --yes -c prod.json`,
    )
    // -c after `forget` is parsed by the parent command too: read both.
    .action((name: string, _options: ForgetOptions, command: Command) => forgetCommand(name, command.optsWithGlobals<ForgetOptions>()));
  exportsCmd
    .command('pause')
    .description('pause an export: no planning or upload until resumed (its events stay spooled and hold pruning)')
    .argument('<name>', 'the export to pause')
    .option('-c, --config <file>', 'config file (default: $LOGBARGE_CONFIG, else built-in defaults)')
    .option('--reason <text>', 'why, shown by status and exports')
    .addHelpText(
      'after',
      `
A running daemon reads the flag before each batch, so a batch in flight finishes first. Other
exports keep running; the spool keeps every event the paused export has not delivered, so a long
pause fills it (see README "When one export is stuck").

Example:
  logbarge exports pause snowflake --reason "stage bucket being migrated" -c prod.json`,
    )
    .action((name: string, _options: PauseOptions, command: Command) => pauseCommand(name, command.optsWithGlobals<PauseOptions>()));
  exportsCmd
    .command('resume')
    .description('resume a paused export')
    .argument('<name>', 'the export to resume')
    .option('-c, --config <file>', 'config file (default: $LOGBARGE_CONFIG, else built-in defaults)')
    .addHelpText('after', '\nExample:\n  logbarge exports resume snowflake -c prod.json')
    .action((name: string, _options: ConfigOption, command: Command) => resumeCommand(name, command.optsWithGlobals<ConfigOption>()));
  exportsCmd
    .command('skip-batch')
    .description("skip a poison batch of a paused export: its rows go to a local dead-letter file, the export moves on")
    .argument('<name>', 'the export')
    .option('-c, --config <file>', 'config file (default: $LOGBARGE_CONFIG, else built-in defaults)')
    .option('--batch <id>', 'the batch id (`logbarge exports` and `logbarge status` name the stuck batch)')
    .option('--yes', 'really skip it: its rows are not delivered to the destination')
    .addHelpText(
      'after',
      `
The rows are written to <spool dir>/dead-letter/<export>/batch-<id>-<key>.ndjson.gz (one JSON
object per line: seq, dt, object_key, event, raw) and fsynced before the batch is marked done.
The export must be paused first, so no attempt at the batch starts meanwhile.

Exit codes: 0 skipped, 2 unknown export or batch, not paused, or --yes missing.

Example:
  logbarge exports pause athena && logbarge exports skip-batch athena --batch 412 --yes && logbarge exports resume athena`,
    )
    .action((name: string, _options: SkipBatchOptions, command: Command) => skipBatchCommand(name, command.optsWithGlobals<SkipBatchOptions>()));
}
