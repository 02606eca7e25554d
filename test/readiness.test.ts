/**
 * Invariant 5 through a real daemon: a destination whose verify fails with a cloud error that
 * names an account and a role. Unauthenticated answers (/readyz, /healthz, /metrics) carry reason
 * codes only; the message reaches a caller with a valid API key, or a loopback peer while
 * `server.loopbackDetails` allows it. `?scope=ingest` leaves destinations out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDaemon, type TestDaemon } from './support/daemon.js';
import { waitFor } from './support/export-check.js';
import { s3Error, startS3Proxy, type S3Proxy } from './support/s3-proxy.js';
import { openTestStore, s3TestConfig, startS3Server, type S3TestServer } from './support/s3.js';

const bucket = 'readiness-bucket';
const secret = 'arn:aws:iam::123456789012:role/secret-role';
const key = 'readiness-key-0123456789';

let server: S3TestServer;
let proxy: S3Proxy;

beforeAll(async () => {
  server = await startS3Server();
  await server.createBucket(bucket);
  // IAM denying everything, with the account id and role in the message, as AWS words it.
  proxy = await startS3Proxy({
    upstream: server.endpoint,
    rules: [() => s3Error(403, 'AccessDenied', `User: ${secret} is not authorized to perform: s3:PutObject on resource: arn:aws:s3:::${bucket}/x/*`)],
  });
});
afterAll(async () => {
  await proxy?.stop();
  await server?.stop();
});

/** A daemon exporting to the denied bucket, once its first verify has finished. */
async function deniedDaemon(server_: Record<string, unknown>): Promise<TestDaemon> {
  const d = await startTestDaemon(
    { server: server_, s3: s3TestConfig(proxy.endpoint), exports: [{ name: 'denied', destination: `s3://${bucket}/x/`, schedule: '0 0 1 1 *' }] },
    undefined,
    { openStore: (destination, config) => openTestStore(destination, config.s3, { maxAttempts: 1 }) },
  );
  await waitFor('the first verify to finish', () => [...d.daemon.exporter.destinations.values()].every((s) => s.last !== undefined));
  return d;
}

describe('/readyz with a destination denied by IAM, loopback details off', () => {
  let d: TestDaemon;
  beforeAll(async () => {
    d = await deniedDaemon({ apiKeys: [key], loopbackDetails: false });
  });
  afterAll(() => d.stop());

  it('answers an unauthenticated caller with reason codes and the typed failure, never the message', async () => {
    const a = await d.request('/readyz');
    expect(a.status).toBe(503);
    expect(a.body).toEqual({ ready: false, reasons: ['destination_unverified'], verifyFailures: ['access_denied'] });
    expect(a.text).not.toContain('123456789012');
    expect(a.text).not.toContain('secret-role');
  });

  it('gives the message to a caller with a valid API key (header or Bearer), and not to a wrong key', async () => {
    for (const headers of [{ 'x-api-key': key }, { authorization: `Bearer ${key}` }] as Record<string, string>[]) {
      const a = await d.request('/readyz', { headers });
      expect(a.status).toBe(503);
      expect(a.body.reasons).toEqual(['destination_unverified']);
      expect(a.body.details).toHaveLength(1);
      expect(a.body.details[0]).toContain(`s3://${bucket}/x/ has not passed verify`);
      expect(a.body.details[0]).toContain(secret);
    }
    const wrong = await d.request('/readyz', { headers: { 'x-api-key': 'not-the-key' } });
    expect(wrong.body.details).toBeUndefined();
    expect(wrong.text).not.toContain('secret-role');
  });

  it('ingest scope: ready, since events can still be accepted', async () => {
    const a = await d.request('/readyz?scope=ingest');
    expect(a.status).toBe(200);
    expect(a.body).toEqual({ ready: true, reasons: [] });
    expect((await d.request('/readyz?scope=all')).status).toBe(503);
  });

  it('refuses an unknown scope with 400 naming the parameter', async () => {
    const a = await d.request('/readyz?scope=exports');
    expect(a.status).toBe(400);
    expect(a.body.error).toMatch(/scope must be "all" or "ingest"/);
  });

  it('keeps the message out of /healthz and /metrics', async () => {
    const health = await d.request('/healthz');
    expect(health.body).toEqual({ status: 'ok' });
    const metrics = await d.request('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toContain('logbarge_destination_verified{export="denied"} 0');
    for (const leak of ['123456789012', 'secret-role', 'not authorized', 'AccessDenied']) expect(metrics.text).not.toContain(leak);
  });
});

describe('/readyz to a loopback peer', () => {
  it('carries the details without a key by default (server.loopbackDetails)', async () => {
    const d = await deniedDaemon({});
    try {
      const a = await d.request('/readyz');
      expect(a.status).toBe(503);
      expect(a.body.reasons).toEqual(['destination_unverified']);
      expect(a.body.verifyFailures).toEqual(['access_denied']);
      expect(a.body.details.join('\n')).toContain(secret);
    } finally {
      await d.stop();
    }
  });

  it('carries none without keys when loopbackDetails is off: an open listener trusts nobody', async () => {
    const d = await deniedDaemon({ loopbackDetails: false });
    try {
      const a = await d.request('/readyz');
      expect(a.body).toEqual({ ready: false, reasons: ['destination_unverified'], verifyFailures: ['access_denied'] });
      const flush = await d.request('/v1/flush', { method: 'POST' });
      expect(flush.text).not.toContain('secret-role');
      expect(flush.text).not.toContain('123456789012');
    } finally {
      await d.stop();
    }
  });
});
