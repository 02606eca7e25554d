/**
 * `logbarge validate`: checks an export's tamper evidence with read access (list, get) and the
 * public key only. Every digest under `_digest/` (every writer-spool chain) must parse, be signed
 * by the key and link to the digest before it; every object a digest lists must exist with that
 * size and SHA-256 (streamed through the hash); every data object under `dt=` and `_quarantine/`
 * must be listed by a digest, unless it is pending (newer than its chain's last digest) or was
 * listed and then removed by a seal with `deleteRaw` (docs/integrity.md).
 */
import { createHash, type KeyObject } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { digestFolder, type DigestObject } from '../export/digest.js';
import { quarantineFolder } from '../export/keys.js';
import { sealsFolder } from '../seal/keys.js';
import { parseRecord } from '../seal/record.js';
import { describeError } from '../errors.js';
import type { ListedObject, ObjectStore } from '../store/store.js';
import { checkDigest, checkLink, fingerprintOf, objectOrigin, parseDigestKey, type DigestKeyInfo, type Problem, type StoredDigest } from './validate-chain.js';

export type { Problem, ProblemKind } from './validate-chain.js';

/** Reads and hashes at once: enough to keep S3's latency busy, few enough for a small host. */
export const defaultConcurrency = 16;

/** Progress so far, for a terminal. */
export interface ValidateProgress {
  readonly digestsChecked: number;
  readonly digestsTotal: number;
  readonly objectsChecked: number;
  readonly objectsTotal: number;
}

/** Inputs of validateArchive. */
export interface ValidateOptions {
  readonly store: ObjectStore;
  readonly publicKey: KeyObject;
  /** Only digests whose period ends after this (ms); the chain is checked from the first of them. */
  readonly fromMs?: number;
  /** Only digests up to the first whose period ends at or after this (ms). */
  readonly toMs?: number;
  readonly concurrency?: number;
  readonly onProgress?: (progress: ValidateProgress) => void;
}

/** A data object that is not a problem, and why. */
export interface NotedObject {
  readonly key: string;
  readonly message: string;
}

/** What validate found. */
export interface ValidateResult {
  readonly intact: boolean;
  /** Digests checked (in range). */
  readonly digests: number;
  /** Writer-spool chains with digests in range. */
  readonly chains: number;
  /** Listed objects checked (existence, size, SHA-256). */
  readonly objects: number;
  /** Data objects newer than their chain's last digest: not in a digest yet. */
  readonly pending: NotedObject[];
  /** Listed objects a seal replaced and deleted (seal.deleteRaw). */
  readonly sealedDeleted: NotedObject[];
  readonly problems: Problem[];
}

/** Runs `work` on every item with at most `limit` at once. */
async function eachLimited<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** True for the keys of data objects: raw partitions and quarantine. */
function isDataKey(key: string): boolean {
  return key.startsWith('dt=') || key.startsWith(quarantineFolder);
}

/** The raw objects seals replaced (key → sha256), from every `_seals/` record; a record that does not parse is a problem. */
async function sealedRaw(store: ObjectStore, problems: Problem[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const o of await store.list(sealsFolder)) {
    try {
      const record = parseRecord(o.key, (await store.get(o.key)).toString('utf8'));
      for (const raw of record.raw) out.set(raw.key, raw.sha256);
    } catch (err) {
      problems.push({ key: o.key, kind: 'read_failed', message: `cannot read the seal record: ${describeError(err)}` });
    }
  }
  return out;
}

/** Checks the archive under `store`. */
export async function validateArchive(options: ValidateOptions): Promise<ValidateResult> {
  const { store, publicKey, fromMs, toMs, onProgress } = options;
  const concurrency = options.concurrency ?? defaultConcurrency;
  const fingerprint = fingerprintOf(publicKey);
  const problems: Problem[] = [];

  // 1. Every digest key, by chain, in period order.
  const chains = new Map<string, DigestKeyInfo[]>();
  for (const o of await store.list(digestFolder)) {
    const info = parseDigestKey(o.key);
    if (!info) {
      problems.push({ key: o.key, kind: 'digest_invalid', message: 'not a digest key (_digest/<writer>-<spool>/<YYYYMMDDTHHMMSSZ>.json)' });
      continue;
    }
    chains.set(info.chain, [...(chains.get(info.chain) ?? []), info]);
  }
  for (const list of chains.values()) list.sort((a, b) => a.periodEndMs - b.periodEndMs);

  // 2. The digests in range, plus the one before each chain's range (for its link and listed keys).
  const inRange = new Map<string, { infos: DigestKeyInfo[]; before: DigestKeyInfo | undefined; isTail: boolean }>();
  for (const [chain, list] of chains) {
    let first = list.findIndex((d) => fromMs === undefined || d.periodEndMs > fromMs);
    if (first < 0) first = list.length;
    let last = toMs === undefined ? list.length - 1 : list.findIndex((d, i) => i >= first && d.periodEndMs >= toMs);
    if (last < 0) last = list.length - 1;
    if (first > last) continue;
    inRange.set(chain, { infos: list.slice(first, last + 1), before: first > 0 ? list[first - 1] : undefined, isTail: last === list.length - 1 });
  }
  const toFetch = [...inRange.values()].flatMap((r) => (r.before ? [r.before, ...r.infos] : r.infos));
  const checkedKeys = new Set([...inRange.values()].flatMap((r) => r.infos.map((i) => i.key)));
  const progress = { digestsChecked: 0, digestsTotal: checkedKeys.size, objectsChecked: 0, objectsTotal: 0 };
  const report = (): void => onProgress?.({ ...progress });

  const stored = new Map<string, StoredDigest>();
  await eachLimited(toFetch, concurrency, async (info) => {
    let bytes: Buffer;
    try {
      bytes = await store.get(info.key);
    } catch (err) {
      problems.push({ key: info.key, kind: 'read_failed', message: `cannot read the digest: ${describeError(err)}` });
      return;
    }
    const checked = checkDigest({ info, bytes, publicKey, fingerprint });
    stored.set(info.key, checked.stored);
    if (checkedKeys.has(info.key)) {
      problems.push(...checked.problems);
      progress.digestsChecked++;
      report();
    }
  });

  // 3. Links, chain by chain; a missing digest is remembered with the sequence gap it leaves.
  const gaps: { chain: string; key: string; afterSeq: number; beforeSeq: number; problem: Problem }[] = [];
  for (const [chain, range] of inRange) {
    const listed = new Set(chains.get(chain)!.map((i) => i.key));
    let before = range.before ? stored.get(range.before.key) : undefined;
    for (const info of range.infos) {
      const current = stored.get(info.key);
      if (!current) {
        before = undefined;
        continue;
      }
      const link = checkLink({ current, before, listed });
      problems.push(...link.problems);
      if (link.missing !== undefined) {
        const seqs = (d: StoredDigest | undefined): number[] => d?.digest?.objects.flatMap((o) => [o.seqFrom, o.seqTo]) ?? [];
        gaps.push({ chain, key: link.missing, afterSeq: Math.max(0, ...seqs(before)), beforeSeq: Math.min(Infinity, ...seqs(current)), problem: link.problems[0]! });
      }
      before = current;
    }
  }

  // 4. Every listed object of the digests in range: exists, same size, same SHA-256.
  const listedObjects = new Map<string, DigestObject & { digest: string }>();
  const listedKeys = new Set<string>();
  for (const [key, s] of stored) {
    for (const o of s.digest?.objects ?? []) {
      listedKeys.add(o.key);
      if (checkedKeys.has(key) && !listedObjects.has(`${o.key}\n${o.sha256}`)) listedObjects.set(`${o.key}\n${o.sha256}`, { ...o, digest: key });
    }
  }
  const data = new Map<string, ListedObject>();
  for (const o of [...(await store.list('dt=')), ...(await store.list(quarantineFolder))]) if (isDataKey(o.key)) data.set(o.key, o);
  progress.objectsTotal = listedObjects.size;
  report();
  let sealed: Map<string, string> | undefined;
  const sealedDeleted: NotedObject[] = [];
  const missing: (DigestObject & { digest: string })[] = [];
  await eachLimited([...listedObjects.values()], concurrency, async (o) => {
    try {
      const found = data.get(o.key);
      if (!found) {
        missing.push(o);
      } else if (found.size !== o.bytes) {
        problems.push({ key: o.key, kind: 'object_size', message: `is ${found.size} bytes, ${o.digest} lists ${o.bytes}` });
      } else {
        const hash = createHash('sha256');
        await pipeline(await store.getStream(o.key), hash);
        const sha256 = hash.digest('hex');
        if (sha256 !== o.sha256) problems.push({ key: o.key, kind: 'object_modified', message: `SHA-256 is ${sha256}, ${o.digest} lists ${o.sha256}: the object was changed` });
      }
    } catch (err) {
      problems.push({ key: o.key, kind: 'read_failed', message: `cannot read the object: ${describeError(err)}` });
    }
    progress.objectsChecked++;
    report();
  });
  if (missing.length > 0) sealed = await sealedRaw(store, problems);
  for (const o of missing) {
    if (sealed?.get(o.key) === o.sha256) sealedDeleted.push({ key: o.key, message: `listed by ${o.digest}, replaced by a seal and deleted (seal.deleteRaw)` });
    else problems.push({ key: o.key, kind: 'object_missing', message: `missing: ${o.digest} lists it (${o.bytes} bytes, SHA-256 ${o.sha256})` });
  }

  // 5. Data objects no digest lists: pending when newer than the chain's last digest, else unlisted.
  const pending: NotedObject[] = [];
  const gapObjects = new Map<Problem, string[]>();
  for (const o of data.values()) {
    if (listedKeys.has(o.key)) continue;
    const modified = o.lastModified?.getTime();
    const origin = objectOrigin(o.key);
    const range = origin ? inRange.get(origin.chain) : undefined;
    if (range === undefined) {
      // A chain without digests in range: in range by time, or (no range given) always.
      const timed = fromMs !== undefined || toMs !== undefined;
      if (timed && (modified === undefined || (fromMs !== undefined && modified < fromMs) || (toMs !== undefined && modified >= toMs))) continue;
      if (origin && !chains.has(origin.chain)) {
        problems.push({ key: o.key, kind: 'unlisted', message: `no digest lists it, and its writer-spool ${origin.chain} has no digests at all` });
      } else if (!origin) {
        problems.push({ key: o.key, kind: 'unlisted', message: 'no digest lists it, and its name is not a logbarge object name (slipped in?)' });
      }
      continue;
    }
    const gap = gaps.find((g) => g.chain === origin!.chain && origin!.seqFrom > g.afterSeq && origin!.seqTo < g.beforeSeq);
    if (gap) {
      gapObjects.set(gap.problem, [...(gapObjects.get(gap.problem) ?? []), o.key]);
      continue;
    }
    const lastInfo = range.infos[range.infos.length - 1]!;
    const seqTos = (d: DigestKeyInfo | undefined): number[] => (d ? (stored.get(d.key)?.digest?.objects.map((x) => x.seqTo) ?? []) : []);
    const beforeMax = Math.max(0, ...seqTos(range.before));
    const rangeMax = Math.max(beforeMax, ...range.infos.flatMap(seqTos));
    const rangeMin = Math.min(Infinity, ...range.infos.flatMap((d) => stored.get(d.key)?.digest?.objects.map((x) => x.seqFrom) ?? []));
    // With --from: objects numbered before the range belong to digests that are not checked.
    if (fromMs !== undefined && (origin!.seqTo <= beforeMax || origin!.seqTo < rangeMin || (modified !== undefined && modified < fromMs))) continue;
    if (origin!.seqFrom > rangeMax) {
      if (!range.isTail) continue; // after the range: listed by a later digest, not checked
      const lastEnd = stored.get(lastInfo.key)?.digest?.periodEnd;
      if (lastEnd !== undefined && modified !== undefined && modified >= Date.parse(lastEnd) - uploadSlackMs) {
        pending.push({ key: o.key, message: `pending: newer than ${lastInfo.key}, the last digest of its chain; the next digest should list it` });
        continue;
      }
    }
    problems.push({ key: o.key, kind: 'unlisted', message: `no digest of chain ${origin!.chain} lists it (slipped in after delivery?)` });
  }
  // Objects in the sequence gap a deleted digest left are reported with that digest, not one by one.
  for (const [problem, keys] of gapObjects) {
    const i = problems.indexOf(problem);
    problems[i] = { ...problem, message: `${problem.message}; ${keys.length} object(s) in its place are listed by no digest: ${keys.join(', ')}` };
  }
  // Reads finish in any order: report in key order, so runs over the same archive print the same.
  const byKey = (a: { key: string }, b: { key: string }): number => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
  problems.sort((a, b) => byKey(a, b) || (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0));
  pending.sort(byKey);
  sealedDeleted.sort(byKey);
  return { intact: problems.length === 0, digests: checkedKeys.size, chains: inRange.size, objects: listedObjects.size, pending, sealedDeleted, problems };
}

/**
 * How long before the end of the last digest's period an unlisted object may have been written and
 * still count as pending: S3 gives a multipart upload the time it started as LastModified, and the
 * writer lists an object in the period its upload finished in.
 */
const uploadSlackMs = 15 * 60_000;
