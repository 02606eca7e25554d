/**
 * `logbarge keygen [--out DIR] [--name NAME] [--force]`: writes an Ed25519 key pair for the
 * export option `integrity`: `<name>.key` (PKCS#8 PEM, mode 0600) and `<name>.pub` (SPKI PEM),
 * and prints the public key's fingerprint and the config snippet. Refuses to overwrite either
 * file without --force (exit 2).
 */
import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { publicKeyFingerprint } from '../export/digest.js';
import { privateDirMode, privateFileMode } from '../modes.js';
import { ExitError, exitCodes } from './common.js';

/** Options of the keygen command. */
export interface KeygenOptions {
  readonly out?: string;
  readonly name?: string;
  readonly force?: boolean;
}

/** Writes the key pair and prints the fingerprint and config snippet. */
export function keygenCommand(options: KeygenOptions): void {
  const name = options.name ?? 'logbarge-digest';
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$/.test(name)) {
    throw new ExitError(exitCodes.usage, `keygen: --name ${JSON.stringify(name)} must be letters, digits, ., - or _`);
  }
  const dir = resolve(options.out ?? '.');
  const keyPath = join(dir, `${name}.key`);
  const pubPath = join(dir, `${name}.pub`);
  if (!options.force) {
    for (const path of [keyPath, pubPath]) {
      if (existsSync(path)) throw new ExitError(exitCodes.usage, `keygen: ${path} exists; pass --force to replace it (digests signed with the old key then no longer match the new public key)`);
    }
  }
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  mkdirSync(dir, { recursive: true, mode: privateDirMode });
  // mode applies only when the file is created; chmod covers a replaced one (--force).
  writeFileSync(keyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: privateFileMode });
  chmodSync(keyPath, privateFileMode);
  writeFileSync(pubPath, publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o644 });
  const snippet = `"integrity": {"privateKeyFile": ${JSON.stringify(keyPath)}, "every": "1h"}`;
  process.stdout.write(
    [
      `private key: ${keyPath} (mode 0600; only the logbarge that writes the export needs it)`,
      `public key:  ${pubPath} (give it to whoever runs \`logbarge validate\`)`,
      `fingerprint: ${publicKeyFingerprint(publicKey)}`,
      '',
      'Add to an export in the config:',
      `  ${snippet}`,
      '',
    ].join('\n'),
  );
}

/** Registers the command. */
export function register(program: Command): void {
  program
    .command('keygen')
    .description('write an Ed25519 key pair that signs digests (export option integrity)')
    .option('--out <dir>', 'directory for the key files', '.')
    .option('--name <name>', 'file name stem: <name>.key and <name>.pub', 'logbarge-digest')
    .option('--force', 'replace existing key files')
    .addHelpText(
      'after',
      `
Writes <name>.key (PKCS#8 PEM, mode 0600) and <name>.pub (SPKI PEM), prints the public key's
fingerprint and the "integrity" setting to add to an export.
Exit codes: 0 ok, 2 a key file exists (without --force) or a bad option.

Examples:
  logbarge keygen --out /etc/logbarge --name audit
  logbarge keygen --out ./keys --force`,
    )
    .action(keygenCommand);
}
