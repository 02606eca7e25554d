/**
 * `logbarge validate [-c FILE] [--export NAME] [--from T] [--to T] [--json]`, and the standalone
 * form `logbarge validate --destination URL --public-key FILE`: checks an export's signed digests
 * against its objects with read access only (list and get). Exit 0 intact, 5 a problem found
 * (each names its key), 2 usage.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { Command } from 'commander';
import { validateArchive, type ValidateProgress, type ValidateResult } from '../app/validate.js';
import { loadSigningKey, loadVerifyKey } from '../export/digest.js';
import { openStore } from '../store/open.js';
import { commandConfig, ExitError, exitCodes, type ConfigOption } from './common.js';

/** Options of the validate command. */
export interface ValidateCommandOptions extends ConfigOption {
  readonly export?: string;
  readonly destination?: string;
  readonly publicKey?: string;
  readonly from?: string;
  readonly to?: string;
  readonly json?: boolean;
}

/** One destination to check, and the key its digests must be signed with. */
interface Target {
  readonly export: string | null;
  readonly destination: string;
  readonly publicKey: KeyObject;
}

/** Runs `load`; a failure is a usage error (exit 2) with its message. */
function usage<T>(load: () => T): T {
  try {
    return load();
  } catch (err) {
    throw new ExitError(exitCodes.usage, `validate: ${(err as Error).message}`);
  }
}

/** Parses --from/--to: an ISO 8601 date or time (UTC unless it says otherwise). */
function parseTime(option: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const ms = Date.parse(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text);
  if (Number.isNaN(ms)) throw new ExitError(exitCodes.usage, `validate: ${option} "${text}" is not an ISO 8601 date or time (e.g. 2026-03-14 or 2026-03-14T09:00:00Z)`);
  return ms;
}

/** The destinations the options name. */
function targets(options: ValidateCommandOptions): Target[] {
  if (options.destination !== undefined) {
    if (options.export !== undefined) throw new ExitError(exitCodes.usage, 'validate: give either --destination or --export, not both');
    if (options.publicKey === undefined) throw new ExitError(exitCodes.usage, 'validate: --destination needs --public-key FILE (the PEM public key the digests are signed with)');
    const publicKey = usage(() => loadVerifyKey(options.publicKey!));
    return [{ export: null, destination: options.destination, publicKey }];
  }
  const config = commandConfig(options, { keepUnsetPlaceholders: true });
  const given = options.publicKey === undefined ? undefined : usage(() => loadVerifyKey(options.publicKey!));
  let exports = config.exports;
  if (options.export !== undefined) {
    exports = exports.filter((e) => e.name === options.export);
    if (exports.length === 0) throw new ExitError(exitCodes.usage, `validate: no export named ${options.export} (have: ${config.exports.map((e) => e.name).join(', ')})`);
  }
  const unsigned = exports.filter((e) => e.integrity === null);
  if (given === undefined && (options.export !== undefined ? unsigned.length > 0 : unsigned.length === exports.length)) {
    throw new ExitError(
      exitCodes.usage,
      `validate: export(s) ${unsigned.map((e) => e.name).join(', ')} have no "integrity" section, so there are no digests to check\nTry: add "integrity": {"privateKeyFile": "…"} to the export (docs/integrity.md), or give --public-key`,
    );
  }
  return exports
    .filter((e) => given !== undefined || e.integrity !== null)
    .map((e) => ({
      export: e.name,
      destination: e.destination,
      publicKey: given ?? usage(() => createPublicKey(loadSigningKey(e.integrity!.privateKeyFile))),
    }));
}

/** A progress line on stderr, redrawn at most five times a second; only on a terminal. */
function progressLine(label: string): { update: (p: ValidateProgress) => void; done: () => void } {
  if (!process.stderr.isTTY) return { update: () => undefined, done: () => undefined };
  let shown = 0;
  return {
    update(p) {
      const now = Date.now();
      if (now - shown < 200 && !(p.objectsTotal > 0 && p.objectsChecked === p.objectsTotal)) return;
      shown = now;
      process.stderr.write(`\r${label}: digests ${p.digestsChecked}/${p.digestsTotal}, objects ${p.objectsChecked}/${p.objectsTotal}\x1b[K`);
    },
    done: () => process.stderr.write('\r\x1b[K'),
  };
}

/** The text report of one destination. */
function describeResult(target: Target, result: ValidateResult): string {
  const n = (x: number): string => x.toLocaleString('en-US');
  const name = target.export === null ? target.destination : `${target.export} (${target.destination})`;
  const lines = [
    `${result.intact ? 'INTACT' : 'PROBLEMS'} ${name}: ${n(result.digests)} digest(s) in ${n(result.chains)} chain(s), ${n(result.objects)} listed object(s) checked` +
      `, ${n(result.pending.length)} pending, ${n(result.sealedDeleted.length)} sealed and deleted, ${n(result.problems.length)} problem(s)`,
  ];
  for (const p of result.problems) lines.push(`  ${p.kind} ${p.key}: ${p.message}`);
  for (const p of result.pending) lines.push(`  note ${p.key}: ${p.message}`);
  for (const p of result.sealedDeleted) lines.push(`  note ${p.key}: ${p.message}`);
  return `${lines.join('\n')}\n`;
}

/** Validates the destinations the options name. */
export async function validateCommand(options: ValidateCommandOptions): Promise<void> {
  const fromMs = parseTime('--from', options.from);
  const toMs = parseTime('--to', options.to);
  if (fromMs !== undefined && toMs !== undefined && fromMs >= toMs) throw new ExitError(exitCodes.usage, `validate: --from ${options.from} is not before --to ${options.to}`);
  const list = targets(options);
  const s3 = commandConfig(options, { keepUnsetPlaceholders: true }).s3;
  const results: (ValidateResult & { export: string | null; destination: string })[] = [];
  for (const target of list) {
    const store = usage(() => openStore(target.destination, s3));
    const progress = progressLine(`validate ${target.destination}`);
    try {
      const result = await validateArchive({
        store,
        publicKey: target.publicKey,
        ...(fromMs === undefined ? {} : { fromMs }),
        ...(toMs === undefined ? {} : { toMs }),
        onProgress: progress.update,
      });
      results.push({ export: target.export, destination: target.destination, ...result });
    } finally {
      progress.done();
      store.close();
    }
  }
  const intact = results.every((r) => r.intact);
  if (options.json) {
    const sum = (f: (r: ValidateResult) => number): number => results.reduce((a, r) => a + f(r), 0);
    const summary = {
      intact,
      digests: sum((r) => r.digests),
      objects: sum((r) => r.objects),
      problems: results.flatMap((r) => r.problems.map((p) => ({ ...p, destination: r.destination }))),
      pending: sum((r) => r.pending.length),
      sealedDeleted: sum((r) => r.sealedDeleted.length),
      destinations: results,
    };
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  } else {
    for (const [i, r] of results.entries()) process.stdout.write(describeResult(list[i]!, r));
  }
  if (!intact) throw new ExitError(exitCodes.validateFailed, 'validate: problems found (see above)');
}

/** Registers the command. */
export function register(program: Command): void {
  program
    .command('validate')
    .description("check an export's signed digests against its objects: signatures, chain, sizes and hashes, missing and unlisted objects")
    .option('-c, --config <file>', 'config file (default: $LOGBARGE_CONFIG, else built-in defaults); the public key comes from integrity.privateKeyFile')
    .option('--export <name>', 'only this export (default: every export with an "integrity" section)')
    .option('--destination <url>', 'standalone: check this destination (s3://bucket/prefix/ or file:///dir/) without a config; needs --public-key')
    .option('--public-key <file>', 'PEM public key the digests are signed with (instead of deriving it from integrity.privateKeyFile)')
    .option('--from <time>', 'only digests whose period ends after this ISO 8601 time; the chain is checked from the first of them')
    .option('--to <time>', 'only digests up to the first whose period ends at or after this ISO 8601 time')
    .option('--json', 'print the results as JSON')
    .addHelpText(
      'after',
      `
Needs read access only (s3:ListBucket and s3:GetObject): the standalone form works with an
auditor's read-only role and the public key. Objects newer than their chain's last digest are
reported as pending, and listed objects a seal deleted (seal.deleteRaw) as sealed and deleted;
neither is a problem. What is and is not proven: docs/integrity.md.
Exit codes: 0 intact, 5 a problem found (each names its key), 2 bad usage or config.

Examples:
  logbarge validate -c prod.json
  logbarge validate -c prod.json --export athena --from 2026-03-01 --to 2026-04-01 --json
  AWS_PROFILE=auditor logbarge validate --destination s3://audit-bucket/airkit/parquet/ --public-key logbarge-digest.pub.pem`,
    )
    .action(validateCommand);
}
