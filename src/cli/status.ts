/**
 * `logbarge status [-c FILE] [--json]`: spool depth and age. Reads the spool without writing, so
 * it works while the daemon runs.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { openSpool } from '../spool/spool.js';
import { commandConfig, type ConfigOption } from './common.js';

/** Options of the status command. */
export interface StatusOptions extends ConfigOption {
  readonly json?: boolean;
}

/** What `status --json` prints. */
export interface StatusReport {
  spool: {
    path: string;
    exists: boolean;
    id: string | null;
    depth: number;
    bytes: number;
    oldestEventAgeSeconds: number | null;
    newestSeq: number;
    maxEvents: number;
    maxBytes: number;
  };
  exports: { name: string; format: string; destination: string }[];
}

/** Collects the status report for a config. */
export function collectStatus(options: ConfigOption): StatusReport {
  const config = commandConfig(options);
  const path = resolve(config.spool.path);
  const exports = config.exports.map((e) => ({ name: e.name, format: e.format, destination: e.destination }));
  const base = { path, maxEvents: config.spool.maxEvents, maxBytes: config.spool.maxBytes };
  if (!existsSync(path)) {
    return { spool: { ...base, exists: false, id: null, depth: 0, bytes: 0, oldestEventAgeSeconds: null, newestSeq: 0 }, exports };
  }
  const spool = openSpool({ path, readonly: true });
  try {
    const s = spool.stats();
    return {
      spool: {
        ...base,
        exists: true,
        id: spool.id,
        depth: s.depth,
        bytes: s.bytes,
        oldestEventAgeSeconds: s.oldestReceivedAt === null ? null : Math.max(0, Math.round((Date.now() - s.oldestReceivedAt) / 1000)),
        newestSeq: s.newestSeq,
      },
      exports,
    };
  } finally {
    spool.close();
  }
}

/** Prints the status report. */
export function statusCommand(options: StatusOptions): void {
  const report = collectStatus(options);
  if (options.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  const s = report.spool;
  const rows: [string, string][] = [
    ['spool', s.exists ? s.path : `${s.path} (not created yet)`],
    ['depth', `${s.depth.toLocaleString('en-US')} events (limit ${s.maxEvents.toLocaleString('en-US')})`],
    ['bytes', `${s.bytes.toLocaleString('en-US')} (limit ${s.maxBytes.toLocaleString('en-US')})`],
    ['oldest event', s.oldestEventAgeSeconds === null ? '-' : `${s.oldestEventAgeSeconds} s ago`],
    ['newest seq', String(s.newestSeq)],
  ];
  for (const e of report.exports) rows.push([`export ${e.name}`, `${e.format} → ${e.destination}`]);
  const width = Math.max(...rows.map(([k]) => k.length));
  process.stdout.write(rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n') + '\n');
}

/** Registers the command. */
export function register(program: Command): void {
  program
    .command('status')
    .description('show spool depth and export state (safe while the daemon runs)')
    .option('-c, --config <file>', 'config file (default: $LOGBARGE_CONFIG, else built-in defaults)')
    .option('--json', 'print {"spool": {...}, "exports": [...]} as JSON')
    .addHelpText(
      'after',
      `
Examples:
  logbarge status
  logbarge status --json | jq .spool.depth`,
    )
    .action(statusCommand);
}
