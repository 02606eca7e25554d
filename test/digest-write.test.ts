/**
 * Digest writing (issue 12, export option `integrity`): the digests list exactly the objects
 * delivered (key, bytes and SHA-256 of the stored bytes), link into one contiguous chain and
 * verify with the public key; an empty period still gets a digest; the drain writes one; a digest
 * whose upload failed is written again with the same bytes under the same key; a key holding
 * other bytes is never overwritten. File store and fauxqs, real SQLite; a child daemon killed
 * with kill -9 after delivering and before its digest keeps the chain intact after restart.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { generateKeyPairSync, createHash, type KeyObject } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { startTestDaemon, tempDir, event, type TestDaemon } from './support/daemon.js';
import { enforceIfNoneMatch, startS3Proxy } from './support/s3-proxy.js';
import { runCli, spawnDaemon, writeConfig } from './support/process.js';
import { openTestStore, s3TestConfig, startS3Server, type S3TestServer } from './support/s3.js';
import { parseDigest, verifyDigestSignature, digestFolder, parsePeriod, type SignedDigest } from '../src/export/digest.js';
import { isDigestPeriod } from '../src/config/schema.js';
import { parseConfig } from '../src/config/load.js';
import { loadIntegrityKeys } from '../src/app/digester.js';
import type { ObjectStore } from '../src/store/store.js';

const rarely = '0 0 1 1 *';

/**
 * The digest period of these tests. The daemon's digest timer runs on the wall clock: a period
 * end passing mid-test writes one more digest than the test expects (a CI run that started at
 * 21:59:56 UTC, with `every: '1h'` here, got [3, 0, 1, 0] for [3, 0, 1]). A day has one period
 * end, and `clearOfPeriodEnd` waits past it when it is near.
 */
const every = '1d';

/** Waits until the next period end of `every` is at least `marginMs` away. */
async function clearOfPeriodEnd(marginMs = 120_000): Promise<void> {
  const periodMs = parsePeriod(every)!;
  const left = periodMs - (Date.now() % periodMs);
  if (left < marginMs) await new Promise((r) => setTimeout(r, left + 100));
}
beforeEach(() => clearOfPeriodEnd(), 180_000);
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function writeKey(dir: string): { keyPath: string; publicKey: KeyObject; pubPath: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const keyPath = join(dir, 'digest.key');
  const pubPath = join(dir, 'digest.pub');
  writeFileSync(keyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  writeFileSync(pubPath, publicKey.export({ type: 'spki', format: 'pem' }));
  return { keyPath, publicKey, pubPath };
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Every file under `dir`, as keys relative to it. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

interface Chain {
  readonly digests: { key: string; bytes: Buffer; digest: SignedDigest }[];
}

/** Parses a chain's digests from key → bytes, ordered by period end. */
function chainOf(entries: [string, Buffer][]): Chain {
  const digests = entries.map(([key, bytes]) => {
    const parsed = parseDigest(bytes);
    if ('problem' in parsed) throw new Error(`${key}: ${parsed.problem}`);
    return { key, bytes, digest: parsed.digest };
  });
  digests.sort((a, b) => Date.parse(a.digest.periodEnd) - Date.parse(b.digest.periodEnd));
  return { digests };
}

/**
 * Checks a chain: signatures, previous links, contiguous periods; every object in `stored` listed
 * exactly once with its bytes and SHA-256; nothing listed that is not stored.
 */
function expectIntact(chain: Chain, publicKey: KeyObject, stored: Map<string, Buffer>): void {
  const listed = new Map<string, number>();
  chain.digests.forEach(({ key, digest }, i) => {
    expect(verifyDigestSignature(digest, publicKey), `${key}: signature`).toBe(true);
    if (i === 0) expect(digest.previous).toBeNull();
    else {
      const prev = chain.digests[i - 1]!;
      expect(digest.previous, `${key}: previous`).toEqual({ key: prev.key, sha256: sha256(prev.bytes) });
      expect(digest.periodStart, `${key}: contiguous`).toBe(prev.digest.periodEnd);
    }
    expect(Date.parse(digest.periodStart)).toBeLessThan(Date.parse(digest.periodEnd));
    for (const o of digest.objects) {
      listed.set(o.key, (listed.get(o.key) ?? 0) + 1);
      const bytes = stored.get(o.key);
      expect(bytes, `${key} lists ${o.key}, which is not stored`).toBeDefined();
      expect({ key: o.key, bytes: o.bytes, sha256: o.sha256 }).toEqual({ key: o.key, bytes: bytes!.length, sha256: sha256(bytes!) });
    }
  });
  expect([...stored.keys()].sort()).toEqual([...listed.keys()].sort());
  for (const [key, n] of listed) expect(n, `${key} listed ${n} times`).toBe(1);
}

/** Data and quarantine objects and digests of a destination, read through its store. */
async function readDestination(store: ObjectStore): Promise<{ stored: Map<string, Buffer>; chain: Chain }> {
  const stored = new Map<string, Buffer>();
  const digests: [string, Buffer][] = [];
  for (const { key } of await store.list('')) {
    if (key.startsWith('_verify/')) continue;
    const bytes = await store.get(key);
    if (key.startsWith(digestFolder)) digests.push([key, bytes]);
    else stored.set(key, bytes);
  }
  return { stored, chain: chainOf(digests) };
}

/** The same for a file destination directory. */
async function readFileDestination(dir: string): Promise<{ stored: Map<string, Buffer>; chain: Chain }> {
  const store = openTestStore(`file://${dir}/`, s3TestConfig('http://127.0.0.1:9'));
  try {
    return await readDestination(store);
  } finally {
    store.close();
  }
}

const okta = (uuid: string, published = '2026-03-14T09:26:53.589Z') => ({
  version: '0', id: `env-${uuid}`, 'detail-type': 'SystemLog', source: 'aws.partner/okta.com/acme/stream', account: '123456789012',
  time: '2026-03-14T09:27:00Z', region: 'us-east-1', resources: [],
  detail: { uuid, published, eventType: 'user.session.start', actor: { id: '00u1', type: 'User' }, outcome: { result: 'SUCCESS' } },
});

describe('digests on a file destination', () => {
  it('list every delivered object (quarantine too) once, chain, verify; an empty period and the drain get digests', async () => {
    const temp = tempDir('logbarge-digest-');
    cleanups.push(() => temp.remove());
    const { keyPath, publicKey } = writeKey(temp.dir);
    const out = join(temp.dir, 'out');
    const d: TestDaemon & { dir: string } = await startTestDaemon(
      {
        sources: { okta: { profile: 'eventbridge', organizationId: 'acme' } },
        exports: [{ name: 'nd', format: 'ndjson', destination: `file://${out}/`, schedule: rarely, integrity: { privateKeyFile: keyPath, every } }],
      },
      temp.dir,
    );
    let stopped = false;
    cleanups.push(async () => {
      if (!stopped) await d.daemon.stop();
    });
    const before = (await d.request('/metrics')).text;
    expect(before).toMatch(/^logbarge_digest_last_success_timestamp_seconds\{export="nd"\} 0$/m);
    expect(before).toMatch(/^logbarge_digests_written_total\{export="nd"\} 0$/m);
    // Two dt partitions and one quarantined record (no day 31 in September).
    expect((await d.post([event({ EVENT_TIME: '2026-03-14T09:00:00Z' }), event({ EVENT_TIME: '2026-03-15T09:00:00Z' })])).status).toBe(202);
    const q = await d.request('/v1/events/okta', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([okta('a1'), okta('a2', '2017-09-31T22:23:07.777Z')]) });
    expect(q.status, q.text).toBe(202);
    expect((await d.request('/v1/flush', { method: 'POST' })).status).toBe(200);
    // POST /v1/flush delivers but writes no digest; the objects wait for the next one.
    expect(filesUnder(join(out, digestFolder))).toEqual([]);
    const first = await d.daemon.exporter.writeDigests({ reason: 'flush' });
    expect(first).toEqual([{ export: 'nd', keys: [expect.stringMatching(new RegExp(`^_digest/test-${d.daemon.spool.id}/\\d{8}T\\d{6}(\\.\\d{3})?Z\\.json$`))] }]);
    let dest = await readFileDestination(out);
    expect([...dest.stored.keys()].some((k) => k.startsWith('_quarantine/dt='))).toBe(true);
    expect(dest.stored.size).toBe(3);
    expectIntact(dest.chain, publicKey, dest.stored);
    expect(dest.chain.digests[0]!.digest).toMatchObject({ export: 'nd', writer: 'test', spool: d.daemon.spool.id, version: 1 });

    // Nothing delivered since: the next digest lists no object and links to the first.
    await new Promise((r) => setTimeout(r, 5));
    const empty = await d.daemon.exporter.writeDigests({ reason: 'flush' });
    expect(empty[0]!.keys).toHaveLength(1);
    dest = await readFileDestination(out);
    expect(dest.chain.digests.map((x) => x.digest.objects.length)).toEqual([3, 0]);
    expectIntact(dest.chain, publicKey, dest.stored);

    // Delivered, then the drain (SIGTERM path) writes the digest of the partial period.
    expect((await d.post([event({ EVENT_TIME: '2026-03-16T09:00:00Z' })])).status).toBe(202);
    expect((await d.request('/v1/flush', { method: 'POST' })).status).toBe(200);
    const metrics = (await d.request('/metrics')).text;
    expect(metrics).toMatch(/^logbarge_digests_written_total\{export="nd"\} 2$/m);
    expect(metrics).toMatch(/^logbarge_digest_last_success_timestamp_seconds\{export="nd"\} \d+(\.\d+)?$/m);
    await d.daemon.stop();
    stopped = true;
    dest = await readFileDestination(out);
    expect(dest.chain.digests.map((x) => x.digest.objects.length)).toEqual([3, 0, 1]);
    expect(dest.stored.size).toBe(4);
    expectIntact(dest.chain, publicKey, dest.stored);

    // status shows the last digest.
    const status = runCli(['status', '-c', writeConfig(temp.dir, {
      writerId: 'test', spool: { path: join(temp.dir, 'spool.db') },
      exports: [{ name: 'nd', format: 'ndjson', destination: `file://${out}/`, integrity: { privateKeyFile: keyPath } }],
    }), '--json']);
    expect(status.status, status.stderr).toBe(0);
    const last = dest.chain.digests[2]!;
    expect(JSON.parse(status.stdout).exports[0].integrity).toMatchObject({
      lastDigest: { key: last.key, periodStart: last.digest.periodStart, periodEnd: last.digest.periodEnd, objects: 1 },
      unlistedObjects: 0,
      pendingDigest: null,
    });
  });

  it('writes a failed digest again with the same bytes under the same key, and never overwrites other bytes', async () => {
    const temp = tempDir('logbarge-digest-retry-');
    cleanups.push(() => temp.remove());
    const { keyPath, publicKey } = writeKey(temp.dir);
    const out = join(temp.dir, 'out');
    // The store of the daemon: digest uploads land and then fail (as if the process died before
    // recording them), or fail before landing, while `mode` says so.
    let mode: 'ok' | 'fail-after' | 'fail-before' = 'ok';
    const d = await startTestDaemon(
      { exports: [{ name: 'nd', format: 'ndjson', destination: `file://${out}/`, schedule: rarely, integrity: { privateKeyFile: keyPath, every } }] },
      temp.dir,
      {
        openStore: (destination, config) => {
          const inner = openTestStore(destination, config.s3);
          return {
            ...inner,
            url: inner.url,
            describe: (k) => inner.describe(k),
            async putBytes(key, body, options) {
              if (key.startsWith(digestFolder) && mode === 'fail-before') throw new Error('injected: digest upload failed');
              const r = await inner.putBytes(key, body, options);
              if (key.startsWith(digestFolder) && mode === 'fail-after') throw new Error('injected: lost the answer to the digest upload');
              return r;
            },
          };
        },
      },
    );
    cleanups.push(() => d.daemon.stop());
    expect((await d.post([event(), event()])).status).toBe(202);
    expect((await d.request('/v1/flush', { method: 'POST' })).status).toBe(200);

    mode = 'fail-after';
    const failed = await d.daemon.exporter.writeDigests();
    expect(failed[0]).toMatchObject({ keys: [], error: expect.stringContaining('injected') });
    const landed = filesUnder(join(out, digestFolder));
    expect(landed).toHaveLength(1);
    const bytes = readFileSync(join(out, digestFolder, landed[0]!));
    // More deliveries meanwhile go to the next digest, not into the planned one.
    expect((await d.post([event()])).status).toBe(202);
    expect((await d.request('/v1/flush', { method: 'POST' })).status).toBe(200);
    mode = 'ok';
    await new Promise((r) => setTimeout(r, 5));
    const retried = await d.daemon.exporter.writeDigests();
    expect(retried[0]!.error).toBeUndefined();
    expect(retried[0]!.keys).toEqual([`${digestFolder}${landed[0]}`, expect.any(String)]);
    expect(readFileSync(join(out, digestFolder, landed[0]!)).equals(bytes)).toBe(true);
    let dest = await readFileDestination(out);
    expect(dest.chain.digests.map((x) => x.digest.objects.length)).toEqual([1, 1]);
    expectIntact(dest.chain, publicKey, dest.stored);

    // A digest whose key already holds other bytes: an error naming the key, counted, not replaced.
    expect((await d.post([event()])).status).toBe(202);
    expect((await d.request('/v1/flush', { method: 'POST' })).status).toBe(200);
    mode = 'fail-before';
    await new Promise((r) => setTimeout(r, 5));
    expect((await d.daemon.exporter.writeDigests())[0]!.error).toContain('injected');
    const planned = d.daemon.spool.db.prepare("SELECT object_key FROM digests WHERE state = 'planned'").pluck().get() as string;
    mkdirSync(join(out, planned, '..'), { recursive: true });
    writeFileSync(join(out, planned), 'not the digest\n');
    mode = 'ok';
    const refused = await d.daemon.exporter.writeDigests();
    expect(refused[0]!.error).toContain(planned);
    expect(refused[0]!.error).toContain('holds other bytes');
    expect(readFileSync(join(out, planned), 'utf8')).toBe('not the digest\n');
    expect((await d.request('/metrics')).text).toMatch(/^logbarge_digest_failures_total\{export="nd"\} 3$/m);
    expect(filesUnder(join(out, digestFolder))).toHaveLength(3);
  });
});

describe('digests on S3 (fauxqs)', () => {
  let server: S3TestServer;
  beforeAll(async () => {
    server = await startS3Server();
    await server.createBucket('digest-bucket');
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('hash the stored bytes, also of an object an earlier attempt uploaded (other bytes, same rows) before its commit was lost', async () => {
    const temp = tempDir('logbarge-digest-s3-');
    cleanups.push(() => temp.remove());
    const { keyPath, publicKey } = writeKey(temp.dir);
    const destination = 's3://digest-bucket/audit/';
    // The first data upload lands with other bytes for the same rows (an earlier attempt's
    // encoding, same metadata), then fails as if the process died before the commit.
    let loseFirstAnswer = true;
    const proxy = await startS3Proxy({ upstream: server.endpoint, rules: [enforceIfNoneMatch] });
    cleanups.push(() => proxy.stop());
    const d = await startTestDaemon(
      {
        s3: server.s3Config({ endpoint: proxy.endpoint }),
        exports: [{ name: 'pq', format: 'parquet', destination, schedule: rarely, integrity: { privateKeyFile: keyPath, every } }],
      },
      temp.dir,
      {
        openStore: (dest, config) => {
          const inner = openTestStore(dest, config.s3);
          return {
            ...inner,
            url: inner.url,
            describe: (k) => inner.describe(k),
            async putFile(key, path, options) {
              if (loseFirstAnswer && key.startsWith('dt=')) {
                loseFirstAnswer = false;
                const other = `${path}.other`;
                writeFileSync(other, Buffer.concat([readFileSync(path), Buffer.from('earlier attempt')]));
                await inner.putFile(key, other, options);
                throw new Error('injected: lost the answer to the upload');
              }
              return inner.putFile(key, path, options);
            },
          };
        },
      },
    );
    let stopped = false;
    cleanups.push(async () => {
      if (!stopped) await d.daemon.stop();
    });
    expect((await d.post([event({ EVENT_TIME: '2026-03-14T09:00:00Z' }), event({ EVENT_TIME: '2026-03-15T09:00:00Z' })])).status).toBe(202);
    const failed = await d.daemon.exporter.flush();
    expect(failed[0]!.error).toContain('injected');
    const retried = await d.daemon.exporter.flush();
    expect(retried[0]!.error).toBeUndefined();
    expect((await d.daemon.exporter.writeDigests())[0]!.error).toBeUndefined();
    expect((await d.post([event({ EVENT_TIME: '2026-03-16T09:00:00Z' })])).status).toBe(202);
    expect((await d.daemon.exporter.flush())[0]!.error).toBeUndefined();
    await d.daemon.stop(); // the drain digest lists the last object
    stopped = true;
    const store = openTestStore(destination, server.s3Config());
    try {
      const dest = await readDestination(store);
      expect(dest.stored.size).toBe(3);
      expect([...dest.stored.values()].filter((b) => b.subarray(-15).toString() === 'earlier attempt')).toHaveLength(1);
      expect(dest.chain.digests.map((x) => x.digest.objects.length)).toEqual([2, 1]);
      expectIntact(dest.chain, publicKey, dest.stored);
    } finally {
      store.close();
    }
  });
});

describe('kill -9 after delivering, before the digest', () => {
  it('the next process lists every object exactly once in a chain continued from the last digest', async () => {
    const temp = tempDir('logbarge-digest-kill-');
    cleanups.push(() => temp.remove());
    const { keyPath, publicKey, pubPath } = writeKey(temp.dir);
    const out = join(temp.dir, 'out');
    const configPath = writeConfig(temp.dir, {
      writerId: 'killed',
      server: { port: 0 },
      spool: { path: join(temp.dir, 'spool.db'), minFreeBytes: 0 },
      exports: [{ name: 'nd', format: 'ndjson', destination: `file://${out}/`, schedule: rarely, integrity: { privateKeyFile: keyPath, every } }],
      log: { level: 'info' },
    });
    const deliver = async (url: string, n: number): Promise<void> => {
      const body = JSON.stringify(Array.from({ length: n }, (_, i) => event({ EVENT_TIME: `2026-03-1${4 + (i % 3)}T09:00:00Z` })));
      const a = await fetch(`${url}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      expect(a.status).toBe(202);
      // POST /v1/flush delivers (objects recorded in the spool) and writes no digest.
      const f = await fetch(`${url}/v1/flush`, { method: 'POST' });
      expect(f.status).toBe(200);
    };

    // 1: delivers, drains: the first digest.
    let child = await spawnDaemon(configPath);
    cleanups.push(() => {
      child.child.kill('SIGKILL');
    });
    await deliver(child.url, 3);
    child.child.kill('SIGTERM');
    expect(await child.exited).toBe(0);
    expect(filesUnder(join(out, digestFolder))).toHaveLength(1);

    // 2: delivers, then dies by kill -9 before any digest lists those objects.
    child = await spawnDaemon(configPath);
    await deliver(child.url, 3);
    child.child.kill('SIGKILL');
    expect(await child.exited).toBe('SIGKILL');
    expect(filesUnder(join(out, digestFolder))).toHaveLength(1);

    // 3: delivers more, drains: one digest lists the objects of 2 and 3, linked to the first.
    child = await spawnDaemon(configPath);
    await deliver(child.url, 2);
    child.child.kill('SIGTERM');
    expect(await child.exited).toBe(0);

    const dest = await readFileDestination(out);
    expect(dest.chain.digests.map((x) => x.digest.objects.length)).toEqual([3, 5]);
    expect(dest.stored.size).toBe(8);
    expectIntact(dest.chain, publicKey, dest.stored);

    // `logbarge validate` reads what the daemon wrote: intact, both with the config and in the
    // standalone form; one changed byte of one delivered object is exit 5 naming that key.
    const ok = runCli(['validate', '-c', configPath, '--json']);
    expect([ok.status, ok.stderr]).toEqual([0, '']);
    expect(JSON.parse(ok.stdout)).toMatchObject({ intact: true, digests: 2, objects: 8, problems: [] });
    const alone = runCli(['validate', '--destination', `file://${out}/`, '--public-key', pubPath, '--json']);
    expect([alone.status, alone.stderr]).toEqual([0, '']);
    const victim = [...dest.stored.keys()].sort()[4]!;
    const bytes = readFileSync(join(out, victim));
    bytes[bytes.length - 2] = bytes[bytes.length - 2]! ^ 0x01;
    writeFileSync(join(out, victim), bytes);
    const bad = runCli(['validate', '-c', configPath, '--json']);
    expect(bad.status, bad.stderr).toBe(5);
    expect((JSON.parse(bad.stdout) as { problems: { key: string; kind: string }[] }).problems.map((x) => [x.key, x.kind])).toEqual([[victim, 'object_modified']]);
  });
});

describe('integrity config and keygen', () => {
  it('isDigestPeriod (config) accepts exactly what parsePeriod (digest format) does', () => {
    for (const text of ['1m', '59s', '60s', '15m', '1h', '24h', '1d', '25h', '2d', '0m', '1H', ' 1h', '1.5h', 'h', '']) {
      expect(isDigestPeriod(text), text).toBe(parsePeriod(text) !== undefined);
    }
  });

  it('refuses a bad period and a bad key with exit 2, naming the field', () => {
    const temp = tempDir('logbarge-digest-config-');
    cleanups.push(() => temp.remove());
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' });
    writeFileSync(join(temp.dir, 'rsa.key'), rsa);
    const exportWith = (integrity: Record<string, unknown>) => ({ name: 'nd', format: 'ndjson', destination: `file://${temp.dir}/out/`, integrity });
    const parse = (integrity: Record<string, unknown>) => parseConfig({ exports: [exportWith(integrity)] }, { env: {}, source: 'test' });
    expect(() => parse({ privateKeyFile: 'k', every: '90s2' })).toThrow(/exports\[0\]\.integrity\.every: must be a period/);
    expect(() => parse({ privateKeyFile: 'k', every: '2d' })).toThrow(/exports\[0\]\.integrity\.every/);
    expect(() => parse({ every: '1h' })).toThrow(/exports\[0\]\.integrity\.privateKeyFile/);
    expect(() => loadIntegrityKeys(parse({ privateKeyFile: join(temp.dir, 'none.key') }).exports)).toThrow(
      /exports\[0\]\.integrity\.privateKeyFile: cannot read .*none\.key/,
    );
    // The daemon and flush load the key at start: exit 2, naming the field, nothing written.
    const rsaKey = runCli(['flush', '-c', writeConfig(temp.dir, { spool: { path: join(temp.dir, 'spool.db') }, exports: [exportWith({ privateKeyFile: join(temp.dir, 'rsa.key') })] })]);
    expect([rsaKey.status, rsaKey.stderr]).toEqual([2, expect.stringMatching(/exports\[0\]\.integrity\.privateKeyFile: .*rsa\.key holds a rsa key, not ed25519/)]);
    expect(existsSync(join(temp.dir, 'out'))).toBe(false);
  });

  it('keygen writes a 0600 private key and a public key, refuses to overwrite without --force, and prints a snippet that loads', () => {
    const temp = tempDir('logbarge-keygen-');
    cleanups.push(() => temp.remove());
    const dir = join(temp.dir, 'keys');
    const first = runCli(['keygen', '--out', dir, '--name', 'audit']);
    expect(first.status, first.stderr).toBe(0);
    expect(statSync(join(dir, 'audit.key')).mode & 0o777).toBe(0o600);
    const pub = readFileSync(join(dir, 'audit.pub'), 'utf8');
    expect(pub).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    const fingerprint = /fingerprint: (sha256:[0-9a-f]{64})/.exec(first.stdout)?.[1];
    const snippet = /^\s*("integrity": \{.*\})$/m.exec(first.stdout)?.[1];
    expect(fingerprint).toBeDefined();
    expect(snippet).toBeDefined();
    const config = parseConfig(
      { exports: [{ name: 'nd', destination: `file://${temp.dir}/out/`, ...(JSON.parse(`{${snippet}}`) as object) }] },
      { env: {}, source: 'snippet' },
    );
    expect(config.exports[0]!.integrity).toEqual({ privateKeyFile: join(dir, 'audit.key'), every: '1h' });
    const keys = loadIntegrityKeys(config.exports);
    expect(keys.get('nd')!.periodMs).toBe(3_600_000);

    const again = runCli(['keygen', '--out', dir, '--name', 'audit']);
    expect([again.status, again.stderr]).toEqual([2, expect.stringContaining('audit.key exists; pass --force')]);
    expect(readFileSync(join(dir, 'audit.pub'), 'utf8')).toBe(pub);
    const forced = runCli(['keygen', '--out', dir, '--name', 'audit', '--force']);
    expect(forced.status, forced.stderr).toBe(0);
    expect(readFileSync(join(dir, 'audit.pub'), 'utf8')).not.toBe(pub);
    expect(statSync(join(dir, 'audit.key')).mode & 0o777).toBe(0o600);
  });
});
