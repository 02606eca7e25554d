/**
 * The pure part of `logbarge validate`: reading digest keys, checking one stored digest (shape,
 * canonical bytes, key fingerprint, signature, who and when) and its link to the digest before it
 * in the same chain. No I/O: validate.ts fetches the bytes and hands them in.
 */
import type { KeyObject } from 'node:crypto';
import {
  digestBytes,
  digestFolder,
  digestStamp,
  parseDigest,
  publicKeyFingerprint,
  sha256Hex,
  verifyDigestSignature,
  type SignedDigest,
} from '../export/digest.js';

/** What is wrong, by kind; every problem also names a key and says what is wrong in words. */
export type ProblemKind =
  | 'digest_invalid' // not a digest: bad key, not JSON, a bad field, not canonical, names another chain or period
  | 'wrong_key' // signed with another key than the one given (fingerprint differs)
  | 'signature_invalid' // the signature does not match the content: edited after signing
  | 'digest_missing' // a digest named as previous by the next one is not there (deleted)
  | 'chain_broken' // a link names another digest, a hash differs, or the first digest has a previous
  | 'period_gap' // a digest's periodStart is not the previous digest's periodEnd
  | 'object_missing' // a listed object is gone (and no seal replaced it)
  | 'object_size' // a listed object has another size
  | 'object_modified' // a listed object's SHA-256 differs
  | 'unlisted' // a data object under dt= or _quarantine/ that no digest lists
  | 'read_failed'; // a digest or object could not be read (access denied, unreachable)

/** One problem found. */
export interface Problem {
  /** The key, relative to the destination, that the problem is about. */
  readonly key: string;
  readonly kind: ProblemKind;
  readonly message: string;
}

/** A digest key, split: `_digest/<chain>/<stamp>.json`. */
export interface DigestKeyInfo {
  readonly key: string;
  /** `<writer>-<spoolId>`. */
  readonly chain: string;
  /** The period end the key names, in ms since the epoch. */
  readonly periodEndMs: number;
}

/** Splits a digest key; undefined when `key` is not `_digest/<chain>/<YYYYMMDDTHHMMSS[.mmm]Z>.json`. */
export function parseDigestKey(key: string): DigestKeyInfo | undefined {
  if (!key.startsWith(digestFolder)) return undefined;
  const m = /^([A-Za-z0-9._-]+)\/(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(?:\.(\d{3}))?Z\.json$/.exec(key.slice(digestFolder.length));
  if (!m) return undefined;
  const ms = Date.parse(`${m[2]}-${m[3]}-${m[4]}T${m[5]}:${m[6]}:${m[7]}.${m[8] ?? '000'}Z`);
  // Round trip: rejects 20261332T… and a `.000` the writer never writes.
  if (Number.isNaN(ms) || `${m[1]}/${digestStamp(ms)}.json` !== key.slice(digestFolder.length)) return undefined;
  return { key, chain: m[1]!, periodEndMs: ms };
}

/** The writer-spool chain a data object's name says it came from (`dt=D/<writer>-<spool>-<seq>-<seq>…`), and its sequence range. */
export function objectOrigin(key: string): { chain: string; seqFrom: number; seqTo: number } | undefined {
  const name = key.slice(key.lastIndexOf('/') + 1);
  const m = /^([A-Za-z0-9._-]+-[0-9a-f]{8})-(\d{12,})-(\d{12,})[-.]/.exec(name);
  return m ? { chain: m[1]!, seqFrom: Number(m[2]), seqTo: Number(m[3]) } : undefined;
}

/** A digest as read from the store. */
export interface StoredDigest {
  readonly info: DigestKeyInfo;
  /** Hex SHA-256 of the stored bytes (what the next digest's `previous.sha256` must be). */
  readonly sha256: string;
  /** The parsed document, when it parses. */
  readonly digest: SignedDigest | undefined;
}

/** Checks one stored digest on its own; returns it parsed (when it parses) and its problems. */
export function checkDigest(options: { info: DigestKeyInfo; bytes: Buffer; publicKey: KeyObject; fingerprint: string }): { stored: StoredDigest; problems: Problem[] } {
  const { info, bytes, publicKey, fingerprint } = options;
  const key = info.key;
  const sha256 = sha256Hex(bytes);
  const parsed = parseDigest(bytes);
  if ('problem' in parsed) return { stored: { info, sha256, digest: undefined }, problems: [{ key, kind: 'digest_invalid', message: `not a valid digest: ${parsed.problem}` }] };
  const digest = parsed.digest;
  const problems: Problem[] = [];
  if (digest.publicKeyFingerprint !== fingerprint) {
    problems.push({ key, kind: 'wrong_key', message: `signed with key ${digest.publicKeyFingerprint}, not the given public key ${fingerprint}` });
  } else if (!verifyDigestSignature(digest, publicKey)) {
    problems.push({ key, kind: 'signature_invalid', message: 'the signature does not match the content: the digest was changed after it was signed' });
  } else if (!digestBytes(digest).equals(bytes)) {
    problems.push({ key, kind: 'digest_invalid', message: 'the stored bytes are not the canonical form of the signed content: the digest was rewritten after it was signed' });
  }
  if (`${digest.writer}-${digest.spool}` !== info.chain) {
    problems.push({ key, kind: 'digest_invalid', message: `names writer ${digest.writer} and spool ${digest.spool}, but lies in chain folder ${info.chain}` });
  }
  if (Date.parse(digest.periodEnd) !== info.periodEndMs) {
    problems.push({ key, kind: 'digest_invalid', message: `periodEnd ${digest.periodEnd} is not the period end its key names (${new Date(info.periodEndMs).toISOString()})` });
  }
  if (Date.parse(digest.periodStart) >= Date.parse(digest.periodEnd)) {
    problems.push({ key, kind: 'digest_invalid', message: `periodStart ${digest.periodStart} is not before periodEnd ${digest.periodEnd}` });
  }
  return { stored: { info, sha256, digest }, problems };
}

/** What a broken link tells the caller: the problems, and the key of a digest found missing. */
export interface LinkCheck {
  readonly problems: Problem[];
  /** The key of the missing digest (named as previous, not in the listing), if any. */
  readonly missing?: string;
}

/**
 * Checks the link of `current` to `before`, the digest listed right before it in its chain
 * (undefined when `current` is the first listed). `listed` holds every digest key of the chain.
 */
export function checkLink(options: { current: StoredDigest; before: StoredDigest | undefined; listed: ReadonlySet<string> }): LinkCheck {
  const { current, before, listed } = options;
  const digest = current.digest;
  if (!digest) return { problems: [] }; // reported by checkDigest
  const key = current.info.key;
  const previous = digest.previous;
  if (before === undefined) {
    if (previous === null) return { problems: [] };
    if (!listed.has(previous.key)) {
      return { problems: [{ key: previous.key, kind: 'digest_missing', message: `missing: ${key} names it as its previous digest (the chain's start was deleted)` }], missing: previous.key };
    }
    return { problems: [{ key, kind: 'chain_broken', message: `names ${previous.key} as its previous digest, which does not come before it` }] };
  }
  if (previous === null) {
    return { problems: [{ key, kind: 'chain_broken', message: `says it starts the chain, but ${before.info.key} comes before it` }] };
  }
  if (previous.key !== before.info.key) {
    if (!listed.has(previous.key)) {
      return { problems: [{ key: previous.key, kind: 'digest_missing', message: `missing: ${key} names it as its previous digest (deleted)` }], missing: previous.key };
    }
    return { problems: [{ key, kind: 'chain_broken', message: `names ${previous.key} as its previous digest, but ${before.info.key} comes right before it` }] };
  }
  const problems: Problem[] = [];
  if (previous.sha256 !== before.sha256) {
    problems.push({ key: before.info.key, kind: 'chain_broken', message: `its SHA-256 is ${before.sha256}, but ${key} recorded ${previous.sha256}: it was replaced or edited` });
  }
  if (before.digest && digest.periodStart !== before.digest.periodEnd) {
    problems.push({ key, kind: 'period_gap', message: `periodStart ${digest.periodStart} is not the previous digest's periodEnd ${before.digest.periodEnd}` });
  }
  return { problems };
}

/** The fingerprint of a public key, as digests record it. */
export function fingerprintOf(publicKey: KeyObject): string {
  return publicKeyFingerprint(publicKey);
}
