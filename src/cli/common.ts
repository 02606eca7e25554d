/**
 * Helpers shared by the command files: config loading, exit codes, error output.
 */
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { describeError, LogbargeError } from '../errors.js';

/** Exit codes of the CLI (DESIGN.md). */
export const exitCodes = {
  ok: 0,
  failed: 1,
  usage: 2,
  verifyFailed: 3,
  inputRejected: 4,
  validateFailed: 5,
} as const;

/** Options every command that reads config accepts. */
export interface ConfigOption {
  readonly config?: string;
}

/**
 * Loads the config for a command from `-c`, `$LOGBARGE_CONFIG` or the defaults. Commands that
 * only print derived text pass `keepUnsetPlaceholders` so unrelated `${VAR}`s need not be set.
 */
export function commandConfig(options: ConfigOption, load: { keepUnsetPlaceholders?: boolean } = {}): Config {
  return loadConfig({ path: options.config, env: process.env, ...load });
}

/** Error that carries the exit code a command should end with. */
export class ExitError extends Error {
  readonly exitCode: number;
  constructor(exitCode: number, message: string) {
    super(message);
    this.exitCode = exitCode;
  }
}

/** Exit code for an error thrown by a command. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof ExitError) return err.exitCode;
  if (err instanceof LogbargeError) {
    if (err.code === 'CONFIG_INVALID' || err.code === 'USAGE') return exitCodes.usage;
    if (err.code === 'INPUT_REJECTED') return exitCodes.inputRejected;
  }
  return exitCodes.failed;
}

/** Prints an error for a person on stderr: "logbarge: message" and a hint line. */
export function printError(err: unknown): void {
  process.stderr.write(`logbarge: ${describeError(err)}\n`);
}
