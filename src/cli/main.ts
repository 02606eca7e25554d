#!/usr/bin/env node
/**
 * The `logbarge` command line: dispatch only; each command lives in its own file.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { exitCodeFor, exitCodes, printError } from './common.js';
import { register as registerDdl } from './ddl.js';
import { register as registerExports } from './exports.js';
import { register as registerFlush } from './flush.js';
import { register as registerIngest } from './ingest.js';
import { register as registerKeygen } from './keygen.js';
import { register as registerRun } from './run.js';
import { register as registerSeal } from './seal.js';
import { register as registerStatus } from './status.js';
import { register as registerValidate } from './validate.js';
import { register as registerVerify } from './verify.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/** Builds the program with every command registered. */
export function buildProgram(): Command {
  const program = new Command('logbarge')
    .description('Batch exporter: durable audit-event ingest, typed NDJSON/CSV/Parquet files on S3')
    .version(pkg.version)
    .exitOverride()
    .showHelpAfterError('(run `logbarge --help` or `logbarge <command> --help` for usage)');
  registerRun(program);
  registerVerify(program);
  registerFlush(program);
  registerIngest(program);
  registerStatus(program);
  registerDdl(program);
  registerExports(program);
  registerSeal(program);
  registerKeygen(program);
  registerValidate(program);
  return program;
}

/** Runs the CLI with `argv` and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return exitCodes.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') {
        return exitCodes.ok;
      }
      return exitCodes.usage;
    }
    printError(err);
    return exitCodeFor(err);
  }
}

main(process.argv).then(
  (code) => {
    process.exit(code);
  },
  (err: unknown) => {
    printError(err);
    process.exitCode = exitCodes.failed;
  },
);
