/**
 * Profile table tests: a record as a sender shapes it → the row the profile gives it (the typed
 * values after validation), RAW, and the error when it cannot be an event. Fixtures are written
 * here from the published field lists (Okta's LogEvent reference; Strivacity's event streaming
 * docs), not copied from anyone's samples.
 */
import { describe, expect, it } from 'vitest';
import { defaultEventTime } from '../config/schema.js';
import { createPreparer, type PrepareOptions } from '../ingest/prepare.js';
import { loadSchema } from '../schema/schema.js';

const schema = loadSchema();
const receivedAt = Date.UTC(2026, 2, 14, 12, 0, 0, 0);
const base: PrepareOptions = {
  strictEventTypes: false,
  unknownFields: 'drop',
  maxStringLength: 4096,
  organizationId: null,
  eventTime: defaultEventTime,
  now: () => receivedAt,
  sources: {
    okta: { profile: 'okta', organizationId: 'acme', eventType: null, apiKeys: [], apiKeyHeader: null, onInvalid: null, map: {} },
    hook: { profile: 'okta-hook', organizationId: 'acme', eventType: null, apiKeys: [], apiKeyHeader: null, onInvalid: null, map: {} },
    eb: { profile: 'eventbridge', organizationId: null, eventType: null, apiKeys: [], apiKeyHeader: null, onInvalid: null, map: {} },
    strivacity: { profile: 'strivacity', organizationId: 'acme', eventType: null, apiKeys: [], apiKeyHeader: null, onInvalid: null, map: {} },
    billing: {
      profile: 'generic', organizationId: 'acme', eventType: 'billing_event', apiKeys: [], apiKeyHeader: null, onInvalid: null,
      map: { EVENT_ID: 'id', EVENT_TIME: 'created_at', EVENT_TYPE: 'action', USER_ID: 'actor.id', RESOURCE_ID: 'items[-1].sku' },
    },
  },
};
const preparer = createPreparer(schema, base);

/** Prepares one record through a source; returns each row's non-null typed values and RAW. */
function rows(source: string | undefined, record: unknown) {
  const prepared = preparer.prepare([record], 0, { ...(source ? { source } : {}), receivedAt });
  expect(prepared.errors).toEqual([]);
  return prepared.rows.map((r) => ({
    values: Object.fromEntries(Object.entries(JSON.parse(r.body) as Record<string, unknown>).filter(([, v]) => v !== null)),
    raw: r.raw,
    dt: r.dt,
  }));
}

const logEvent = (extra: Record<string, unknown> = {}) => ({
  uuid: '6b2c1e4a-5d3f-11ef-9a1b-0242ac120002',
  published: '2026-03-14T09:26:53.589Z',
  eventType: 'user.session.start',
  severity: 'INFO',
  displayMessage: 'User login to Okta',
  actor: { id: '00u1ab2cd3EF4gh5ij6k', type: 'User', alternateId: 'ada@example.com', displayName: 'Ada Lovelace' },
  client: { ipAddress: '192.0.2.10', userAgent: { rawUserAgent: 'Mozilla/5.0' }, geographicalContext: { city: 'London', country: 'United Kingdom' } },
  outcome: { result: 'SUCCESS', reason: null },
  target: [{ id: '0oa1app', type: 'AppInstance' }],
  authenticationContext: { credentialType: 'PASSWORD', externalSessionId: 'trs-1' },
  ...extra,
});

describe('okta', () => {
  it.each<[string, Record<string, unknown>, Record<string, unknown>]>([
    ['a login', {}, { EVENT_TYPE: 'user_login', USER_ID: '00u1ab2cd3EF4gh5ij6k', EMAIL: 'ada@example.com', RESOURCE_TYPE: 'AppInstance', RESOURCE_ID: '0oa1app', LOGIN_TYPE: 'PASSWORD' }],
    ['null actor and target', { actor: null, target: null }, { EVENT_TYPE: 'user_login', LOGIN_TYPE: 'PASSWORD' }],
    ['several targets: the first is the resource', { target: [{ id: 'u1', type: 'User' }, { id: 'g1', type: 'UserGroup' }, { id: 'a1', type: 'AppInstance' }] }, { RESOURCE_TYPE: 'User', RESOURCE_ID: 'u1' }],
    ['microsecond published: truncated to ms in the typed column', { published: '2026-03-14T09:26:53.589123Z' }, { EVENT_TIME: '2026-03-14 09:26:53.589' }],
    ['an upper-case uuid is kept as sent', { uuid: '6B2C1E4A-5D3F-11EF-9A1B-0242AC120002' }, { EVENT_ID: '6B2C1E4A-5D3F-11EF-9A1B-0242AC120002' }],
    ['a failed login', { outcome: { result: 'FAILURE', reason: 'INVALID_CREDENTIALS' } }, { EVENT_TYPE: 'invalid_login' }],
  ])('%s', (_name, extra, expected) => {
    const [row] = rows('okta', logEvent(extra));
    expect(row?.values).toMatchObject({ ORGANIZATION_ID: 'acme', SERVICE: 'okta', EVENT_DATE: '2026-03-14', ...expected });
    // RAW keeps what the 29 columns cannot: client IP, geography, outcome, the other targets, digits past the ms.
    expect(JSON.parse(row!.raw!)).toEqual(logEvent(extra));
  });

  it('a string "null" IP and a null outcome reason stay in RAW as sent', () => {
    const [row] = rows('okta', logEvent({ client: { ipAddress: 'null' } }));
    expect(row!.raw).toContain('"ipAddress":"null"');
    expect(row!.raw).toContain('"reason":null');
  });

  it('the source fixes the organization whatever the event says', () => {
    expect(rows('okta', { ...logEvent(), ORGANIZATION_ID: 'someone-else' })[0]?.values.ORGANIZATION_ID).toBe('acme');
  });
});

describe('okta-hook', () => {
  it('maps each event of a delivery; RAW is the event, not the delivery', () => {
    const delivery = {
      eventType: 'com.okta.event_hook', eventTypeVersion: '1.0', cloudEventsVersion: '0.1', source: 'https://acme.okta.com/api/v1/eventHooks/who1',
      eventId: 'b1c2', eventTime: '2026-03-14T09:27:00.000Z', contentType: 'application/json',
      data: { events: [logEvent(), logEvent({ uuid: '7c3d2f5b-5d3f-11ef-9a1b-0242ac120002', eventType: 'user.session.end' })] },
    };
    const out = rows('hook', delivery);
    expect(out.map((r) => r.values.EVENT_TYPE)).toEqual(['user_login', 'user_logout']);
    expect(out.map((r) => JSON.parse(r.raw!).uuid)).toEqual(['6b2c1e4a-5d3f-11ef-9a1b-0242ac120002', '7c3d2f5b-5d3f-11ef-9a1b-0242ac120002']);
  });
});

describe('eventbridge', () => {
  const envelope = (detail: unknown) => ({
    version: '0', id: 'f1e2d3c4', 'detail-type': 'SystemLog', source: 'aws.partner/okta.com/acme-prod/okta-stream', account: '123456789012',
    time: '2026-03-14T09:27:00Z', region: 'us-east-1', resources: [], detail,
  });
  it('an Okta detail: the org from the partner source, RAW the whole envelope', () => {
    const [row] = rows('eb', envelope(logEvent()));
    expect(row?.values).toMatchObject({ ORGANIZATION_ID: 'acme-prod', EVENT_ID: '6b2c1e4a-5d3f-11ef-9a1b-0242ac120002', EVENT_TYPE: 'user_login' });
    expect(JSON.parse(row!.raw!)).toEqual(envelope(logEvent()));
  });
  it('a canonical detail without id and time: a content id and the envelope time', () => {
    const [row] = rows('eb', envelope({ ORGANIZATION_ID: 'o', EVENT_TYPE: 'app_created' }));
    expect(row?.values).toMatchObject({ ORGANIZATION_ID: 'o', EVENT_TIME: '2026-03-14 09:27:00.000', EVENT_TYPE: 'app_created' });
    expect(String(row?.values.EVENT_ID)).toMatch(/^sha256:[0-9a-f]{32}$/);
  });
});

describe('strivacity', () => {
  it.each<[string, Record<string, unknown>, Record<string, unknown>]>([
    ["the setup guide's test request", { log: 'My test log' }, { EVENT_TYPE: 'strivacity', EVENT_TIME: '2026-03-14 12:00:00.000' }],
    [
      'an account event with labels and native claims',
      { eventId: 'evt-42', startTimestamp: '2026-03-14T09:00:00.123Z', eventType: 'login', subject: { id: 'acc-7', email: 'ada@example.com' }, labels: ['success'], claims: { given_name: 'Ada' } },
      { EVENT_ID: 'evt-42', EVENT_TIME: '2026-03-14 09:00:00.123', EVENT_TYPE: 'login', USER_ID: 'acc-7', EMAIL: 'ada@example.com' },
    ],
    [
      'an audit log with empty request and response',
      { id: 'aud-1', timestamp: 1773478800000, type: 'UPDATE', changedBy: 'admin@example.com', request: {}, response: {} },
      { EVENT_ID: 'aud-1', EVENT_TIME: '2026-03-14 09:00:00.000', EVENT_TYPE: 'UPDATE', USER_ID: 'admin@example.com' },
    ],
    ['an event-hook log', { eventId: 'hook-9', eventTime: '2026-03-14T09:10:00Z', action: 'pre-registration', actor: { id: 'svc' } }, { EVENT_TYPE: 'pre-registration', USER_ID: 'svc' }],
  ])('%s', (_name, record, expected) => {
    const [row] = rows('strivacity', record);
    expect(row?.values).toMatchObject({ ORGANIZATION_ID: 'acme', SERVICE: 'strivacity', ...expected });
    expect(JSON.parse(row!.raw!)).toEqual(record);
  });

  it('the test request without an id gets the same content id each time', () => {
    const a = rows('strivacity', { log: 'My test log' });
    const b = rows('strivacity', { log: 'My test log' });
    expect(a[0]?.values.EVENT_ID).toBe(b[0]?.values.EVENT_ID);
    expect(String(a[0]?.values.EVENT_ID)).toMatch(/^sha256:/);
  });
});

describe('generic with a map', () => {
  it('maps what the map names and falls back for the rest; RAW keeps the record', () => {
    const record = { id: 'inv-1', created_at: '2026-03-14T08:00:00Z', action: 'invoice.paid', actor: { id: 'u-9' }, items: [{ sku: 'a' }, { sku: 'b' }] };
    const [row] = rows('billing', record);
    expect(row?.values).toMatchObject({ ORGANIZATION_ID: 'acme', EVENT_ID: 'inv-1', EVENT_TIME: '2026-03-14 08:00:00.000', EVENT_TYPE: 'invoice.paid', USER_ID: 'u-9', RESOURCE_ID: 'b' });
    expect(JSON.parse(row!.raw!)).toEqual(record);
  });
  it('without the mapped fields: content id, receive time, the source event type', () => {
    const [row] = rows('billing', { note: 'x' });
    expect(row?.values).toMatchObject({ EVENT_TYPE: 'billing_event', EVENT_TIME: '2026-03-14 12:00:00.000' });
  });
});

describe('canonical records on POST /v1/events', () => {
  it('RAW is NULL when the typed columns hold everything the record carried', () => {
    expect(rows(undefined, { ORGANIZATION_ID: 'o', EVENT_ID: 'e', EVENT_TIME: '2026-03-14T09:26:53.589Z', EVENT_TYPE: 'x', USER_ID: 'u' })[0]?.raw).toBeNull();
  });
  it.each<[string, Record<string, unknown>]>([
    ['an unknown key', { extra: 1 }],
    ['an offset that UTC normalises away', { EVENT_TIME: '2026-03-14T10:26:53.589+01:00' }],
    ['digits past the millisecond', { EVENT_TIME: '2026-03-14T09:26:53.589999Z' }],
  ])('RAW keeps the record when it has %s', (_name, extra) => {
    const record = { ORGANIZATION_ID: 'o', EVENT_ID: 'e', EVENT_TIME: '2026-03-14T09:26:53.589Z', EVENT_TYPE: 'x', ...extra };
    expect(JSON.parse(rows(undefined, record)[0]!.raw!)).toEqual(record);
  });
});

describe('config mistakes', () => {
  it.each<[string, Record<string, unknown>, RegExp]>([
    ['an unknown column', { EVENT_TIM: 'created_at' }, /sources\.bad\.map\.EVENT_TIM: no such column in schema airkit_audit_event \(did you mean EVENT_TIME\?\)|sources\.bad\.map\.EVENT_TIM: no such column/],
    ['a bad path', { EVENT_ID: 'a..b' }, /sources\.bad\.map\.EVENT_ID: path "a\.\.b": "" is not a key/],
    ['a bad regular expression', { EVENT_ID: { path: 'x', capture: '(' } }, /sources\.bad\.map\.EVENT_ID: capture "\(" is not a regular expression/],
  ])('%s is a config error naming the key', (_name, map, message) => {
    expect(() =>
      createPreparer(schema, { ...base, sources: { bad: { profile: 'generic', organizationId: 'o', eventType: null, apiKeys: [], apiKeyHeader: null, onInvalid: null, map: map as never } } }),
    ).toThrow(message);
  });
});

describe('quarantine keeps what was sent', () => {
  /** The quarantine rows of one record through a source: their answer entries and the record each keeps. */
  function quarantined(source: string, record: unknown) {
    const prepared = preparer.prepare([record], 0, { source, receivedAt });
    expect(prepared.errors).toEqual([]);
    return {
      answer: prepared.quarantined,
      records: prepared.rows.slice(prepared.rows.length - prepared.quarantineRows).map((r) => (JSON.parse(r.body) as { record: unknown }).record),
    };
  }

  it.each<[string, string, Record<string, unknown>, string, string]>([
    ['a LogEvent without its EventBridge envelope', 'eb', logEvent(), 'detail', 'is missing'],
    ['an envelope whose detail is a string', 'eb', { 'detail-type': 'SystemLog', source: 'aws.partner/okta.com/acme/s', detail: 'x' }, 'detail', 'must be a JSON object, got a string'],
    ['an event hook delivery without data.events', 'hook', { eventType: 'com.okta.event_hook', data: {} }, 'data.events', 'is missing'],
  ])('%s: the quarantined record is the record as sent', (_name, source, record, path, message) => {
    const { answer, records } = quarantined(source, record);
    expect(answer).toEqual([{ index: 0, path, errors: [{ field: '(record)', message }] }]);
    expect(records).toEqual([record]);
  });
});
