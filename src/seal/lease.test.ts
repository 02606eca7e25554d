/**
 * The seal lease on both backends: the file store (conditional writes by hard link) and S3 on
 * fauxqs behind the 412 proxy (fauxqs itself ignores If-None-Match). Times are injected, so
 * expiry is tested without waiting.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileStore } from '../store/file.js';
import type { ObjectStore } from '../store/store.js';
import { openTestStore, startS3Server, type S3TestServer } from '../../test/support/s3.js';
import { enforceIfNoneMatch, rejectIfNoneMatch, startS3Proxy, type S3Proxy } from '../../test/support/s3-proxy.js';
import { leaseKey } from './keys.js';
import { takeLease, type LeaseAttempt } from './lease.js';

const ttlMs = 60_000;
const t0 = Date.parse('2026-03-17T00:00:00Z');

/**
 * A store whose `list` waits for `gate` after listing: a sealer that read the lease folder and
 * is about to write, so another can take the lease in between (the race conditional writes settle).
 */
function pausedAfterList(store: ObjectStore, gate: Promise<void>, listed: () => void): ObjectStore {
  return Object.assign(Object.create(store) as ObjectStore, {
    async list(prefix: string) {
      const out = await store.list(prefix);
      listed();
      await gate;
      return out;
    },
  });
}

function acquired(attempt: LeaseAttempt) {
  if (!attempt.acquired) throw new Error(`expected the lease, ${attempt.holder?.owner ?? 'someone'} holds it`);
  return attempt.lease;
}

let server: S3TestServer;
let enforcing: S3Proxy;
let unenforced: S3Proxy;
const dirs: string[] = [];
let counter = 0;

beforeAll(async () => {
  server = await startS3Server();
  await server.createBucket('lease-bucket');
  enforcing = await startS3Proxy({ upstream: server.endpoint, rules: [enforceIfNoneMatch] });
  unenforced = await startS3Proxy({ upstream: server.endpoint, rules: [rejectIfNoneMatch] });
});
afterAll(async () => {
  await enforcing?.stop();
  await unenforced?.stop();
  await server?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const backends: { name: string; open: () => ObjectStore }[] = [
  {
    name: 'file',
    open: () => {
      const dir = mkdtempSync(join(tmpdir(), 'logbarge-lease-'));
      dirs.push(dir);
      return createFileStore({ url: `file://${dir}/` });
    },
  },
  { name: 's3 (412 proxy)', open: () => openTestStore(`s3://lease-bucket/l${++counter}/`, server.s3Config({ endpoint: enforcing.endpoint })) },
];

describe.each(backends)('seal lease on $name', ({ open }) => {
  it('a second sealer finds the day busy, naming the holder', async () => {
    const store = open();
    const a = acquired(await takeLease({ store, dt: '2026-03-14', owner: 'pod-a', ttlMs, now: () => t0 }));
    const b = await takeLease({ store, dt: '2026-03-14', owner: 'pod-b', ttlMs, now: () => t0 + 1000 });
    expect(b.acquired).toBe(false);
    expect(!b.acquired && b.holder?.owner).toBe('pod-a');
    // Another day is independent.
    expect((await takeLease({ store, dt: '2026-03-13', owner: 'pod-b', ttlMs, now: () => t0 })).acquired).toBe(true);
    await a.release();
    store.close();
  });

  it('of two sealers that both saw the day free, the conditional write lets exactly one in', async () => {
    const store = open();
    let open_: () => void = () => {};
    const gate = new Promise<void>((r) => (open_ = r));
    let listed: () => void = () => {};
    const hasListed = new Promise<void>((r) => (listed = r));
    const slow = takeLease({ store: pausedAfterList(store, gate, listed), dt: '2026-03-14', owner: 'pod-slow', ttlMs, now: () => t0 });
    await hasListed;
    const fast = acquired(await takeLease({ store, dt: '2026-03-14', owner: 'pod-fast', ttlMs, now: () => t0 }));
    open_();
    const late = await slow;
    expect(late.acquired).toBe(false);
    expect(!late.acquired && late.holder?.owner).toBe('pod-fast');
    expect(fast.generation()).toBe(1);
    store.close();
  });

  it('an expired lease is taken over, and its old holder cannot renew or go on', async () => {
    const store = open();
    let aNow = t0;
    const a = acquired(await takeLease({ store, dt: '2026-03-14', owner: 'pod-a', ttlMs, now: () => aNow }));
    // pod-b's clock is past pod-a's expiry (pod-a stalled): it takes the day over.
    let bNow = t0 + ttlMs + 1;
    const b = acquired(await takeLease({ store, dt: '2026-03-14', owner: 'pod-b', ttlMs, now: () => bNow }));
    expect(b.generation()).toBe(2);
    // pod-a's own clock says a quarter is left: it renews, which needs generation 2, taken.
    aNow = t0 + ttlMs * 0.75;
    await expect(a.keep()).rejects.toThrow(/generation 2 was written by pod-b/);
    await expect(a.keep()).rejects.toThrow(/generation 2 was written by pod-b/);
    // A holder whose clock passed its expiry stops, whatever the store says.
    let cNow = t0;
    const c = acquired(await takeLease({ store, dt: '2026-03-15', owner: 'pod-c', ttlMs, now: () => cNow }));
    cNow = t0 + ttlMs;
    await expect(c.keep()).rejects.toThrow(/expired at .* before it was renewed/);
    bNow += 1000;
    await b.keep(); // more than half left: nothing written
    expect(b.generation()).toBe(2);
    store.close();
  });

  it('keep renews past half the lease, so the day stays busy for others', async () => {
    const store = open();
    let now = t0;
    const a = acquired(await takeLease({ store, dt: '2026-03-14', owner: 'pod-a', ttlMs, now: () => now }));
    now = t0 + ttlMs * 0.6;
    await a.keep();
    expect(a.generation()).toBe(2);
    expect(a.expiresAt()).toBe(now + ttlMs);
    const b = await takeLease({ store, dt: '2026-03-14', owner: 'pod-b', ttlMs, now: () => t0 + ttlMs + 1 });
    expect(b.acquired).toBe(false);
    store.close();
  });

  it('a released lease can be taken at once; generations only grow', async () => {
    const store = open();
    const a = acquired(await takeLease({ store, dt: '2026-03-14', owner: 'pod-a', ttlMs, now: () => t0 }));
    await a.release();
    const b = acquired(await takeLease({ store, dt: '2026-03-14', owner: 'pod-b', ttlMs, now: () => t0 + 1 }));
    expect(b.generation()).toBe(3);
    expect(await store.head(leaseKey('2026-03-14', 2))).toBeDefined();
    store.close();
  });
});

describe('seal lease on an endpoint without conditional writes', () => {
  it('refuses to seal and leaves no lease behind', async () => {
    const store = openTestStore('s3://lease-bucket/no-conditional/', server.s3Config({ endpoint: unenforced.endpoint }));
    await expect(takeLease({ store, dt: '2026-03-14', owner: 'pod-a', ttlMs, now: () => t0 })).rejects.toThrow(/does not enforce If-None-Match/);
    expect(await store.list('')).toEqual([]);
    store.close();
  });

  it('fauxqs alone ignores If-None-Match: both racing sealers would win (why the tests use the 412 proxy)', async () => {
    const store = openTestStore('s3://lease-bucket/ignored/', server.s3Config());
    let open_: () => void = () => {};
    const gate = new Promise<void>((r) => (open_ = r));
    let listed: () => void = () => {};
    const hasListed = new Promise<void>((r) => (listed = r));
    const slow = takeLease({ store: pausedAfterList(store, gate, listed), dt: '2026-03-14', owner: 'pod-slow', ttlMs, now: () => t0 });
    await hasListed;
    expect((await takeLease({ store, dt: '2026-03-14', owner: 'pod-fast', ttlMs, now: () => t0 })).acquired).toBe(true);
    open_();
    expect((await slow).acquired).toBe(true);
    store.close();
  });
});
