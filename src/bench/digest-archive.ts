/**
 * Fixture for the validate bench and tests (test/validate.test.ts): a signed archive written straight to a store, the way the digest writer
 * lays it out: data objects under `dt=` (named by objectKey), one signed digest per period under
 * `_digest/<writer>-<spool>/`, each chained to the one before (src/export/digest.ts). The objects
 * are plain NDJSON bytes: validate checks bytes and hashes, not content.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { digestBytes, digestKey, publicKeyFingerprint, sha256Hex, signDigest, type DigestLink, type DigestObject } from '../export/digest.js';
import { objectKey } from '../export/keys.js';
import type { ObjectStore } from '../store/store.js';

/** An Ed25519 key pair, and the PEM files of both written into `dir`. */
export function writeKeyPair(dir: string, name = 'digest'): { privateKey: KeyObject; publicKey: KeyObject; privateFile: string; publicFile: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const privateFile = join(dir, `${name}.key.pem`);
  const publicFile = join(dir, `${name}.pub.pem`);
  writeFileSync(privateFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  writeFileSync(publicFile, publicKey.export({ type: 'spki', format: 'pem' }));
  return { privateKey, publicKey, privateFile, publicFile };
}

/** What buildArchive wrote. */
export interface Archive {
  /** Digest keys in chain order. */
  readonly digests: string[];
  /** Data object keys per period (same order as `objectsPerPeriod`). */
  readonly objects: string[][];
  readonly writer: string;
  readonly spool: string;
  /** The last sequence number used. */
  readonly lastSeq: number;
}

/** Options of buildArchive. */
export interface ArchiveOptions {
  readonly store: ObjectStore;
  readonly privateKey: KeyObject;
  /** How many objects each period delivers (0: an empty period, which still gets a digest). */
  readonly objectsPerPeriod: readonly number[];
  /** End of the last period (ms); periods are `periodMs` long and end at multiples of it. */
  readonly lastPeriodEndMs: number;
  readonly periodMs?: number;
  readonly writer?: string;
  readonly spool?: string;
  readonly dt?: string;
  /** Bytes of one object (default ~200). */
  readonly objectBytes?: number;
  /** Writes at once. */
  readonly concurrency?: number;
}

/** Writes the objects and the chained, signed digests; returns their keys. */
export async function buildArchive(options: ArchiveOptions): Promise<Archive> {
  const { store, privateKey, objectsPerPeriod, lastPeriodEndMs } = options;
  const periodMs = options.periodMs ?? 3_600_000;
  const writer = options.writer ?? 'pod-a';
  const spool = options.spool ?? '0a1b2c3d';
  const dt = options.dt ?? '2026-03-14';
  const concurrency = options.concurrency ?? 16;
  const fingerprint = publicKeyFingerprint(privateKey);
  const firstEnd = lastPeriodEndMs - (objectsPerPeriod.length - 1) * periodMs;
  let seq = 0;
  let previous: DigestLink | null = null;
  const digests: string[] = [];
  const objects: string[][] = [];
  for (const [p, count] of objectsPerPeriod.entries()) {
    const periodEnd = firstEnd + p * periodMs;
    const listed: DigestObject[] = [];
    const bodies: { key: string; body: Buffer }[] = [];
    for (let i = 0; i < count; i++) {
      const seqFrom = ++seq;
      const seqTo = ++seq;
      const key = objectKey({ dt, writerId: writer, spoolId: spool, seqFrom, seqTo, format: 'ndjson', compression: 'none' });
      const line = `{"EVENT_ID":"e${seqFrom}","n":${seqFrom}}\n`;
      const body = Buffer.from(line.repeat(Math.max(1, Math.ceil((options.objectBytes ?? 200) / line.length))));
      bodies.push({ key, body });
      listed.push({ key, bytes: body.length, sha256: sha256Hex(body), rows: body.toString().split('\n').length - 1, dt, seqFrom, seqTo });
    }
    for (let i = 0; i < bodies.length; i += concurrency) {
      await Promise.all(bodies.slice(i, i + concurrency).map((b) => store.putBytes(b.key, b.body, { contentType: 'application/x-ndjson', ifAbsent: true })));
    }
    const signed = signDigest(
      {
        version: 1,
        export: 'audit',
        writer,
        spool,
        periodStart: new Date(periodEnd - periodMs).toISOString(),
        periodEnd: new Date(periodEnd).toISOString(),
        previous,
        publicKeyFingerprint: fingerprint,
        objects: listed,
      },
      privateKey,
    );
    const key = digestKey(writer, spool, periodEnd);
    const bytes = digestBytes(signed);
    await store.putBytes(key, bytes, { contentType: 'application/json', ifAbsent: true });
    previous = { key, sha256: sha256Hex(bytes) };
    digests.push(key);
    objects.push(bodies.map((b) => b.key));
  }
  return { digests, objects, writer, spool, lastSeq: seq };
}
