/**
 * dist/cli/healthcheck.js (the image's HEALTHCHECK and the Kubernetes probes) against real
 * daemons: it reads the same config, follows its port and TLS, and exits 0 only on a 200 answer.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDaemon, tempDir, type TestDaemon } from './support/daemon.js';
import { waitFor, type CliResult } from './support/export-check.js';
import { writeConfig } from './support/process.js';
import { openTestStore, startS3Server, type S3TestServer } from './support/s3.js';

const healthcheck = fileURLToPath(new URL('../dist/cli/healthcheck.js', import.meta.url));
const tlsDir = fileURLToPath(new URL('./fixtures/tls/', import.meta.url));
const tls = { cert: join(tlsDir, 'cert.pem'), key: join(tlsDir, 'key.pem') };

/** Runs the health check to completion (killed after 20 s). */
function check(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [healthcheck, ...args], { env: { ...process.env, LOGBARGE_CONFIG: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
  });
}

/** A config file for the health check: the daemon's server section with its real port. */
function configFor(dir: string, d: TestDaemon, server: Record<string, unknown> = {}): string {
  const { host, apiKeys } = d.config.server;
  return writeConfig(dir, { server: { host, apiKeys, port: d.daemon.address.port, tls: d.config.server.tls, ...server } }, `health-${d.daemon.address.port}.json`);
}

const temp = tempDir('logbarge-health-');
let s3: S3TestServer;
beforeAll(async () => {
  s3 = await startS3Server();
});
afterAll(async () => {
  await s3?.stop();
  temp.remove();
});

describe('plain HTTP', () => {
  let d: TestDaemon;
  beforeAll(async () => {
    d = await startTestDaemon();
    await waitFor('the destination to verify', async () => (await d.request('/readyz')).status === 200);
  });
  afterAll(() => d.stop());

  it('exits 0 for liveness, readiness and ingest readiness, from -c or $LOGBARGE_CONFIG', async () => {
    const path = configFor(temp.dir, d);
    for (const args of [[], ['--ready'], ['--ready', '--scope', 'all'], ['--ready', '--scope', 'ingest']]) {
      const r = await check(['-c', path, ...args]);
      expect([args, r.status, r.stderr]).toEqual([args, 0, '']);
    }
    expect((await check(['--ready'], { LOGBARGE_CONFIG: path })).status).toBe(0);
  });

  it('exits 1 when the config names the wrong protocol: it follows server.tls', async () => {
    const r = await check(['-c', configFor(temp.dir, d, { tls })]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^logbarge healthcheck: GET https://127\\.0\\.0\\.1:${d.daemon.address.port}/healthz: `));
  });
});

describe('HTTPS (server.tls, self-signed)', () => {
  let d: TestDaemon;
  beforeAll(async () => {
    d = await startTestDaemon({ server: { tls } });
  });
  afterAll(() => d.stop());

  it('exits 0 over HTTPS with the same config', async () => {
    const path = configFor(temp.dir, d);
    await waitFor('the daemon to be ready', async () => (await check(['-c', path, '--ready'])).status === 0);
    expect(await check(['-c', path])).toMatchObject({ status: 0, stderr: '' });
    expect(await check(['-c', path, '--ready', '--scope', 'ingest'])).toMatchObject({ status: 0, stderr: '' });
  });

  it('exits 1 when it would speak plain HTTP to the TLS port', async () => {
    const r = await check(['-c', configFor(temp.dir, d, { tls: null })]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`GET http://127.0.0.1:${d.daemon.address.port}/healthz`);
  });
});

describe('a destination that fails verify (no such bucket)', () => {
  let d: TestDaemon;
  beforeAll(async () => {
    d = await startTestDaemon(
      { s3: s3.s3Config(), exports: [{ name: 'missing', destination: 's3://no-such-bucket/x/', schedule: '0 0 1 1 *' }] },
      undefined,
      { openStore: (destination, config) => openTestStore(destination, config.s3, { maxAttempts: 1 }) },
    );
    await waitFor('the first verify to fail', () => [...d.daemon.exporter.destinations.values()].every((s) => s.last?.ok === false));
  });
  afterAll(() => d.stop());

  it('is unready (exit 1, the answer on stderr) but alive and ready for ingest (exit 0)', async () => {
    const path = configFor(temp.dir, d);
    const ready = await check(['-c', path, '--ready']);
    expect(ready.status).toBe(1);
    expect(ready.stderr).toContain('/readyz: 503 {"ready":false,"reasons":["destination_unverified"],"verifyFailures":["no_such_bucket"]');
    expect((await check(['-c', path])).status).toBe(0);
    expect(await check(['-c', path, '--ready', '--scope', 'ingest'])).toMatchObject({ status: 0, stderr: '' });
  });
});

describe('failures of the check itself', () => {
  it('exits 1 when nothing listens on the configured port', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const r = await check(['-c', writeConfig(temp.dir, { server: { port } }, 'closed.json')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`logbarge healthcheck: GET http://127.0.0.1:${port}/healthz: ECONNREFUSED\n`);
  });

  it.each([
    [['-c', '/nonexistent/logbarge.json'], /read config \/nonexistent\/logbarge\.json: ENOENT/],
    [['--scope', 'ingest'], /--scope takes "all" or "ingest" and needs --ready/],
    [['--ready', '--scope', 'exports'], /--scope takes "all" or "ingest" and needs --ready/],
    [['--timeout', '0'], /--timeout must be a positive number/],
    [['--unknown'], /Unknown option '--unknown'/],
  ])('exits 1 (never 2, which Docker reserves) for %j', async (args, message) => {
    const r = await check(args);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(message);
  });

  it('refuses server.port 0 with a hint', async () => {
    const r = await check(['-c', writeConfig(temp.dir, { server: { port: 0 } }, 'port0.json')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/server\.port is 0/);
  });
});
