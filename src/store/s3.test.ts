/**
 * s3-backend behaviour beyond the shared contract, against fauxqs on 127.0.0.1 with a recording
 * proxy in front: encryption and storage-class headers on every write, multipart uploads,
 * conditional writes and the 501 fallback, retries, outages and error mapping with real SDK errors.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bucketInRegion,
  enforceIfNoneMatch,
  rejectAccessKey,
  rejectIfNoneMatch,
  s3Error,
  startS3Proxy,
  type ProxyRule,
  type S3Proxy,
} from '../../test/support/s3-proxy.js';
import { startS3Server, testCredentials, type S3TestServer } from '../../test/support/s3.js';
import { createS3Store, parseS3Url, type S3ObjectStore } from './s3.js';
import { StoreError } from './store.js';

let server: S3TestServer;
const proxies: S3Proxy[] = [];
const stores: S3ObjectStore[] = [];
const staging = mkdtempSync(join(tmpdir(), 'logbarge-s3-test-'));
let run = 0;

beforeAll(async () => {
  server = await startS3Server();
  await server.createBucket('s3test');
});
afterAll(async () => {
  for (const store of stores) store.close();
  for (const proxy of proxies) await proxy.stop();
  await server?.stop();
  rmSync(staging, { recursive: true, force: true });
});

/** A proxy with `rules` in front of the test server. */
async function proxy(rules: ProxyRule[] = []): Promise<S3Proxy> {
  const p = await startS3Proxy({ upstream: server.endpoint, rules });
  proxies.push(p);
  return p;
}

/** A store on a fresh prefix, optionally through `via`. */
function store(options: { via?: S3Proxy; s3?: Parameters<S3TestServer['s3Config']>[0]; maxAttempts?: number; accessKeyId?: string } = {}): S3ObjectStore {
  const s = createS3Store({
    url: `s3://s3test/run-${++run}/`,
    s3: server.s3Config({ ...(options.via ? { endpoint: options.via.endpoint } : {}), ...options.s3 }),
    maxAttempts: options.maxAttempts ?? 2,
    credentials: options.accessKeyId ? { ...testCredentials, accessKeyId: options.accessKeyId } : testCredentials,
  });
  stores.push(s);
  return s;
}

/** A staged file of `bytes`. */
function stage(bytes: Uint8Array): string {
  const path = join(staging, randomBytes(4).toString('hex'));
  writeFileSync(path, bytes);
  return path;
}

/** The StoreError `promise` rejects with. */
async function failure(promise: Promise<unknown>): Promise<StoreError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(StoreError);
  return err as StoreError;
}

describe('parseS3Url', () => {
  it.each([
    ['s3://audit-bucket/airkit/parquet/', 'audit-bucket', 'airkit/parquet/'],
    ['s3://audit-bucket/airkit/parquet', 'audit-bucket', 'airkit/parquet/'],
    ['s3://audit-bucket/', 'audit-bucket', ''],
    ['s3://audit-bucket', 'audit-bucket', ''],
  ])('%s', (url, bucket, prefix) => {
    expect(parseS3Url(url)).toEqual({ bucket, prefix });
  });

  it('rejects what is not an s3 URL', () => {
    expect(() => parseS3Url('s3:///x')).toThrow(/not an s3:\/\/bucket\/prefix\/ URL/);
    expect(() => parseS3Url('s3://b/../x/')).toThrow(/check prefix/);
  });
});

describe('createS3Store', () => {
  it('describes keys as s3 URLs under the prefix', () => {
    expect(store().describe('dt=2026-03-14/a.parquet')).toMatch(/^s3:\/\/s3test\/run-\d+\/dt=2026-03-14\/a\.parquet$/);
  });

  it('sends SSE-KMS and the storage class on every write, single-part and multipart', async () => {
    const p = await proxy();
    const s = store({ via: p, s3: { serverSideEncryption: 'aws:kms', kmsKeyId: 'alias/logbarge-test', storageClass: 'STANDARD_IA' } });
    await s.putBytes('_verify/logbarge-verify-test-20260314T092653Z', Buffer.from('v'), { contentType: 'text/plain' });
    await s.putFile('dt=2026-03-14/small.csv.gz', stage(randomBytes(100)), { contentType: 'text/csv', contentEncoding: 'gzip' });
    const large = randomBytes(8 * 1024 * 1024 + 1);
    await s.putFile('dt=2026-03-14/large.parquet', stage(large), { contentType: 'application/vnd.apache.parquet' });
    expect((await s.get('dt=2026-03-14/large.parquet')).equals(large)).toBe(true);

    const creates = p.requests.filter((r) => (r.method === 'PUT' && !r.query.includes('partNumber')) || (r.method === 'POST' && r.query.includes('uploads')));
    expect(creates.map((r) => `${r.method} ${decodeURIComponent(r.path)}`)).toEqual([
      expect.stringMatching(/^PUT .*\/_verify\/logbarge-verify-test-20260314T092653Z$/),
      expect.stringMatching(/^PUT .*\/small\.csv\.gz$/),
      expect.stringMatching(/^POST .*\/large\.parquet$/),
    ]);
    for (const r of creates) {
      expect(r.headers['x-amz-server-side-encryption']).toBe('aws:kms');
      expect(r.headers['x-amz-server-side-encryption-aws-kms-key-id']).toBe('alias/logbarge-test');
      expect(r.headers['x-amz-storage-class']).toBe('STANDARD_IA');
    }
    expect(creates[1]?.headers['content-encoding']).toBe('gzip');
    // 8 MiB parts: two parts, then one CompleteMultipartUpload.
    expect(p.requests.filter((r) => r.method === 'PUT' && r.query.includes('partNumber'))).toHaveLength(2);
    expect(p.requests.filter((r) => r.method === 'POST' && r.query.includes('uploadId'))).toHaveLength(1);
  });

  it('implies aws:kms when only a KMS key id is configured, and sends no SSE header by default', async () => {
    const p = await proxy();
    await store({ via: p, s3: { kmsKeyId: 'alias/k' } }).putBytes('a', Buffer.from('a'), { contentType: 'text/plain' });
    await store({ via: p }).putBytes('b', Buffer.from('b'), { contentType: 'text/plain' });
    const [kms, plain] = p.requests;
    expect(kms?.headers['x-amz-server-side-encryption']).toBe('aws:kms');
    expect(kms?.headers['x-amz-server-side-encryption-aws-kms-key-id']).toBe('alias/k');
    expect(plain?.headers['x-amz-server-side-encryption']).toBeUndefined();
    expect(plain?.headers['x-amz-storage-class']).toBeUndefined();
  });

  it('sends If-None-Match: * for ifAbsent and treats 412 as already delivered', async () => {
    const p = await proxy([enforceIfNoneMatch]);
    const s = store({ via: p });
    expect(s.conditionalWrites).toBeUndefined();
    await s.putBytes('k', Buffer.from('one'), { contentType: 'text/plain' });
    expect(p.requests[0]?.headers['if-none-match']).toBeUndefined();
    expect(s.conditionalWrites).toBeUndefined();
    expect(await s.putBytes('k', Buffer.from('two'), { contentType: 'text/plain', ifAbsent: true })).toEqual({ bytes: 3, alreadyExisted: true });
    expect(p.requests[1]).toMatchObject({ answered: 412, headers: { 'if-none-match': '*' } });
    expect(s.conditionalWrites).toBe(true);
    expect((await s.get('k')).toString()).toBe('one');
  });

  it('falls back to plain writes when the endpoint answers 501 to If-None-Match, and remembers it', async () => {
    const p = await proxy([rejectIfNoneMatch]);
    const s = store({ via: p });
    const large = randomBytes(8 * 1024 * 1024 + 10);
    expect(await s.putFile('big', stage(large), { contentType: 'application/octet-stream', ifAbsent: true })).toEqual({
      bytes: large.length,
      alreadyExisted: false,
    });
    expect(s.conditionalWrites).toBe(false);
    // One 501 (the SDK does not retry it), then the whole upload again without the header.
    expect(p.requests.filter((r) => r.answered === 501)).toHaveLength(1);
    expect((await s.get('big')).equals(large)).toBe(true);

    const before = p.requests.length;
    await s.putBytes('small', Buffer.from('x'), { contentType: 'text/plain', ifAbsent: true });
    const later = p.requests.slice(before);
    expect(later).toHaveLength(1);
    expect(later[0]?.headers['if-none-match']).toBeUndefined();
  });

  it('works with no configured region (the SDK chain, else us-east-1)', async () => {
    const s = store({ s3: { region: null } });
    await s.putBytes('k', Buffer.from('x'), { contentType: 'text/plain' });
    expect(await s.head('k')).toEqual({ size: 1, metadata: {} });
  });

  it('retries a throttled request (standard retry mode) and succeeds', async () => {
    let throttled = 0;
    const p = await proxy([() => (throttled++ < 1 ? s3Error(503, 'SlowDown', 'Please reduce your request rate.') : undefined)]);
    const s = store({ via: p, maxAttempts: 3 });
    await s.putBytes('k', Buffer.from('x'), { contentType: 'text/plain' });
    expect(p.requests.map((r) => r.answered)).toEqual([503, undefined]);
  });

  it('maps real SDK errors: missing bucket, unknown key id, wrong region', async () => {
    const missing = createS3Store({ url: 's3://no-such-bucket/x/', s3: server.s3Config(), credentials: testCredentials, maxAttempts: 1 });
    stores.push(missing);
    const noBucket = await failure(missing.putBytes('k', Buffer.from('x'), { contentType: 'text/plain' }));
    expect(noBucket.reason).toBe('no_such_bucket');
    expect(noBucket.message).toBe('put object s3://no-such-bucket/x/k: bucket "no-such-bucket" does not exist');

    const badKey = await failure(
      store({ via: await proxy([rejectAccessKey('AKIDBADBADBAD')]), accessKeyId: 'AKIDBADBADBAD' }).putBytes('k', Buffer.from('x'), { contentType: 'text/plain' }),
    );
    expect(badKey.reason).toBe('invalid_credentials');
    expect(`${badKey.message} ${String(badKey.cause)} ${badKey.hint}`).not.toMatch(/AKIDBADBADBAD|logbarge-test-secret/);

    const region = await failure(store({ via: await proxy([bucketInRegion('eu-west-1')]) }).putBytes('k', Buffer.from('x'), { contentType: 'text/plain' }));
    expect(region.reason).toBe('wrong_region');
    expect(region.message).toMatch(/the bucket is in region eu-west-1/);
    expect(region.hint).toBe('set s3.region to "eu-west-1" (the bucket lives there)');
  });

  it('reports an unreachable endpoint as retryable, and works again after an outage', async () => {
    const s = store();
    await s.putBytes('before', Buffer.from('kept'), { contentType: 'text/plain' });
    await server.down();
    try {
      const err = await failure(s.putBytes('during', Buffer.from('x'), { contentType: 'text/plain' }));
      expect(err.reason).toBe('unreachable');
      expect(err.retryable).toBe(true);
      expect(err.hint).toMatch(/s3\.endpoint \(http:\/\/127\.0\.0\.1:\d+\)/);
    } finally {
      await server.up();
    }
    await s.putBytes('after', Buffer.from('y'), { contentType: 'text/plain' });
    expect((await s.list('')).map((o) => o.key)).toEqual(['after', 'before']);
    expect((await s.get('before')).toString()).toBe('kept');
  });
});
