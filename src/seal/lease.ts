/**
 * The lease on sealing one day, so two replicas never seal the same day at once. A lease is a
 * small object written with `If-None-Match: *` (the store's `ifAbsent`) under
 * `_seal_leases/dt=D/<generation>.json`, holding its owner and an expiry:
 *
 * - take: read the newest generation; if it is live (not released, not expired) the day is busy,
 *   otherwise write generation + 1 with `ifAbsent`. Of two replicas racing for the same
 *   generation, the store lets exactly one write it; the other finds it present and backs off.
 * - keep: while working, the holder writes its next generation before half the lease has run
 *   out, and refuses to go on once its own clock says the lease expired (another replica may
 *   have taken the day over by then). A holder that finds its next generation taken has lost.
 * - release: a final generation marked released, so the next run need not wait for the expiry.
 *
 * Generations are never reused: a replica whose lease expired cannot write over a newer holder's.
 * Expiry is judged by each replica's clock, so clocks must agree to well within the lease length.
 * An endpoint that does not enforce conditional writes (501 to `If-None-Match`) is refused.
 */
import { randomBytes } from 'node:crypto';
import { LogbargeError } from '../errors.js';
import { StoreError, type ObjectStore } from '../store/store.js';
import { generationOfLeaseKey, leaseFolder, leaseKey } from './keys.js';

/** What a lease object holds. */
export interface LeaseBody {
  readonly dt: string;
  readonly owner: string;
  /** Random per acquisition: tells this holder's generations from another's with the same owner. */
  readonly token: string;
  readonly generation: number;
  readonly acquired_at: string;
  readonly expires_at: string;
  readonly released: boolean;
}

/** Options of takeLease. */
export interface LeaseOptions {
  readonly store: ObjectStore;
  readonly dt: string;
  /** Who holds it, for operators (writer id, host, pid). */
  readonly owner: string;
  /** Lease length in milliseconds. */
  readonly ttlMs: number;
  readonly now?: () => number;
}

/** A held lease. */
export interface Lease {
  readonly dt: string;
  /** The generation written last by this holder. */
  readonly generation: () => number;
  /** When the lease runs out (epoch ms) unless kept. */
  readonly expiresAt: () => number;
  /**
   * Renews the lease when less than half of it is left; throws SEAL_FAILED when it expired or
   * another replica took the day over. Called between steps of a seal and before its record.
   */
  keep(): Promise<void>;
  /** Ends the lease (a released generation); never throws when another replica already took over. */
  release(): Promise<void>;
}

/** The outcome of takeLease: the lease, or who holds the day. */
export type LeaseAttempt = { readonly acquired: true; readonly lease: Lease } | { readonly acquired: false; readonly holder: LeaseBody | undefined };

function leaseError(dt: string, cause: string, hint?: string): LogbargeError {
  return new LogbargeError('SEAL_FAILED', `keep seal lease of dt=${dt}: ${cause}`, hint ? { hint } : {});
}

async function readBody(store: ObjectStore, key: string): Promise<LeaseBody | undefined> {
  try {
    const body = JSON.parse((await store.get(key)).toString('utf8')) as LeaseBody;
    if (typeof body.expires_at !== 'string' || typeof body.generation !== 'number') throw new Error('missing expires_at or generation');
    return body;
  } catch (err) {
    if (err instanceof StoreError && err.reason === 'not_found') return undefined;
    if (err instanceof StoreError) throw err;
    throw new LogbargeError('SEAL_FAILED', `read seal lease ${key}: ${(err as Error).message}`, {
      cause: err,
      hint: `the object was not written by logbarge; delete ${key} once no sealer runs`,
    });
  }
}

/** True when `body` still holds its day at `now`. */
function isLive(body: LeaseBody, now: number): boolean {
  return !body.released && Date.parse(body.expires_at) > now;
}

/**
 * Writes generation `generation` with `ifAbsent`; false when it exists already (another writer
 * got there first). Refuses endpoints that do not enforce conditional writes.
 */
async function writeGeneration(store: ObjectStore, body: LeaseBody): Promise<boolean> {
  const key = leaseKey(body.dt, body.generation);
  const put = await store.putBytes(key, Buffer.from(`${JSON.stringify(body)}\n`, 'utf8'), { contentType: 'application/json', ifAbsent: true });
  if (store.conditionalWrites === false) {
    await store.delete(key);
    throw new LogbargeError('SEAL_FAILED', `take seal lease ${store.describe(key)}: the destination does not enforce If-None-Match (conditional writes)`, {
      hint: 'use an S3 endpoint with conditional writes (AWS S3, MinIO); without them two replicas could seal one day at once',
    });
  }
  return !put.alreadyExisted;
}

/** Deletes generations that expired more than a lease length ago (no holder can renew from them). */
async function pruneGenerations(options: { store: ObjectStore; dt: string; keep: number; now: number; ttlMs: number }): Promise<void> {
  const { store, dt, keep, now, ttlMs } = options;
  for (const object of await store.list(leaseFolder(dt))) {
    const generation = generationOfLeaseKey(object.key);
    if (generation === undefined || generation >= keep) continue;
    const body = await readBody(store, object.key);
    if (body && Date.parse(body.expires_at) < now - ttlMs) await store.delete(object.key);
  }
}

/** Tries to take the lease on sealing day `dt`. */
export async function takeLease(options: LeaseOptions): Promise<LeaseAttempt> {
  const { store, dt, owner, ttlMs } = options;
  const now = options.now ?? Date.now;
  const listed = await store.list(leaseFolder(dt));
  const top = Math.max(0, ...listed.map((o) => generationOfLeaseKey(o.key) ?? 0));
  if (top > 0) {
    const current = await readBody(store, leaseKey(dt, top));
    if (current && isLive(current, now())) return { acquired: false, holder: current };
  }
  const token = randomBytes(8).toString('hex');
  const acquiredAt = now();
  let body: LeaseBody = {
    dt,
    owner,
    token,
    generation: top + 1,
    acquired_at: new Date(acquiredAt).toISOString(),
    expires_at: new Date(acquiredAt + ttlMs).toISOString(),
    released: false,
  };
  if (!(await writeGeneration(store, body))) return { acquired: false, holder: await readBody(store, leaseKey(dt, top + 1)) };
  await pruneGenerations({ store, dt, keep: top + 1, now: acquiredAt, ttlMs });

  let lost: string | undefined;
  const lease: Lease = {
    dt,
    generation: () => body.generation,
    expiresAt: () => Date.parse(body.expires_at),
    async keep() {
      if (lost) throw leaseError(dt, lost);
      const at = now();
      const expires = Date.parse(body.expires_at);
      if (at >= expires) {
        lost = `it expired at ${body.expires_at} before it was renewed`;
        throw leaseError(dt, lost, 'raise seal.leaseSeconds above the time a step of the seal takes (downloading or writing one file)');
      }
      if (expires - at > ttlMs / 2) return;
      const next: LeaseBody = { ...body, generation: body.generation + 1, expires_at: new Date(at + ttlMs).toISOString() };
      if (!(await writeGeneration(store, next))) {
        const holder = await readBody(store, leaseKey(dt, next.generation));
        lost = `generation ${next.generation} was written by ${holder?.owner ?? 'another sealer'}`;
        throw leaseError(dt, lost);
      }
      body = next;
    },
    async release() {
      if (lost) return;
      lost = 'it was released';
      const at = now();
      await writeGeneration(store, { ...body, generation: body.generation + 1, expires_at: new Date(at).toISOString(), released: true });
    },
  };
  return { acquired: true, lease };
}
