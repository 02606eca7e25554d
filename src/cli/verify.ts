/**
 * `logbarge verify [-c FILE] [--export NAME] [--cleanup] [--json]`: writes the verify-test object
 * to each destination, reads it back, and prints a diagnosis. Exit 0 ok, 3 verify failed.
 */
import type { Command } from 'commander';
import { openStore } from '../store/open.js';
import { cleanupVerifyObject, verifyStore, type VerifyResult } from '../store/verify.js';
import { commandConfig, ExitError, exitCodes, type ConfigOption } from './common.js';

/** Options of the verify command. */
export interface VerifyOptions extends ConfigOption {
  readonly export?: string;
  readonly cleanup?: boolean;
  readonly json?: boolean;
}

/** Verifies the destinations of the config (or of one export). */
export async function verifyCommand(options: VerifyOptions): Promise<void> {
  const config = commandConfig(options);
  const exports = options.export ? config.exports.filter((e) => e.name === options.export) : config.exports;
  if (exports.length === 0) {
    throw new ExitError(exitCodes.usage, `verify: no export named ${options.export} (have: ${config.exports.map((e) => e.name).join(', ')})`);
  }
  const destinations = [...new Set(exports.map((e) => e.destination))];
  const results: (VerifyResult & { destination: string; cleanedUp: boolean })[] = [];
  for (const destination of destinations) {
    const store = openStore(destination, config.s3);
    try {
      const result = await verifyStore({ store, writerId: config.writerId, now: new Date() });
      let cleanedUp = false;
      if (options.cleanup && result.wrote) {
        await cleanupVerifyObject(store, result.key);
        cleanedUp = true;
      }
      results.push({ ...result, destination, cleanedUp });
    } finally {
      store.close();
    }
  }
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ ok: results.every((r) => r.ok), destinations: results }, null, 2)}\n`);
  } else {
    for (const r of results) {
      const mark = r.ok ? 'ok  ' : 'FAIL';
      process.stdout.write(`${mark} ${r.destination}\n`);
      if (r.wrote) process.stdout.write(`     wrote ${r.location}${r.cleanedUp ? ' (deleted again: --cleanup)' : ''}\n`);
      if (r.ok) process.stdout.write(`     read back: ${r.readBack}\n`);
      for (const note of r.notes) process.stdout.write(`     note: ${note}\n`);
      if (!r.ok) {
        process.stdout.write(`     ${r.failure ?? 'failed'}: ${r.message ?? ''}\n`);
        if (r.hint) process.stdout.write(`     Try: ${r.hint}\n`);
      }
    }
  }
  if (!results.every((r) => r.ok)) throw new ExitError(exitCodes.verifyFailed, 'verify: at least one destination failed');
}

/** Registers the command. */
export function register(program: Command): void {
  program
    .command('verify')
    .description('prove each destination is writable: write the verify-test object, read it back, diagnose failures')
    .option('-c, --config <file>', 'config file (default: $LOGBARGE_CONFIG, else built-in defaults)')
    .option('--export <name>', 'only the destination of this export')
    .option('--cleanup', 'delete the verify-test object afterwards (needs s3:DeleteObject)')
    .option('--json', 'print the results as JSON')
    .addHelpText(
      'after',
      `
The object is <destination>_verify/logbarge-verify-test-<UTC timestamp>, written with the same
encryption headers as data and outside every dt= partition. A policy that grants only
s3:PutObject passes; the failed read-back is reported as a note.

Exit codes: 0 every destination ok, 3 verify failed, 2 bad config.

Examples:
  logbarge verify -c prod.json
  logbarge verify --export athena --cleanup
  AWS_PROFILE=audit-writer logbarge verify --json`,
    )
    .action(verifyCommand);
}
