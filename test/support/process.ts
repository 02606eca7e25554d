/**
 * Test support: the real `logbarge` binary (dist/cli/main.js) in a child process, for tests
 * that kill -9 it or check exit codes.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Path of the built CLI; `npm test` builds it first. */
export const cliPath = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

/** Writes a config file into `dir` and returns its path. */
export function writeConfig(dir: string, config: Record<string, unknown>, name = 'config.json'): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(withQuietSchedules(config), null, 2));
  return path;
}

/** Once a year (00:00 UTC on 1 January): the schedule of a test export that names none. */
export const quietSchedule = '0 0 1 1 *';

/**
 * The config with `schedule: quietSchedule` on each export that names no schedule. The default,
 * every five minutes on the wall clock, would run a cycle whenever a test straddles :00, :05, …,
 * delivering and pruning what the test is still counting; tests run cycles with flush, or name
 * the schedule they test. A config without `exports` (the built-in default export, every five
 * minutes) is left as it is: no test runs a daemon on one.
 */
export function withQuietSchedules(config: Record<string, unknown>): Record<string, unknown> {
  const exports = config['exports'];
  if (!Array.isArray(exports)) return config;
  return {
    ...config,
    exports: exports.map((e: unknown) => (e && typeof e === 'object' && !Array.isArray(e) && !('schedule' in e) ? { ...e, schedule: quietSchedule } : e)),
  };
}

/** Runs the CLI to completion. */
export function runCli(args: string[], options: { input?: string | Buffer; env?: Record<string, string>; cwd?: string } = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [cliPath, ...args], {
    input: options.input,
    encoding: 'utf8',
    cwd: options.cwd,
    env: { ...process.env, LOGBARGE_CONFIG: '', ...options.env },
    timeout: 60_000,
  });
}

/** A daemon child process. */
export interface ChildDaemon {
  readonly child: ChildProcess;
  readonly url: string;
  /** Everything the child wrote to stdout so far (JSON log lines). */
  readonly log: () => string;
  /** Resolves with the exit code (or signal name) when the child ends. */
  readonly exited: Promise<number | string>;
}

/** Starts `logbarge run -c config` and waits until it listens. */
export async function spawnDaemon(configPath: string, options: { cwd?: string; env?: Record<string, string> } = {}): Promise<ChildDaemon> {
  const child = spawn(process.execPath, [cliPath, 'run', '-c', configPath], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (err += c));
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`daemon did not start:\n${out}\n${err}`)), 20_000);
    const check = (): void => {
      const m = /"address":"([^"]+)"/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(`http://${m[1]}`);
      }
    };
    child.stdout!.on('data', check);
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`daemon exited (${code}) before listening:\n${out}\n${err}`));
    });
  });
  return { child, url, log: () => out + err, exited };
}
