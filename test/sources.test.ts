/**
 * Sources through the real daemon (HTTP → SQLite spool → files read back): routes, keys bound to
 * one source, the Okta event hook secret and verification challenge, quarantine (mixed requests,
 * the export under _quarantine/, durable across kill -9), and config mistakes (exit 2).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { startTestDaemon, tempDir, type TestDaemon } from './support/daemon.js';
import { readFiles } from './support/duckdb.js';
import { runCliAsync } from './support/export-check.js';
import { spawnDaemon, writeConfig } from './support/process.js';

const keys = { okta: 'okta-stream-token', hook: 'okta-hook-secret', strivacity: 'strivacity-key', server: 'server-admin-key' };

const sources = {
  okta: { profile: 'eventbridge', organizationId: 'acme', apiKeys: [keys.okta] },
  hook: { profile: 'okta-hook', organizationId: 'acme', apiKeys: [keys.hook] },
  strivacity: { profile: 'strivacity', organizationId: 'acme', apiKeyHeader: 'x-strivacity-key', apiKeys: [keys.strivacity] },
  billing: { profile: 'generic', organizationId: 'billing-org', map: { EVENT_ID: 'id', EVENT_TIME: 'created_at', EVENT_TYPE: 'action' } },
};

const logEvent = (uuid: string, extra: Record<string, unknown> = {}) => ({
  uuid, published: '2026-03-14T09:26:53.589Z', eventType: 'user.session.start',
  actor: { id: '00u1', type: 'User', alternateId: 'ada@example.com' }, outcome: { result: 'SUCCESS' }, client: { ipAddress: '192.0.2.10' },
  ...extra,
});
const envelope = (detail: unknown, id = 'env-1') => ({
  version: '0', id, 'detail-type': 'SystemLog', source: 'aws.partner/okta.com/acme/stream', account: '123456789012',
  time: '2026-03-14T09:27:00Z', region: 'us-east-1', resources: [], detail,
});

let d: TestDaemon & { dir: string };
const temp = tempDir('logbarge-sources-');
const exportDir = join(temp.dir, 'nd');
beforeAll(async () => {
  d = await startTestDaemon(
    { server: { apiKeys: [keys.server] }, sources, exports: [{ name: 'nd', format: 'ndjson', compression: 'gzip', destination: `file://${exportDir}/`, schedule: '0 0 1 1 *' }] },
    temp.dir,
  );
});
afterAll(async () => {
  await d?.stop();
  temp.remove();
});

const post = (path: string, body: unknown, headers: Record<string, string>) =>
  d.request(path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });

describe('keys bound to a source', () => {
  it('accepts a source key on its own route only', async () => {
    const event = envelope(logEvent('11111111-1111-4111-8111-111111111111'));
    expect((await post('/v1/events/okta', event, { authorization: `Bearer ${keys.okta}` })).status).toBe(202);
    // The same key on another source's route, or on POST /v1/events: refused.
    expect((await post('/v1/events/strivacity', { log: 'x' }, { authorization: `Bearer ${keys.okta}` })).status).toBe(401);
    expect((await post('/v1/events', event, { authorization: `Bearer ${keys.okta}` })).status).toBe(401);
    expect((await post('/v1/events/okta', event, {})).status).toBe(401);
    // A server key works everywhere.
    expect((await post('/v1/events/okta', event, { 'x-api-key': keys.server })).body).toEqual({ accepted: 0, duplicates: 1 });
  });

  it('fixes ORGANIZATION_ID to the source\'s: a sender cannot write another tenant\'s events', async () => {
    const a = await post('/v1/events/billing', { id: 'inv-1', created_at: '2026-03-14T08:00:00Z', action: 'paid', ORGANIZATION_ID: 'other-tenant' }, { 'x-api-key': keys.server });
    expect(a.status, a.text).toBe(202);
  });

  it('reads a source\'s key from the header the admin chose', async () => {
    expect((await post('/v1/events/strivacity', { log: 'header test' }, { 'x-strivacity-key': keys.strivacity })).status).toBe(202);
    expect((await post('/v1/events/strivacity', { log: 'header test' }, { 'x-api-key': keys.strivacity })).status).toBe(401);
  });

  it('answers 404 for a source that is not configured', async () => {
    expect((await post('/v1/events/nope', {}, { 'x-api-key': keys.server })).status).toBe(404);
  });
});

describe('Okta event hooks', () => {
  it('take the secret as Authorization without a scheme, and answer the verification challenge on the source route', async () => {
    const challenge = await d.request('/v1/events/hook', { headers: { authorization: keys.hook, 'x-okta-verification-challenge': 'c-123' } });
    expect(challenge.status).toBe(200);
    expect(challenge.body).toEqual({ verification: 'c-123' });
    const delivery = { eventType: 'com.okta.event_hook', eventId: 'd1', data: { events: [logEvent('22222222-2222-4222-8222-222222222222')] } };
    // Okta wants 200 or 204 with an empty body for a delivery: stored (after the commit), answered 204.
    const stored = await post('/v1/events/hook', delivery, { authorization: keys.hook });
    expect([stored.status, stored.text]).toEqual([204, '']);
    expect(d.daemon.spool.hasEventId('22222222-2222-4222-8222-222222222222')).toBe(true);
    expect((await post('/v1/events/hook', delivery, { authorization: 'wrong' })).status).toBe(401);
  });
});

describe("Strivacity's generic HTTPS test request", () => {
  it('gets 2xx, and a retry of it is a duplicate', async () => {
    const body = '{"log":"My test log"}';
    expect((await post('/v1/events/strivacity', body, { 'x-strivacity-key': keys.strivacity })).body).toEqual({ accepted: 1, duplicates: 0 });
    expect((await post('/v1/events/strivacity', body, { 'x-strivacity-key': keys.strivacity })).body).toEqual({ accepted: 0, duplicates: 1 });
  });
});

describe('quarantine', () => {
  it('stores the valid records of a mixed request and quarantines the others, saying which', async () => {
    const good = envelope(logEvent('33333333-3333-4333-8333-333333333333'), 'env-good');
    const bad = envelope(logEvent('44444444-4444-4444-8444-444444444444', { published: '2017-09-31T22:23:07.777Z' }), 'env-bad');
    const a = await post('/v1/events/okta', [good, bad], { authorization: `Bearer ${keys.okta}` });
    expect(a.status, a.text).toBe(202);
    expect(a.body).toEqual({
      accepted: 1,
      duplicates: 0,
      quarantined: 1,
      quarantine: [{ index: 1, path: 'detail', errors: [{ field: 'EVENT_TIME', message: '"2017-09-31T22:23:07.777Z" has no day 31' }] }],
    });
    expect((await d.request('/metrics')).text).toMatch(/^logbarge_events_quarantined_total\{source="okta"\} 1$/m);
  });

  it('keeps an unreadable NDJSON line as text', async () => {
    const a = await d.request('/v1/events/okta', {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${keys.okta}` },
      body: `${JSON.stringify(envelope(logEvent('55555555-5555-4555-8555-555555555555'), 'env-5'))}\n{"broken":\n`,
    });
    expect(a.body).toMatchObject({ accepted: 1, quarantined: 1, quarantine: [{ index: 1, errors: [{ field: '(record)' }] }] });
  });

  it('a reject source refuses the whole request', async () => {
    const a = await post('/v1/events/billing', [{ id: 'ok', created_at: '2026-03-14T08:00:00Z', action: 'x' }, { id: 'bad', created_at: 'yesterday', action: 'x' }], { 'x-api-key': keys.server });
    expect(a.status).toBe(400);
    expect(a.body.details).toEqual([{ index: 1, field: 'EVENT_TIME', message: expect.stringContaining('is not an ISO-8601 timestamp') as unknown }]);
  });
});

describe('in the files', () => {
  beforeAll(async () => {
    const flush = await d.request('/v1/flush', { method: 'POST', headers: { 'x-api-key': keys.server } });
    expect(flush.status, flush.text).toBe(200);
  });

  it('the events under dt=, with the source org fixed', async () => {
    const files = readdirSync(exportDir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && e.parentPath.includes('dt=') && !e.parentPath.includes('_quarantine'))
      .map((e) => ({ path: join(e.parentPath, e.name), format: 'ndjson' }));
    const rows = await readFiles(files);
    expect(rows.find((r) => r.EVENT_ID === 'inv-1')?.ORGANIZATION_ID).toBe('billing-org');
    const strivacity = rows.filter((r) => r.SERVICE === 'strivacity');
    expect(strivacity.map((r) => r.EVENT_TYPE)).toEqual(['strivacity', 'strivacity']);
    // The guide's test request: its text is in the export, in RAW.
    expect(strivacity.map((r) => r.RAW)).toContain('{"log":"My test log"}');
    expect(rows.map((r) => r.EVENT_ID)).toContain('33333333-3333-4333-8333-333333333333');
    expect(rows.map((r) => r.EVENT_ID)).not.toContain('44444444-4444-4444-8444-444444444444');
  });

  it('the quarantined records under _quarantine/dt=<receive date>/, one JSON object each', () => {
    // Every dt= folder (the records were received today, or just before midnight UTC); each
    // entry lies in the folder of its own receive date.
    const root = join(exportDir, '_quarantine');
    const entries = readdirSync(root).sort().flatMap((folder) =>
      readdirSync(join(root, folder)).flatMap((f) =>
        gunzipSync(readFileSync(join(root, folder, f))).toString('utf8').trim().split('\n').map((l) => {
          const entry = JSON.parse(l) as { received_at: string; source: string; errors: unknown[]; record: unknown };
          expect(folder).toBe(`dt=${entry.received_at.slice(0, 10)}`);
          return entry;
        }),
      ),
    );
    expect(entries.map((e) => Object.keys(e))).toEqual([['received_at', 'source', 'errors', 'record'], ['received_at', 'source', 'errors', 'record']]);
    expect(entries[0]).toMatchObject({ source: 'okta', errors: [{ field: 'EVENT_TIME', message: '"2017-09-31T22:23:07.777Z" has no day 31' }] });
    expect((entries[0]!.record as { uuid: string }).uuid).toBe('44444444-4444-4444-8444-444444444444');
    expect(entries[1]!.record).toBe('{"broken":');
  });
});

describe('quarantine durability', () => {
  it('a quarantined record acknowledged with 202 survives kill -9 and is exported after restart', async () => {
    const dir = tempDir('logbarge-quarantine-kill-');
    try {
      const out = join(dir.dir, 'out');
      const config = writeConfig(dir.dir, {
        writerId: 'q', server: { port: 0 }, spool: { path: join(dir.dir, 'spool.db'), minFreeBytes: 0 },
        sources: { okta: { profile: 'okta', organizationId: 'acme' } },
        exports: [{ name: 'nd', format: 'ndjson', destination: `file://${out}/`, schedule: '0 0 1 1 *' }],
      });
      const child = await spawnDaemon(config);
      const a = await fetch(`${child.url}/v1/events/okta`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(logEvent('66666666-6666-4666-8666-666666666666', { published: 'not a time' })) });
      expect(a.status).toBe(202);
      expect(((await a.json()) as { quarantined: number }).quarantined).toBe(1);
      child.child.kill('SIGKILL');
      expect(await child.exited).toBe('SIGKILL');
      const status = await runCliAsync(['status', '-c', config, '--json']);
      expect(JSON.parse(status.stdout).spool.quarantined).toBe(1);
      const flush = await runCliAsync(['flush', '-c', config]);
      expect(flush.status, flush.stderr).toBe(0);
      const qdir = join(out, '_quarantine');
      const files = readdirSync(qdir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
      const text = files.map((e) => gunzipSync(readFileSync(join(e.parentPath, e.name))).toString('utf8')).join('');
      expect(text).toContain('66666666-6666-4666-8666-666666666666');
    } finally {
      dir.remove();
    }
  });
});

describe('config mistakes', () => {
  it('a map naming an unknown column exits 2, naming it', async () => {
    const dir = tempDir('logbarge-badmap-');
    try {
      const config = writeConfig(dir.dir, {
        spool: { path: join(dir.dir, 'spool.db') },
        sources: { billing: { profile: 'generic', organizationId: 'o', map: { EVENT_TIM: 'created_at' } } },
      });
      const r = await runCliAsync(['ingest', '-c', config, '-'], { input: '' });
      expect(r.status).toBe(2);
      expect(r.stderr).toContain('sources.billing.map.EVENT_TIM: no such column in schema airkit_audit_event (did you mean EVENT_TIME?)');
    } finally {
      dir.remove();
    }
  });
});
