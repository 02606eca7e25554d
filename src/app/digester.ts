/**
 * Digest writing of one export with `integrity` (DESIGN "Objects: Digests"): at each period end
 * (a timer aligned to UTC multiples of `every`), at drain and at the end of `logbarge flush`, the
 * objects the export delivered since the previous digest are listed in a signed digest that names
 * the previous one. The digest is planned in the spool (its period, objects and signed bytes)
 * before it is uploaded, so after a crash the same bytes go under the same key; the upload is
 * conditional, an object already there with the same bytes counts as written, and one with other
 * bytes is an error naming the key (never overwritten). The chain is contiguous: a digest starts
 * where the previous one ended, so after downtime one digest covers the gap.
 */
import type { KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import type { ExportConfig } from '../config/schema.js';
import { describeError, LogbargeError } from '../errors.js';
import {
  digestBytes,
  digestKey,
  loadSigningKey,
  parsePeriod,
  periodEndAfter,
  publicKeyFingerprint,
  sha256Hex,
  signDigest,
  type DigestBody,
} from '../export/digest.js';
import type { Metrics } from '../metrics.js';
import { markDigestWritten, newestDigest, newestWrittenDigest, planDigest, plannedDigest, type DigestRow } from '../spool/digests.js';
import type { Spool } from '../spool/spool.js';
import { retryBusy } from '../spool/busy.js';
import type { ObjectStore } from '../store/store.js';

/** Why digests are written (a log field). */
export type DigestReason = 'period' | 'startup' | 'drain' | 'flush';

/** What one call wrote. */
export interface DigestResult {
  readonly export: string;
  /** Keys of the digests written (relative to the destination), oldest first. */
  readonly keys: string[];
  readonly error?: string;
}

/** The digest writer of one export. */
export interface Digester {
  readonly exportName: string;
  /**
   * Writes an open planned digest, then the digest of every object delivered since the previous
   * one: up to the last period end passed (`period`, `startup`) or up to now (`drain`, `flush`:
   * a partial period). Calls never overlap. Failures are logged, counted and returned.
   */
  write(reason: DigestReason, options?: { signal?: AbortSignal }): Promise<DigestResult>;
  /** Starts the period timer (and writes a digest for a period that ended while stopped). */
  start(): void;
  /** Stops the timer and waits for a running write. */
  close(): Promise<void>;
}

/** Retry delay after a failed scheduled write (the chain waits; nothing is lost meanwhile). */
const retryMs = 60_000;

/**
 * Loads the signing keys of a config's exports; an unreadable or non-Ed25519 key is a config
 * error naming `exports[i].integrity.privateKeyFile` (exit 2).
 */
export function loadIntegrityKeys(exports: readonly ExportConfig[]): Map<string, { key: KeyObject; periodMs: number }> {
  const keys = new Map<string, { key: KeyObject; periodMs: number }>();
  exports.forEach((e, i) => {
    if (!e.integrity) return;
    const periodMs = parsePeriod(e.integrity.every);
    if (periodMs === undefined) {
      throw new LogbargeError('CONFIG_INVALID', `exports[${i}].integrity.every: ${JSON.stringify(e.integrity.every)} is not a period like 15m, 1h or 1d (1 minute to 1 day)`);
    }
    let key: KeyObject;
    try {
      key = loadSigningKey(e.integrity.privateKeyFile);
    } catch (err) {
      throw new LogbargeError('CONFIG_INVALID', `exports[${i}].integrity.privateKeyFile: ${(err as Error).message.replace(/^integrity\.privateKeyFile: /, '')}`, {
        hint: 'create a key pair with `logbarge keygen --out DIR` and point privateKeyFile at the .key file',
      });
    }
    keys.set(e.name, { key, periodMs });
  });
  return keys;
}

/** Creates the digest writer of one export. */
export function createDigester(deps: {
  readonly config: ExportConfig;
  readonly spool: Spool;
  readonly writerId: string;
  readonly signingKey: KeyObject;
  readonly periodMs: number;
  readonly storeFor: (destination: string) => ObjectStore;
  /** Undefined when uploads to `destination` may proceed, else why not. */
  readonly gate: (destination: string) => string | undefined;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly now?: () => number;
  /** Ends scheduled writes (the exporter's lifetime: aborted when it closes). */
  readonly signal?: AbortSignal;
}): Digester {
  const { config, spool, periodMs, metrics } = deps;
  const now = deps.now ?? Date.now;
  const log = deps.logger.child({ export: config.name, component: 'digest' });
  const fingerprint = publicKeyFingerprint(deps.signingKey);
  // The first digest of a chain starts at the first delivery, or when this process started.
  const chainStart = now();
  const last = newestWrittenDigest(spool, config.name);
  // Present from start, so an alert on a stale or missing digest works before the first one.
  metrics.digestLastSuccess.set({ export: config.name }, last?.written_at ? last.written_at / 1000 : 0);
  metrics.digestsWritten.inc({ export: config.name }, 0);
  metrics.digestFailures.inc({ export: config.name }, 0);
  let running: Promise<DigestResult> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let started = false;

  function build(input: { periodStart: number; periodEnd: number; objects: readonly { key: string; bytes: number; sha256: string; rows: number; dt: string; seqFrom: number; seqTo: number }[]; previous: DigestRow | null }) {
    const previous = input.previous;
    // A digest names the previous one of the same chain (same writer and destination); a new
    // writer id or destination starts a chain of its own, still contiguous in time.
    const sameChain = previous !== null && previous.writer === deps.writerId && previous.destination === config.destination;
    const body: DigestBody = {
      version: 1,
      export: config.name,
      writer: deps.writerId,
      spool: spool.id,
      periodStart: new Date(input.periodStart).toISOString(),
      periodEnd: new Date(input.periodEnd).toISOString(),
      previous: sameChain ? { key: previous.object_key, sha256: previous.sha256 } : null,
      publicKeyFingerprint: fingerprint,
      objects: input.objects.map((o) => ({ key: o.key, bytes: o.bytes, sha256: o.sha256, rows: o.rows, dt: o.dt, seqFrom: o.seqFrom, seqTo: o.seqTo })),
    };
    const bytes = digestBytes(signDigest(body, deps.signingKey));
    return { key: digestKey(deps.writerId, spool.id, input.periodEnd), bytes, sha256: sha256Hex(bytes) };
  }

  /** Uploads a planned digest (conditionally) and records it written. */
  async function upload(row: DigestRow, signal?: AbortSignal): Promise<void> {
    const blocked = deps.gate(row.destination);
    if (blocked) throw new LogbargeError('EXPORT_FAILED', `write digest ${row.object_key}: ${blocked}`);
    if (!row.body) throw new LogbargeError('EXPORT_FAILED', `write digest ${row.object_key}: the spool holds no bytes for it`);
    const store = deps.storeFor(row.destination);
    const put = await store.putBytes(row.object_key, row.body, { contentType: 'application/json', ifAbsent: true, ...(signal ? { signal } : {}) });
    if (put.alreadyExisted) {
      const existing = await store.get(row.object_key, signal ? { signal } : {});
      if (!existing.equals(row.body)) {
        throw new LogbargeError('EXPORT_FAILED', `write digest ${store.describe(row.object_key)}: the key holds other bytes (SHA-256 ${sha256Hex(existing)}, this digest's is ${row.sha256}); not overwritten`, {
          hint: 'something other than this spool wrote the digest (a copied spool or volume with the same writerId, or tampering); investigate with `logbarge validate` and give each copy its own writerId',
        });
      }
      log.info({ key: row.object_key }, 'digest already present with these bytes: an earlier attempt wrote it');
    }
    const at = now();
    await retryBusy(() => markDigestWritten(spool, row, { now: at }), signal ? { signal } : {});
    metrics.digestsWritten.inc({ export: config.name });
    metrics.digestLastSuccess.set({ export: config.name }, at / 1000);
    log.info(
      { key: row.object_key, objects: row.objects, periodStart: new Date(row.period_start).toISOString(), periodEnd: new Date(row.period_end).toISOString() },
      'digest written',
    );
  }

  async function writeNow(reason: DigestReason, signal?: AbortSignal): Promise<DigestResult> {
    const keys: string[] = [];
    try {
      // A plan left by a crash or a failed upload goes first, with its recorded bytes.
      for (let open = plannedDigest(spool, config.name); open; open = plannedDigest(spool, config.name)) {
        signal?.throwIfAborted();
        await upload(open, signal);
        keys.push(open.object_key);
      }
      const t = now();
      const partial = reason === 'drain' || reason === 'flush';
      const boundary = periodEndAfter(t, periodMs) - periodMs; // the last period end passed
      const newest = newestDigest(spool, config.name);
      // A scheduled write closes the period that just ended; at start, only one that ended while
      // stopped (a chain must exist: the first digest waits for the first period end).
      if (!partial && (newest ? newest.period_end >= boundary : reason === 'startup')) return { export: config.name, keys };
      const planned = await retryBusy(() =>
        planDigest(spool, {
          exportName: config.name,
          destination: config.destination,
          writer: deps.writerId,
          chainStart,
          periodEnd: partial ? t : boundary,
          partial,
          now: t,
          build,
        }),
        signal ? { signal } : {},
      );
      if (planned) {
        signal?.throwIfAborted();
        await upload(planned, signal);
        keys.push(planned.object_key);
      }
      return { export: config.name, keys };
    } catch (err) {
      const message = describeError(err);
      metrics.digestFailures.inc({ export: config.name });
      log.error({ reason, err: message }, 'write digest failed; its objects stay recorded and the digest is written again with the same bytes');
      return { export: config.name, keys, error: message };
    }
  }

  function arm(delayMs?: number): void {
    if (closed) return;
    const t = now();
    const delay = delayMs ?? periodEndAfter(t, periodMs) - t;
    timer = setTimeout(() => {
      timer = undefined;
      write('period', deps.signal ? { signal: deps.signal } : {})
        .then((r) => arm(r.error ? Math.min(retryMs, periodMs) : undefined))
        .catch(() => arm(retryMs));
    }, delay);
    timer.unref();
  }

  async function write(reason: DigestReason, options: { signal?: AbortSignal } = {}): Promise<DigestResult> {
    while (running) await running.catch(() => undefined);
    running = writeNow(reason, options.signal);
    try {
      return await running;
    } finally {
      running = undefined;
    }
  }

  return {
    exportName: config.name,
    write,
    start() {
      if (closed || started) return;
      started = true;
      void write('startup', deps.signal ? { signal: deps.signal } : {}).finally(() => arm());
    },
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      while (running) await running.catch(() => undefined);
    },
  };
}
