/**
 * Digest objects: the tamper evidence of an export. Every period a writer lists the objects it
 * delivered in that period (key, bytes, SHA-256, rows, dt, sequence range), names the previous
 * digest (key and SHA-256 of its bytes: the chain) and the public key's fingerprint, and signs
 * the document with Ed25519. `logbarge validate` checks signatures, the chain and every listed
 * object with read access and the public key only.
 *
 * Layout: `<destination>_digest/<writer>-<spoolId>/<period end, UTC as YYYYMMDDTHHMMSSZ>.json`.
 * The stored bytes are the canonical JSON of the signed document (keys sorted, no white space)
 * followed by one newline; Ed25519 signatures are deterministic, so writing the same digest again
 * gives the same bytes. This module is pure: no I/O besides reading a key file in
 * `loadSigningKey`.
 */
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** Folder of digest objects under a destination (outside every `dt=` partition). */
export const digestFolder = '_digest/';

/** Version of the digest document; a validator refuses versions it does not know. */
export const digestVersion = 1;

/** One delivered object, as a digest lists it. */
export interface DigestObject {
  /** Key relative to the destination (`dt=2026-03-14/pod-a-….parquet`). */
  readonly key: string;
  readonly bytes: number;
  /** Hex SHA-256 of the object's bytes as uploaded. */
  readonly sha256: string;
  readonly rows: number;
  /** The partition (`YYYY-MM-DD`), or `quarantine:YYYY-MM-DD` for quarantine objects. */
  readonly dt: string;
  readonly seqFrom: number;
  readonly seqTo: number;
}

/** The previous digest of the same chain. */
export interface DigestLink {
  /** Key relative to the destination. */
  readonly key: string;
  /** Hex SHA-256 of that digest object's bytes. */
  readonly sha256: string;
}

/** What a digest says, before it is signed. */
export interface DigestBody {
  readonly version: typeof digestVersion;
  /** The export's name (informational; validate does not require it to match a config). */
  readonly export: string;
  readonly writer: string;
  readonly spool: string;
  /** ISO 8601 UTC with milliseconds; the period is [periodStart, periodEnd). */
  readonly periodStart: string;
  readonly periodEnd: string;
  /** null for the first digest of a chain. */
  readonly previous: DigestLink | null;
  /** `sha256:<hex>` of the public key's DER SubjectPublicKeyInfo. */
  readonly publicKeyFingerprint: string;
  /** Objects in the order they were delivered. */
  readonly objects: readonly DigestObject[];
}

/** A signed digest: the body plus an Ed25519 signature (base64) over `canonicalBytes(body)`. */
export interface SignedDigest extends DigestBody {
  readonly signatureAlgorithm: 'ed25519';
  readonly signature: string;
}

/** JSON text with object keys sorted at every level and no white space. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new Error(`canonical JSON: ${value} is not a JSON number`);
    if (value === undefined) throw new Error('canonical JSON: undefined is not a JSON value');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** The bytes a signature covers: the canonical JSON of the document without `signature`. */
export function signedBytes(digest: DigestBody | SignedDigest): Buffer {
  const { signature: _signature, ...rest } = digest as SignedDigest;
  return Buffer.from(canonicalJson({ ...rest, signatureAlgorithm: 'ed25519' }), 'utf8');
}

/** The bytes stored for a signed digest. */
export function digestBytes(digest: SignedDigest): Buffer {
  return Buffer.from(`${canonicalJson(digest)}\n`, 'utf8');
}

/** Hex SHA-256 of some bytes. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** `sha256:<hex>` of a public key's DER SubjectPublicKeyInfo. */
export function publicKeyFingerprint(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return `sha256:${sha256Hex(pub.export({ type: 'spki', format: 'der' }))}`;
}

/** Signs a digest body with an Ed25519 private key. */
export function signDigest(body: DigestBody, privateKey: KeyObject): SignedDigest {
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`digest: the signing key is ${privateKey.asymmetricKeyType ?? 'not asymmetric'}, not ed25519`);
  const signature = sign(null, signedBytes(body), privateKey).toString('base64');
  return { ...body, signatureAlgorithm: 'ed25519', signature };
}

/** True when `digest.signature` is a valid Ed25519 signature of its signed bytes by `publicKey`. */
export function verifyDigestSignature(digest: SignedDigest, publicKey: KeyObject): boolean {
  if (digest.signatureAlgorithm !== 'ed25519' || typeof digest.signature !== 'string') return false;
  try {
    return verify(null, signedBytes(digest), publicKey, Buffer.from(digest.signature, 'base64'));
  } catch {
    return false;
  }
}

/** `20261203T080000Z` for 2026-12-03T08:00:00.000Z (milliseconds kept as `.123` when not zero). */
export function digestStamp(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2026-12-03T08:00:00.000Z
  const frac = iso.slice(20, 23);
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}${frac === '000' ? '' : `.${frac}`}Z`;
}

/** The folder of one writer's chain, relative to the destination. */
export function digestChainFolder(writer: string, spoolId: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(writer)) throw new Error(`digest key: writer id ${JSON.stringify(writer)} has unsafe characters`);
  if (!/^[A-Za-z0-9._-]+$/.test(spoolId)) throw new Error(`digest key: spool id ${JSON.stringify(spoolId)} has unsafe characters`);
  return `${digestFolder}${writer}-${spoolId}/`;
}

/** The key of the digest whose period ends at `periodEndMs`, relative to the destination. */
export function digestKey(writer: string, spoolId: string, periodEndMs: number): string {
  return `${digestChainFolder(writer, spoolId)}${digestStamp(periodEndMs)}.json`;
}

const durationUnits: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds of a period like `1h`, `15m`, `1d`; undefined when it is not one (1 minute to 1 day). */
export function parsePeriod(text: string): number | undefined {
  const m = /^(\d+)(s|m|h|d)$/.exec(text);
  if (!m) return undefined;
  const ms = Number(m[1]) * durationUnits[m[2]!]!;
  return ms >= 60_000 && ms <= 86_400_000 ? ms : undefined;
}

/** The end of the period that `ms` falls in, periods aligned to multiples of `periodMs` since the epoch (UTC). */
export function periodEndAfter(ms: number, periodMs: number): number {
  return (Math.floor(ms / periodMs) + 1) * periodMs;
}

/** Loads an Ed25519 private key from a PEM file; the error names the file and what is wrong. */
export function loadSigningKey(path: string): KeyObject {
  let pem: Buffer;
  try {
    pem = readFileSync(path);
  } catch (err) {
    throw new Error(`integrity.privateKeyFile: cannot read ${path}: ${(err as Error).message}`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (err) {
    throw new Error(`integrity.privateKeyFile: ${path} is not a PEM private key: ${(err as Error).message}`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`integrity.privateKeyFile: ${path} holds a ${key.asymmetricKeyType ?? 'non-asymmetric'} key, not ed25519 (create one with \`logbarge keygen\`)`);
  return key;
}

/** Loads a public key (PEM SPKI, or a private key PEM from which it is derived). */
export function loadVerifyKey(path: string): KeyObject {
  let pem: Buffer;
  try {
    pem = readFileSync(path);
  } catch (err) {
    throw new Error(`--public-key: cannot read ${path}: ${(err as Error).message}`);
  }
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (err) {
    throw new Error(`--public-key: ${path} is not a PEM public key: ${(err as Error).message}`);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new Error(`--public-key: ${path} holds a ${key.asymmetricKeyType ?? 'non-asymmetric'} key, not ed25519`);
  return key;
}

const hex64 = /^[0-9a-f]{64}$/;
const isoMs = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * Reads a stored digest: parses the JSON and checks every field's shape. Returns the digest or
 * the first problem, naming the field (`objects[3].sha256: not a hex SHA-256`). Does not check
 * the signature.
 */
export function parseDigest(bytes: Uint8Array): { digest: SignedDigest } | { problem: string } {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    return { problem: `not JSON: ${(err as Error).message}` };
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return { problem: 'not a JSON object' };
  const d = doc as Record<string, unknown>;
  if (d.version !== digestVersion) return { problem: `version: ${JSON.stringify(d.version)} is not ${digestVersion}` };
  for (const f of ['export', 'writer', 'spool', 'publicKeyFingerprint', 'signature'] as const) {
    if (typeof d[f] !== 'string') return { problem: `${f}: not a string` };
  }
  if (d.signatureAlgorithm !== 'ed25519') return { problem: `signatureAlgorithm: ${JSON.stringify(d.signatureAlgorithm)} is not "ed25519"` };
  for (const f of ['periodStart', 'periodEnd'] as const) {
    if (typeof d[f] !== 'string' || !isoMs.test(d[f] as string)) return { problem: `${f}: not an ISO UTC time with milliseconds` };
  }
  if (d.previous !== null) {
    const p = d.previous as Record<string, unknown> | undefined;
    if (!p || typeof p !== 'object' || typeof p.key !== 'string' || typeof p.sha256 !== 'string' || !hex64.test(p.sha256)) {
      return { problem: 'previous: not null nor {key, sha256}' };
    }
  }
  if (!Array.isArray(d.objects)) return { problem: 'objects: not an array' };
  for (const [i, o] of (d.objects as unknown[]).entries()) {
    const r = o as Record<string, unknown> | null;
    if (!r || typeof r !== 'object') return { problem: `objects[${i}]: not an object` };
    if (typeof r.key !== 'string' || r.key === '') return { problem: `objects[${i}].key: not a key` };
    if (typeof r.sha256 !== 'string' || !hex64.test(r.sha256)) return { problem: `objects[${i}].sha256: not a hex SHA-256` };
    if (typeof r.dt !== 'string') return { problem: `objects[${i}].dt: not a string` };
    for (const f of ['bytes', 'rows', 'seqFrom', 'seqTo'] as const) {
      if (!Number.isSafeInteger(r[f]) || (r[f] as number) < 0) return { problem: `objects[${i}].${f}: not a non-negative integer` };
    }
  }
  return { digest: d as unknown as SignedDigest };
}
