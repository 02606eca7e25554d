/**
 * `logbarge ingest [-c FILE] FILE|-`: loads NDJSON or JSON events into the spool with the same
 * validation as HTTP. Exit 0 ok, 4 input rejected (nothing stored), 2 bad config.
 */
import { createReadStream } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { ingestFile } from '../app/ingest-file.js';
import { createPreparer } from '../ingest/prepare.js';
import { loadNamedSchema } from '../schema/schema.js';
import { registerExports } from '../spool/exports.js';
import { openSpool } from '../spool/spool.js';
import { commandConfig, ExitError, exitCodes, type ConfigOption } from './common.js';

/** Options of the ingest command. */
export interface IngestOptions extends ConfigOption {
  readonly json?: boolean;
  /** Map the records as this source's do (its profile and organization; invalid records are refused whatever its onInvalid). */
  readonly source?: string;
}

/** Loads `file` (or stdin for `-`) into the spool. */
export async function ingestCommand(file: string, options: IngestOptions): Promise<void> {
  const config = commandConfig(options);
  const preparer = createPreparer(loadNamedSchema(config.schema), { ...config.ingest, sources: config.sources, apiKeyHeader: config.server.apiKeyHeader });
  if (options.source !== undefined && !preparer.source(options.source)) {
    throw new ExitError(exitCodes.usage, `ingest: no source named ${options.source} (have: ${Object.keys(config.sources).join(', ') || 'none'})`);
  }
  const spool = openSpool({ path: resolve(config.spool.path), synchronous: config.spool.synchronous });
  // The exports of this config wait for these events from now on, even before any of them runs.
  registerExports(spool, config.exports.map((e) => e.name));
  const tty = process.stderr.isTTY === true;
  let lastPaint = 0;
  try {
    const started = performance.now();
    const result = await ingestFile({
      input: file === '-' ? process.stdin : createReadStream(file),
      spool,
      preparer,
      ...(options.source === undefined ? {} : { source: options.source }),
      limits: { maxEvents: config.spool.maxEvents, maxBytes: config.spool.maxBytes },
      onProgress: (p) => {
        const now = performance.now();
        if (!tty || now - lastPaint < 200) return;
        lastPaint = now;
        const mb = (p.bytes / 1e6).toFixed(1);
        const verb = p.phase === 'validate' ? 'validated' : 'stored';
        process.stderr.write(`\r\x1b[Kingest: ${verb} ${p.records.toLocaleString('en-US')} records (${mb} MB read)`);
      },
    });
    if (tty) process.stderr.write('\r\x1b[K');
    const seconds = (performance.now() - started) / 1000;
    if (options.json) {
      process.stdout.write(`${JSON.stringify({ ...result, seconds: Number(seconds.toFixed(3)) })}\n`);
    } else {
      process.stdout.write(
        `ingest: ${result.records} records: ${result.accepted} accepted, ${result.duplicates} duplicates (${seconds.toFixed(1)} s)\n`,
      );
    }
  } finally {
    if (tty) process.stderr.write('\r\x1b[K');
    spool.close();
  }
}

/** Registers the command. */
export function register(program: Command): void {
  program
    .command('ingest')
    .description('load NDJSON or JSON events into the spool, validated like HTTP; all or nothing')
    .argument('<file>', 'file to read, or - for standard input')
    .option('-c, --config <file>', 'config file (default: $LOGBARGE_CONFIG, else built-in defaults)')
    .option('--json', 'print the result as JSON')
    .option('--source <name>', "map records with this source's profile and organization (invalid records are still refused)")
    .addHelpText(
      'after',
      `
Exit codes: 0 stored, 4 input rejected (nothing stored), 2 bad config, 1 other failure.

Examples:
  logbarge ingest events.ndjson
  zcat backfill.ndjson.gz | logbarge ingest -
  logbarge ingest -c prod.json --source okta okta-export.json
  logbarge ingest -c prod.json --json export-2026-03.json`,
    )
    .action(ingestCommand);
}
