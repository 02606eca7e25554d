/**
 * `logbarge exports [-c FILE] [--json]`: every export cursor recorded in the spool, named in this
 * config or not, with its pending rows and open batches. `logbarge exports forget NAME --yes`
 * retires a cursor the config no longer names, so pruning stops waiting for it.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { exportState, forgetExport, recordedCursors, type ExportState } from '../spool/exports.js';
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
  const table: string[][] = [['export', 'in config', 'pending', 'open', 'failed', 'last success', 'last error']];
  for (const c of listing.cursors) {
    table.push([
      c.name,
      c.named ? 'yes' : 'NO',
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
  const unnamed = listing.cursors.filter((c) => !c.named);
  if (unnamed.length > 0) {
    out +=
      `\n${unnamed.map((c) => c.name).join(', ')}: not in this config; the spool keeps every event until ` +
      `${unnamed.length === 1 ? 'it delivers' : 'they deliver'} it. If that export is gone for good: logbarge exports forget ${unnamed[0]!.name} --yes\n`;
  }
  process.stdout.write(out);
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
}
