/**
 * HTTP → spool integration on a real SQLite file: accepted shapes, auth, limits, and a corpus of
 * bad inputs that must each get their 4xx and leave the spool exactly as it was.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import { event, startTestDaemon, type TestDaemon } from './support/daemon.js';
import { within } from './support/export-check.js';
import { parseResponses, postHead, rawConnection } from './support/raw-http.js';

const key = 'test-key-0123456789abcdef';
const auth = { 'x-api-key': key };

function bodies(d: TestDaemon): Record<string, unknown>[] {
  return (d.daemon.spool.db.prepare('SELECT body FROM events ORDER BY seq').pluck().all() as string[]).map(
    (b) => JSON.parse(b) as Record<string, unknown>,
  );
}

describe('POST /v1/events', () => {
  let d: TestDaemon;
  beforeAll(async () => {
    d = await startTestDaemon({ server: { apiKeys: [key, 'second-key-for-rotation'], maxBodyBytes: 64 * 1024 } });
  });
  afterAll(() => d.stop());

  it('stores one canonical event and answers 202 after commit', async () => {
    const e = event({ EVENT_TIME: '2026-03-14T23:30:00.123456+01:00', APP_ID: 'app-1' });
    const before = d.snapshot();
    const a = await d.post(e, { headers: auth });
    expect(a.status).toBe(202);
    expect(a.body).toEqual({ accepted: 1, duplicates: 0 });
    expect(d.snapshot().depth).toBe(before.depth + 1);
    const stored = bodies(d).at(-1)!;
    expect(Object.keys(stored)).toHaveLength(29);
    expect(stored).toMatchObject({
      EVENT_ID: e.EVENT_ID,
      EVENT_TIME: '2026-03-14 22:30:00.123',
      EVENT_YEAR: 2026,
      EVENT_MONTH: '2026-03-01',
      EVENT_DATE: '2026-03-14',
      APP_ID: 'app-1',
      DOMAIN: null,
    });
  });

  it('accepts arrays, NDJSON and gzip, with Bearer auth and a second key', async () => {
    const arr = [event(), event()];
    expect((await d.post(arr, { headers: { authorization: `Bearer ${key}` } })).body).toEqual({ accepted: 2, duplicates: 0 });
    const nd = [event(), event(), event()].map((e) => JSON.stringify(e)).join('\r\n') + '\n\n';
    const a = await d.post(nd, { raw: true, contentType: 'application/x-ndjson', headers: { 'x-api-key': 'second-key-for-rotation' } });
    expect(a.body).toEqual({ accepted: 3, duplicates: 0 });
    const g = await d.post([event(), event()], { gzip: true, headers: auth });
    expect(g.status).toBe(202);
    expect(g.body).toEqual({ accepted: 2, duplicates: 0 });
  });

  it('answers duplicates within a request and on retry, storing each EVENT_ID once', async () => {
    const e = event();
    const before = d.snapshot();
    expect((await d.post([e, e], { headers: auth })).body).toEqual({ accepted: 1, duplicates: 1 });
    expect((await d.post(e, { headers: auth })).body).toEqual({ accepted: 0, duplicates: 1 });
    expect(d.snapshot().depth).toBe(before.depth + 1);
  });

  it('maps camelCase records and EventBridge envelopes around Okta events', async () => {
    const camel = { organizationId: 'org-c', eventId: `camel-${Date.now()}`, eventTime: 1773480413589, type: 'app_created', appId: 'a1' };
    const okta = {
      version: '0',
      id: 'f2a8a9a2-0000-4000-8000-000000000001',
      'detail-type': 'SystemLog',
      source: 'aws.partner/okta.com/dev-123456/okta-logs',
      account: '123456789012',
      time: '2026-03-14T09:26:53Z',
      region: 'us-east-1',
      resources: [],
      detail: {
        uuid: `okta-${Date.now()}`,
        published: '2026-03-14T09:26:53.589Z',
        eventType: 'user.session.start',
        outcome: { result: 'FAILURE', reason: 'INVALID_CREDENTIALS' },
        actor: { id: '00u1', type: 'User', alternateId: 'ada@example.com', displayName: 'Ada' },
        target: [{ id: '0oa1', type: 'AppInstance', alternateId: 'Portal', displayName: 'Portal' }],
        authenticationContext: { credentialType: 'PASSWORD', authenticationStep: 0 },
      },
    };
    const a = await d.post([camel, okta], { headers: auth });
    expect(a.status).toBe(202);
    const [c, o] = bodies(d).slice(-2);
    expect(c).toMatchObject({ ORGANIZATION_ID: 'org-c', EVENT_TYPE: 'app_created', APP_ID: 'a1', EVENT_TIME: '2026-03-14 09:26:53.589' });
    expect(o).toMatchObject({
      ORGANIZATION_ID: 'dev-123456',
      EVENT_TYPE: 'invalid_login',
      USER_ID: '00u1',
      EMAIL: 'ada@example.com',
      RESOURCE_TYPE: 'AppInstance',
      RESOURCE_ID: '0oa1',
      LOGIN_TYPE: 'PASSWORD',
      SERVICE: 'okta',
    });
  });

  it('answers an Okta event hook verification challenge', async () => {
    const a = await d.request('/v1/events', { headers: { ...auth, 'x-okta-verification-challenge': 'abc123' } });
    expect(a.status).toBe(200);
    expect(a.body).toEqual({ verification: 'abc123' });
  });

  it('counts accepted, duplicate and rejected events in /metrics', async () => {
    const e = event();
    await d.post([e, e], { headers: auth });
    await d.post({ EVENT_ID: 'x' }, { headers: auth });
    const m = await d.request('/metrics');
    expect(m.status).toBe(200);
    const value = (line: string) => Number(new RegExp(`^${line.replace(/[{}"]/g, '\\$&')} (\\d+)`, 'm').exec(m.text)?.[1]);
    expect(value('logbarge_events_accepted_total{shape="canonical"}')).toBeGreaterThanOrEqual(9);
    expect(value('logbarge_events_accepted_total{shape="eventbridge"}')).toBe(1);
    expect(value('logbarge_events_duplicate_total{shape="canonical"}')).toBeGreaterThanOrEqual(3);
    expect(value('logbarge_events_rejected_total{reason="invalid"}')).toBeGreaterThanOrEqual(1);
    expect(value('logbarge_spool_depth')).toBe(d.snapshot().depth);
    expect(m.text).not.toContain(key);
  });

  it('group-commits concurrent requests and acknowledges every one', async () => {
    const before = d.snapshot();
    const answers = await Promise.all(Array.from({ length: 40 }, () => d.post([event(), event()], { headers: auth })));
    expect(answers.map((a) => a.status)).toEqual(Array(40).fill(202));
    expect(d.snapshot().depth).toBe(before.depth + 80);
  });

  const tooLong = 'x'.repeat(4097);
  const deep = JSON.parse('['.repeat(500) + ']'.repeat(500));
  // [name, body, options, expected status]
  const bad: [string, unknown, Record<string, unknown>, number][] = [
    ['invalid JSON', '{"EVENT_ID": ', { raw: true }, 400],
    ['truncated array', JSON.stringify([event(), event()]).slice(0, -20), { raw: true }, 400],
    ['NDJSON with one broken line', `${JSON.stringify(event())}\n{"EVENT_ID":\n${JSON.stringify(event())}`, { raw: true, contentType: 'application/x-ndjson' }, 400],
    ['truncated NDJSON', `${JSON.stringify(event())}\n${JSON.stringify(event()).slice(0, 30)}`, { raw: true, contentType: 'application/x-ndjson' }, 400],
    ['a number in the array', [event(), 42], {}, 400],
    ['null in the array', [event(), null], {}, 400],
    ['a bare JSON string', '"hello"', { raw: true }, 400],
    ['missing ORGANIZATION_ID', event({ ORGANIZATION_ID: undefined }), {}, 400],
    ['missing EVENT_ID', event({ EVENT_ID: undefined }), {}, 400],
    ['missing EVENT_TIME', event({ EVENT_TIME: undefined }), {}, 400],
    ['missing EVENT_TYPE', event({ EVENT_TYPE: undefined }), {}, 400],
    ['empty ORGANIZATION_ID', event({ ORGANIZATION_ID: '' }), {}, 400],
    ['EVENT_TIME not a time', event({ EVENT_TIME: 'yesterday' }), {}, 400],
    ['EVENT_TIME on Feb 30', event({ EVENT_TIME: '2026-02-30T10:00:00Z' }), {}, 400],
    ['EVENT_TIME a boolean', event({ EVENT_TIME: true }), {}, 400],
    ['EVENT_YEAR inconsistent', event({ EVENT_YEAR: 2025 }), {}, 400],
    ['EVENT_MONTH not the first day', event({ EVENT_MONTH: '2026-03-14' }), {}, 400],
    ['EVENT_DATE inconsistent', event({ EVENT_DATE: '2026-03-15' }), {}, 400],
    ['EVENT_YEAR not a number', event({ EVENT_YEAR: '20x6' }), {}, 400],
    ['EMAIL an object', event({ EMAIL: { address: 'a@b.c' } }), {}, 400],
    ['USER_ID an array', event({ USER_ID: ['u1'] }), {}, 400],
    ['deeply nested value', event({ USER_ID: deep }), {}, 400],
    ['string over the length cap', event({ DOMAIN: tooLong }), {}, 400],
    ['unpaired surrogate', `{"ORGANIZATION_ID":"o","EVENT_ID":"s1","EVENT_TIME":"2026-03-14T00:00:00Z","EVENT_TYPE":"user_login","EMAIL":"\\ud800"}`, { raw: true }, 400],
    ['a key given twice in two spellings', event({ eventId: 'other' }), {}, 400],
    ['one bad record among good ones', [event(), event(), event({ EVENT_TIME: 'nope' }), event()], {}, 400],
    ['Okta event without an organization', { uuid: 'u-1', published: '2026-03-14T00:00:00Z', eventType: 'user.session.end' }, {}, 400],
    ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), { raw: true }, 400],
    ['corrupt gzip', Buffer.from('not gzip at all'), { raw: true, headers: { ...auth, 'content-encoding': 'gzip' } }, 400],
    ['text/plain', JSON.stringify(event()), { raw: true, contentType: 'text/plain' }, 415],
    ['form encoding (curl -d default)', JSON.stringify(event()), { raw: true, contentType: 'application/x-www-form-urlencoded' }, 415],
    ['no content type', JSON.stringify(event()), { raw: true, contentType: null }, 415],
    ['latin-1 charset', JSON.stringify(event()), { raw: true, contentType: 'application/json; charset=iso-8859-1' }, 415],
    ['brotli encoding', JSON.stringify(event()), { raw: true, headers: { ...auth, 'content-encoding': 'br' } }, 415],
    ['body over maxBodyBytes', Array.from({ length: 200 }, () => event({ DOMAIN: 'd'.repeat(400) })), {}, 413],
    ['gzip bomb', gzipSync(Buffer.alloc(50 * 1024 * 1024, 0x20)), { raw: true, headers: { ...auth, 'content-encoding': 'gzip' } }, 413],
    ['a key given twice with the same spelling', `{"ORGANIZATION_ID":"o","EVENT_ID":"d1","EVENT_ID":"d2","EVENT_TIME":"2026-03-14T00:00:00Z","EVENT_TYPE":"user_login"}`, { raw: true }, 400],
    ['a duplicate key inside NDJSON line 2', `${JSON.stringify(event())}\n{"ORGANIZATION_ID":"o","ORGANIZATION_ID":"p","EVENT_ID":"d3","EVENT_TIME":"2026-03-14T00:00:00Z","EVENT_TYPE":"user_login"}`, { raw: true, contentType: 'application/x-ndjson' }, 400],
    ['a __proto__ key', `{"__proto__":{"isAdmin":true},"ORGANIZATION_ID":"o","EVENT_ID":"p1","EVENT_TIME":"2026-03-14T00:00:00Z","EVENT_TYPE":"user_login"}`, { raw: true }, 400],
    ['a nested __proto__ key', `[{"ORGANIZATION_ID":"o","EVENT_ID":"p2","EVENT_TIME":"2026-03-14T00:00:00Z","EVENT_TYPE":"user_login","extra":{"__proto__":1}}]`, { raw: true }, 400],
    ['deep nesting in an unknown field', event({ extra: JSON.parse('{"a":'.repeat(40) + '1' + '}'.repeat(40)) }), {}, 400],
    ['a huge string', event({ USER_ID: 'u'.repeat(60_000) }), {}, 400],
    ['an empty body', '', { raw: true }, 400],
    ['a whitespace body', '   \n  ', { raw: true }, 400],
    ['JSON null', 'null', { raw: true }, 400],
    ['a JSON number', '12345', { raw: true }, 400],
    ['an array of arrays', [[event()]], {}, 400],
    ['EVENT_TIME with an impossible offset', event({ EVENT_TIME: '2026-03-14T10:00:00+25:00' }), {}, 400],
    ['EVENT_TIME as epoch seconds far in the past', event({ EVENT_TIME: -1e16 }), {}, 400],
    ['a gzip body sent without Content-Encoding', gzipSync(JSON.stringify(event())), { raw: true }, 400],
    ['no API key', event(), { headers: {} }, 401],
    ['wrong API key', event(), { headers: { 'x-api-key': 'nope' } }, 401],
    ['wrong Bearer key', event(), { headers: { authorization: 'Bearer nope' } }, 401],
    ['key in the wrong scheme', event(), { headers: { authorization: `Basic ${key}` } }, 401],
  ];

  it.each(bad)('rejects %s and stores nothing', async (_name, body, options, status) => {
    const before = d.snapshot();
    const headers = (options.headers as Record<string, string> | undefined) ?? auth;
    const a = await d.post(body, { ...options, headers });
    expect(a.status).toBe(status);
    expect(typeof a.body?.error).toBe('string');
    if (status === 400) {
      expect(a.body.details.length).toBeGreaterThan(0);
      for (const detail of a.body.details) {
        expect(detail).toEqual(expect.objectContaining({ index: expect.any(Number), field: expect.any(String), message: expect.any(String) }));
      }
    }
    expect(d.snapshot()).toEqual(before);
    expect((await d.request('/healthz')).status).toBe(200);
  });

  it('names the record and field of each problem', async () => {
    const a = await d.post([event(), event({ EVENT_YEAR: 1999 }), event({ EVENT_TIME: 'x', EMAIL: {} })], { headers: auth });
    expect(a.status).toBe(400);
    expect(a.body.details).toEqual([
      { index: 1, field: 'EVENT_YEAR', message: '1999 does not match EVENT_TIME (expected 2026)' },
      { index: 2, field: 'EVENT_TIME', message: expect.stringContaining('is not an ISO-8601 timestamp') },
      { index: 2, field: 'EMAIL', message: 'must be a string, got an object' },
    ]);
  });

  it('answers 400 naming EVENT_TIME when it looks like epoch seconds or microseconds, and stores nothing', async () => {
    const before = d.snapshot();
    const a = await d.post([event(), event({ EVENT_TIME: 1710408413 }), event({ EVENT_TIME: 1710408413589000 }), event({ EVENT_TIME: '2999-01-01T00:00:00Z' })], { headers: auth });
    expect(a.status).toBe(400);
    expect(a.body.details).toEqual([
      {
        index: 1,
        field: 'EVENT_TIME',
        message:
          '1710408413 (epoch milliseconds) is 1970-01-20T19:06:48.413Z, before ingest.eventTime.min 2000-01-01T00:00:00.000Z; ' +
          'it looks like epoch seconds (1710408413 s = 2024-03-14T09:26:53.000Z)',
      },
      {
        index: 2,
        field: 'EVENT_TIME',
        message: expect.stringMatching(/^1710408413589000 \(epoch milliseconds\) is beyond year 9999, later than now \+ ingest\.eventTime\.maxAheadMs \(.*\); it looks like epoch microseconds \(1710408413589000 µs = 2024-03-14T09:26:53\.589Z\)$/),
      },
      { index: 3, field: 'EVENT_TIME', message: expect.stringMatching(/^"2999-01-01T00:00:00Z" is 2999-01-01T00:00:00\.000Z, later than now \+ ingest\.eventTime\.maxAheadMs/) },
    ]);
    expect(d.snapshot()).toEqual(before);
  });

  it('refuses POST /v1/flush without the API key', async () => {
    expect((await d.request('/v1/flush', { method: 'POST' })).status).toBe(401);
    expect((await d.request('/v1/flush', { method: 'POST', headers: { 'x-api-key': 'wrong' } })).status).toBe(401);
    expect((await d.request('/v1/flush', { method: 'POST', headers: auth })).status).toBe(200);
  });

  it('answers 404 and 405 for other routes', async () => {
    expect((await d.request('/nope')).status).toBe(404);
    expect((await d.request('/v1/events', { method: 'PUT' })).status).toBe(405);
  });
});

describe('ingest options', () => {
  it('rejects unknown event types and unknown fields when configured strict', async () => {
    const d = await startTestDaemon({ ingest: { strictEventTypes: true, unknownFields: 'reject' } });
    try {
      const a = await d.post(event({ EVENT_TYPE: 'made_up' }));
      expect(a.status).toBe(400);
      expect(a.body.details[0].field).toBe('EVENT_TYPE');
      expect(a.body.details[0].message).toContain('user_login');
      const b = await d.post(event({ colour: 'blue' }));
      expect(b.status).toBe(400);
      expect(b.body.details[0]).toMatchObject({ index: 0, field: 'colour' });
      expect(d.snapshot().depth).toBe(0);
      expect((await d.post(event())).status).toBe(202);
    } finally {
      await d.stop();
    }
  });

  it('accepts and counts unknown event types and drops unknown fields by default', async () => {
    const d = await startTestDaemon();
    try {
      expect((await d.post(event({ EVENT_TYPE: 'made_up', colour: 'blue' }))).status).toBe(202);
      const stored = JSON.parse(d.daemon.spool.db.prepare('SELECT body FROM events').pluck().get() as string);
      expect(stored.EVENT_TYPE).toBe('made_up');
      expect(stored).not.toHaveProperty('colour');
      const m = (await d.request('/metrics')).text;
      expect(m).toMatch(/^logbarge_unknown_event_types_total 1$/m);
      expect(m).toMatch(/^logbarge_unknown_fields_total 1$/m);
    } finally {
      await d.stop();
    }
  });

  it('uses the configured organization for Okta events', async () => {
    const d = await startTestDaemon({ ingest: { organizationId: 'org-from-config' } });
    try {
      const a = await d.post({ uuid: 'okta-cfg-1', published: '2026-03-14T00:00:00Z', eventType: 'user.account.lock' });
      expect(a.status).toBe(202);
      const stored = JSON.parse(d.daemon.spool.db.prepare('SELECT body FROM events').pluck().get() as string);
      expect(stored).toMatchObject({ ORGANIZATION_ID: 'org-from-config', EVENT_TYPE: 'user_locked', SERVICE: 'okta' });
    } finally {
      await d.stop();
    }
  });
});

describe('backpressure', () => {
  it('answers 503 with Retry-After when the spool is full, and /readyz says why', async () => {
    const d = await startTestDaemon({ spool: { maxEvents: 3 } });
    try {
      expect((await d.post([event(), event()])).status).toBe(202);
      const over = await d.post([event(), event()]);
      expect(over.status).toBe(503);
      expect(over.headers.get('retry-after')).toBe('30');
      expect(d.snapshot().depth).toBe(2);
      expect((await d.post(event())).status).toBe(202);
      const refused = await d.post(event());
      expect(refused.status).toBe(503);
      const ready = await d.request('/readyz');
      expect(ready.status).toBe(503);
      expect(ready.body.reasons).toContain('spool_full');
      expect(ready.body.details.join(' ')).toContain('spool.maxEvents'); // a loopback peer gets the details
      expect(d.snapshot().depth).toBe(3);
    } finally {
      await d.stop();
    }
  });

  it('drains on stop: admitted requests finish, a request that starts during the drain gets 503, the final cycle delivers everything', async () => {
    const d = await startTestDaemon();
    const port = Number(new URL(d.url).port);
    // Six requests whose bodies are half sent when the drain starts. Each sends
    // `Expect: 100-continue`: node:http writes "100 Continue" and then calls the handler, which
    // decides admission before its first await, so a 100 on the wire means the request is admitted.
    const bodies = Array.from({ length: 6 }, () => JSON.stringify([event(), event()]));
    const inflight = bodies.map((body, i) => {
      const connection = rawConnection(port);
      // The last one keeps its connection open, so a second request can follow it during the drain.
      const close = i === 5 ? '' : 'Connection: close\r\n';
      connection.socket.write(postHead(Buffer.byteLength(body), `Expect: 100-continue\r\n${close}`) + body.slice(0, 50));
      return { ...connection, rest: body.slice(50) };
    });
    await within(10_000, 'the server to answer 100 Continue to all six requests', Promise.all(inflight.map((f) => f.firstAnswer)));
    for (const f of inflight) expect(f.wire()).toBe('HTTP/1.1 100 Continue\r\n\r\n');

    const stopping = d.daemon.stop();
    await expect(d.post(event())).rejects.toThrow(); // the listener is closed: no new connections
    // A request that starts after the drain began, pipelined behind the last admitted one.
    const lateBody = JSON.stringify(event());
    for (const [i, f] of inflight.entries()) {
      const next = i === 5 ? postHead(Buffer.byteLength(lateBody), 'Connection: close\r\n') + lateBody : '';
      f.socket.write(f.rest + next);
    }
    const answers = (await within(20_000, 'the six connections to be answered and closed', Promise.all(inflight.map((f) => f.closed)))).map(parseResponses);
    expect(answers.map((a) => a.map((r) => r.status))).toEqual([...Array.from({ length: 5 }, () => [100, 202]), [100, 202, 503]]);
    for (const a of answers) expect(JSON.parse(a[1]!.body)).toEqual({ accepted: 2, duplicates: 0 });
    const refused = answers[5]![2]!;
    expect(refused.headers['retry-after']).toBe('5');
    expect(JSON.parse(refused.body).error).toMatch(/shutting down/);

    await stopping;
    const { openSpool } = await import('../src/spool/spool.js');
    const reopened = openSpool({ path: d.config.spool.path, readonly: true });
    expect(reopened.stats().depth).toBe(0);
    reopened.close();
    const { readdirSync } = await import('node:fs');
    const { readFiles } = await import('./support/duckdb.js');
    const root = `${d.dir}/exports`;
    const files = readdirSync(root, { recursive: true }).map(String).filter((f) => f.endsWith('.parquet'));
    const exported = (await readFiles(files.map((f) => ({ path: `${root}/${f}`, format: 'parquet' })))).map((r) => r.EVENT_ID as string);
    const acknowledged = bodies.flatMap((b) => (JSON.parse(b) as { EVENT_ID: string }[]).map((e) => e.EVENT_ID));
    expect(exported.sort()).toEqual(acknowledged.sort()); // every admitted event once; the refused one is not there
    await d.stop();
  });
});

describe('startup', () => {
  it('refuses a non-loopback bind without an API key', async () => {
    await expect(startTestDaemon({ server: { host: '0.0.0.0' } })).rejects.toThrow(/server\.apiKeys: at least one key is required/);
  });
});

describe('streamed bodies', () => {
  it('stops reading a chunked body at maxBodyBytes (no Content-Length) with 413', async () => {
    const d = await startTestDaemon({ server: { maxBodyBytes: 16 * 1024 } });
    try {
      const { request } = await import('node:http');
      const status = await new Promise<number>((resolve, reject) => {
        const req = request(`${d.url}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        const line = `${JSON.stringify(event())}\n`;
        for (let i = 0; i < 200; i++) req.write(line);
        req.end();
      });
      expect(status).toBe(413);
      expect(d.snapshot().depth).toBe(0);
      expect((await d.post(event())).status).toBe(202);
    } finally {
      await d.stop();
    }
  });
});
