/**
 * verifyStore against the file backend and against fauxqs on 127.0.0.1. fauxqs accepts any
 * credentials and grants everything, so IAM behaviour (unknown access key id, PutObject-only
 * policy, KMS key denied, bucket in another region) comes from a loopback proxy in front of it
 * (test/support/s3-proxy.ts) that answers those requests the way S3 does.
 */
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketInRegion, denyKms, denyReads, rejectAccessKey, startS3Proxy, type S3Proxy } from '../../test/support/s3-proxy.js';
import { s3TestConfig, startS3Server, testCredentials, type S3TestServer } from '../../test/support/s3.js';
import { createFileStore } from './file.js';
import { openStore } from './open.js';
import { createS3Store } from './s3.js';
import { StoreError, type ObjectStore } from './store.js';
import { cleanupVerifyObject, verifyKey, verifyStore, verifyTimestamp } from './verify.js';

const now = new Date('2026-03-14T09:26:53.123Z');
const writerId = 'pod-a';

let server: S3TestServer;
const proxies: S3Proxy[] = [];
const stores: ObjectStore[] = [];

beforeAll(async () => {
  server = await startS3Server();
  await server.createBucket('verify-bucket');
});
afterAll(async () => {
  for (const store of stores) store.close();
  for (const proxy of proxies) await proxy.stop();
  await server?.stop();
});

/** An s3 store for `url` at `endpoint` (default: the test server), with the test credentials. */
function s3Store(url: string, options: { endpoint?: string; accessKeyId?: string; kmsKeyId?: string } = {}): ObjectStore {
  const store = createS3Store({
    url,
    s3: s3TestConfig(options.endpoint ?? server.endpoint, options.kmsKeyId ? { kmsKeyId: options.kmsKeyId } : {}),
    credentials: options.accessKeyId ? { ...testCredentials, accessKeyId: options.accessKeyId } : testCredentials,
    maxAttempts: 2,
  });
  stores.push(store);
  return store;
}

/** A proxy in front of the test server. */
async function proxyWith(...rules: Parameters<typeof startS3Proxy>[0]['rules']): Promise<S3Proxy> {
  const proxy = await startS3Proxy({ upstream: server.endpoint, rules });
  proxies.push(proxy);
  return proxy;
}

describe('verify key and body', () => {
  it('names the object by UTC second under _verify/', () => {
    expect(verifyTimestamp(now)).toBe('20260314T092653Z');
    expect(verifyKey(now)).toBe('_verify/logbarge-verify-test-20260314T092653Z');
  });
});

describe('verifyStore on s3', () => {
  it('writes the object, reads it back and passes', async () => {
    const store = s3Store('s3://verify-bucket/airkit/parquet/');
    const result = await verifyStore({ store, writerId, now });
    expect(result).toEqual({
      ok: true,
      key: '_verify/logbarge-verify-test-20260314T092653Z',
      location: 's3://verify-bucket/airkit/parquet/_verify/logbarge-verify-test-20260314T092653Z',
      wrote: true,
      readBack: 'ok',
      notes: [],
    });
    const body = (await store.get(result.key)).toString();
    expect(body).toContain('logbarge');
    expect(body).toContain('writer: pod-a');
    expect(body).toContain('2026-03-14T09:26:53.123Z');
  });

  it('passes a PutObject-only policy, noting that read-back was not permitted', async () => {
    const proxy = await proxyWith(denyReads);
    const result = await verifyStore({ store: s3Store('s3://verify-bucket/put-only/', { endpoint: proxy.endpoint }), writerId, now });
    expect(result).toMatchObject({ ok: true, wrote: true, readBack: 'denied' });
    expect(result.notes).toEqual([expect.stringMatching(/read-back was not permitted.*expected for a policy that grants only s3:PutObject/)]);
    expect(result.failure).toBeUndefined();
  });

  it('fails on a missing bucket with a hint naming it', async () => {
    const result = await verifyStore({ store: s3Store('s3://missing-bucket/logs/'), writerId, now });
    expect(result).toMatchObject({ ok: false, wrote: false, readBack: 'failed', failure: 'no_such_bucket' });
    expect(result.message).toBe(
      'write verify object s3://missing-bucket/logs/_verify/logbarge-verify-test-20260314T092653Z: ' +
        'put object s3://missing-bucket/logs/_verify/logbarge-verify-test-20260314T092653Z: bucket "missing-bucket" does not exist',
    );
    expect(result.hint).toMatch(/create the bucket "missing-bucket"/);
  });

  it('fails on an unknown access key id, without echoing credentials', async () => {
    const proxy = await proxyWith(rejectAccessKey('AKIDWRONGWRONG'));
    const result = await verifyStore({
      store: s3Store('s3://verify-bucket/logs/', { endpoint: proxy.endpoint, accessKeyId: 'AKIDWRONGWRONG' }),
      writerId,
      now,
    });
    expect(result).toMatchObject({ ok: false, wrote: false, failure: 'invalid_credentials' });
    expect(result.message).toMatch(/the AWS credentials were rejected \(InvalidAccessKeyId/);
    expect(result.hint).toMatch(/AWS_ACCESS_KEY_ID/);
    expect(JSON.stringify(result)).not.toMatch(/AKIDWRONGWRONG|logbarge-test-secret/);
  });

  it('fails on an unreachable endpoint (a closed port on 127.0.0.1)', async () => {
    const closed = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
    const endpoint = `http://127.0.0.1:${closed}`;
    const result = await verifyStore({ store: s3Store('s3://verify-bucket/logs/', { endpoint }), writerId, now });
    expect(result).toMatchObject({ ok: false, wrote: false, failure: 'unreachable' });
    expect(result.message).toMatch(/endpoint unreachable \(ECONNREFUSED\)/);
    expect(result.hint).toContain(endpoint);
  });

  it('fails when the bucket is in another region, naming the region to set', async () => {
    const proxy = await proxyWith(bucketInRegion('eu-central-1'));
    const result = await verifyStore({ store: s3Store('s3://verify-bucket/logs/', { endpoint: proxy.endpoint }), writerId, now });
    expect(result).toMatchObject({ ok: false, failure: 'wrong_region', hint: 'set s3.region to "eu-central-1" (the bucket lives there)' });
  });

  it('fails when the KMS key may not be used, naming the key', async () => {
    const proxy = await proxyWith(denyKms);
    const result = await verifyStore({
      store: s3Store('s3://verify-bucket/logs/', { endpoint: proxy.endpoint, kmsKeyId: 'alias/audit-logs' }),
      writerId,
      now,
    });
    expect(result).toMatchObject({ ok: false, failure: 'kms_denied' });
    expect(result.hint).toMatch(/kms:GenerateDataKey.*alias\/audit-logs/);
    // The verify object went with the same SSE headers as data.
    expect(proxy.requests[0]?.headers['x-amz-server-side-encryption']).toBe('aws:kms');
  });

  it('cleans up the verify object, and refuses to delete anything else', async () => {
    const store = s3Store('s3://verify-bucket/cleanup/');
    const result = await verifyStore({ store, writerId, now });
    await store.putBytes('dt=2026-03-14/data.parquet', Buffer.from('data'), { contentType: 'application/vnd.apache.parquet' });
    await cleanupVerifyObject(store, result.key);
    expect(await store.head(result.key)).toBeUndefined();
    await expect(cleanupVerifyObject(store, 'dt=2026-03-14/data.parquet')).rejects.toThrow(/not a verify-test key/);
    expect(await store.head('dt=2026-03-14/data.parquet')).toEqual({ size: 4, metadata: {} });
  });
});

describe('verifyStore on file', () => {
  it('writes and reads back the object in the directory, and cleans up', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'logbarge-verify-'));
    try {
      const store = openStore(`${pathToFileURL(dir).href}/exports/`, s3TestConfig('http://127.0.0.1:9'));
      const result = await verifyStore({ store, writerId, now });
      expect(result).toMatchObject({ ok: true, wrote: true, readBack: 'ok', notes: [] });
      expect(result.location).toBe(join(dir, 'exports', '_verify', 'logbarge-verify-test-20260314T092653Z'));
      expect(readFileSync(result.location, 'utf8')).toContain('writer: pod-a');
      await cleanupVerifyObject(store, result.key);
      expect(readdirSync(join(dir, 'exports', '_verify'))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails when a part of the destination path is a file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'logbarge-verify-'));
    try {
      writeFileSync(join(dir, 'not-a-dir'), 'x');
      const result = await verifyStore({ store: createFileStore({ url: `${pathToFileURL(dir).href}/not-a-dir/exports/` }), writerId, now });
      expect(result).toMatchObject({ ok: false, wrote: false, failure: 'other' });
      expect(result.hint).toMatch(/is a directory/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('tells a concurrent replica\'s verify object from an altered object', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'logbarge-verify-'));
    try {
      const store = createFileStore({ url: `${pathToFileURL(dir).href}/` });
      const otherWriter: ObjectStore = { ...store, get: async () => Buffer.from('logbarge verify-test object\nwriter: pod-b\n') };
      const concurrent = await verifyStore({ store: otherWriter, writerId, now });
      expect(concurrent).toMatchObject({ ok: true, readBack: 'mismatch' });
      expect(concurrent.notes).toEqual([expect.stringMatching(/another writer's verify object/)]);

      const altered: ObjectStore = { ...store, get: async () => Buffer.from('0\r\nx-amz-checksum-crc32:AAAA\r\n') };
      const result = await verifyStore({ store: altered, writerId, now });
      expect(result).toMatchObject({ ok: false, wrote: true, readBack: 'mismatch', failure: 'other' });
      expect(result.message).toMatch(/differ from the \d+ bytes written/);

      const flaky: ObjectStore = {
        ...store,
        get: async () => {
          throw new StoreError('unreachable', 'get object x: endpoint unreachable (ECONNRESET)');
        },
      };
      const failed = await verifyStore({ store: flaky, writerId, now });
      expect(failed).toMatchObject({ ok: true, wrote: true, readBack: 'failed' });
      expect(failed.notes).toEqual(['read-back failed, the write succeeded: get object x: endpoint unreachable (ECONNRESET)']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  // root ignores file permissions, so this case only runs as an ordinary user.
  it.skipIf(process.getuid?.() === 0)('reports a read-only destination as access denied', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'logbarge-verify-'));
    try {
      const store = createFileStore({ url: `${pathToFileURL(dir).href}/` });
      chmodSync(dir, 0o500);
      const result = await verifyStore({ store, writerId, now });
      chmodSync(dir, 0o700);
      expect(result).toMatchObject({ ok: false, wrote: false, failure: 'access_denied' });
      expect(result.hint).toMatch(/write access/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
