import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadSchema } from '../schema/schema.js';
import { okta, oktaEventTypes } from '../sources/okta.js';
import { mapRecord, matchesProfile } from './shapes.js';
import { contentKey } from '../spool/spool.js';
import { stringifyJson } from '../schema/json-number.js';
import { createPreparer, type PrepareOptions } from './prepare.js';
import { defaultEventTime } from '../config/schema.js';

const schema = loadSchema();

/** Reads a fixture from test/fixtures/okta/. */
function fixture(name: string): Record<string, unknown> {
  const url = new URL(`../../test/fixtures/okta/${name}`, import.meta.url);
  return JSON.parse(readFileSync(url, 'utf8')) as Record<string, unknown>;
}

/** The raw column values the okta profile gives an event, by column name (via POST /v1/events's auto profile). */
function byColumn(event: unknown, organizationId: string | null = 'org-1'): Record<string, unknown> {
  const [mapped] = mapRecord(schema, event, { organizationId });
  return Object.fromEntries(schema.columns.map((c) => [c.name, mapped?.raw[c.index]]));
}

const minimal = { uuid: 'u-1', published: '2026-03-14T00:00:00Z', eventType: 'user.session.end' };

describe('okta profile: EVENT_TYPE', () => {
  it.each<[string, unknown, unknown]>([
    ['user.session.start', 'SUCCESS', 'user_login'],
    ['user.session.start', 'FAILURE', 'invalid_login'],
    ['user.session.start', 'SKIPPED', 'user.session.start'],
    ['user.session.start', 'ALLOW', 'user.session.start'],
    ['user.session.start', 'UNKNOWN', 'user.session.start'],
    ['user.session.start', 'success', 'user.session.start'],
    ['user.session.start', undefined, 'user.session.start'],
    ['user.session.start', null, 'user.session.start'],
    ['user.session.end', 'SUCCESS', 'user_logout'],
    ['user.session.end', undefined, 'user_logout'],
    ['user.account.lock', 'SUCCESS', 'user_locked'],
    ['user.account.update_password', 'SUCCESS', 'password_change'],
    ['user.account.update_password', 'FAILURE', 'password_change'],
    ['user.lifecycle.create', 'SUCCESS', 'user_created'],
    ['system.api_token.create', 'SUCCESS', 'new_api_key'],
    ['system.api_token.revoke', 'SUCCESS', 'deleted_api_key'],
    ['application.lifecycle.create', 'SUCCESS', 'app_created'],
    ['user.authentication.sso', 'SUCCESS', 'user.authentication.sso'],
    ['user.lifecycle.deactivate', 'SUCCESS', 'user.lifecycle.deactivate'],
    ['application.lifecycle.delete', 'SUCCESS', 'application.lifecycle.delete'],
    ['User.Session.End', 'SUCCESS', 'User.Session.End'],
    ['user.session.end ', 'SUCCESS', 'user.session.end '],
    ['', 'SUCCESS', ''],
    ['constructor', 'SUCCESS', 'constructor'],
    ['__proto__', 'SUCCESS', '__proto__'],
    ['toString', 'SUCCESS', 'toString'],
    ['hasOwnProperty', 'SUCCESS', 'hasOwnProperty'],
    ['valueOf', undefined, 'valueOf'],
  ])('%j with outcome %j → %j', (eventType, result, expected) => {
    expect(byColumn({ ...minimal, eventType, outcome: result === undefined ? undefined : { result } }).EVENT_TYPE).toBe(expected);
  });

  it('maps only to published event types', () => {
    for (const mapped of [...Object.values(oktaEventTypes), 'user_login', 'invalid_login']) {
      expect(schema.eventTypes.has(mapped)).toBe(true);
    }
  });
});

describe('okta profile: ORGANIZATION_ID from the EventBridge source', () => {
  const envelope = (source: string) => ({ version: '0', id: 'e', 'detail-type': 'SystemLog', source, time: '2026-03-14T00:00:00Z', detail: minimal });
  it.each<[string, string | undefined]>([
    ['aws.partner/okta.com/dev-123456/okta-logs', 'dev-123456'],
    ['aws.partner/okta.com/acme/SystemLogStream', 'acme'],
    ['aws.partner/okta.com/acme-prod/a/b', 'acme-prod'],
    ['aws.partner/okta.com/dev-123456', undefined],
    ['aws.partner/okta.com//okta-logs', undefined],
    ['aws.partner/okta.com/', undefined],
    ['aws.partner/other.com/dev-123456/okta-logs', undefined],
    ['aws.partner/oktaxcom/dev-123456/okta-logs', undefined],
    ['x-aws.partner/okta.com/dev-123456/okta-logs', undefined],
    ['com.airkit.audit', undefined],
    ['', undefined],
  ])('%j → %j', (source, expected) => {
    expect(byColumn(envelope(source), null).ORGANIZATION_ID).toBe(expected);
  });

  it('the configured organization comes first', () => {
    expect(byColumn(envelope('aws.partner/okta.com/acme/x'), 'configured').ORGANIZATION_ID).toBe('configured');
  });
});

describe('okta profile: what is an Okta LogEvent', () => {
  it.each<[string, Record<string, unknown>, boolean]>([
    ['fixture', fixture('login-success.json'), true],
    ['minimal', { uuid: 'u', eventType: 't', published: '2026-03-14T00:00:00Z' }, true],
    ['published null (present)', { uuid: 'u', eventType: 't', published: null }, true],
    ['no published', { uuid: 'u', eventType: 't' }, false],
    ['no uuid', { eventType: 't', published: 'p' }, false],
    ['numeric uuid', { uuid: 1, eventType: 't', published: 'p' }, false],
    ['no eventType', { uuid: 'u', published: 'p' }, false],
    ['canonical event', { EVENT_ID: 'e', EVENT_TYPE: 't', EVENT_TIME: 'p' }, false],
    ['hook delivery', fixture('event-hook-two-events.json'), false],
  ])('%s → %s', (_name, record, expected) => {
    expect(matchesProfile(schema, 'okta', record)).toBe(expected);
  });
});

describe('okta-hook profile', () => {
  it('yields the events of a delivery, each at its path', () => {
    const mapped = mapRecord(schema, fixture('event-hook-two-events.json'), { organizationId: 'o' });
    expect(mapped.map((m) => [m.path, m.raw[schema.column('EVENT_ID').index]])).toEqual([
      ['data.events[0]', '5a3e9f10-e1d4-11ee-b1a8-0f2d3c4b5a69'],
      ['data.events[1]', '8f4c2d1e-e1e9-11ee-8a5b-3d9e7f6c5b4a'],
    ]);
  });

  it.each<[string, Record<string, unknown>, boolean]>([
    ['empty events', { eventType: 'com.okta.event_hook', data: { events: [] } }, true],
    ['events not an array', { eventType: 'com.okta.event_hook', data: { events: {} } }, false],
    ['data null', { eventType: 'com.okta.event_hook', data: null }, false],
    ['no data', { eventType: 'com.okta.event_hook' }, false],
    ['other eventType', { eventType: 'user.session.start', data: { events: [] } }, false],
  ])('%s → is a delivery: %j', (_name, record, expected) => {
    expect(matchesProfile(schema, 'okta-hook', record)).toBe(expected);
  });
});

describe('okta profile: the documented table', () => {
  it('maps the documented table', () => {
    const fields = byColumn(fixture('api-token-create.json'));
    expect(Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined))).toEqual({
      ORGANIZATION_ID: 'org-1',
      EVENT_ID: '8f4c2d1e-e1e9-11ee-8a5b-3d9e7f6c5b4a',
      EVENT_TIME: '2026-03-16T14:03:22.045Z',
      EVENT_TYPE: 'new_api_key',
      USER_ID: '00u2adm1nXyZ9AbCd0h7',
      EMAIL: 'ops.admin@example.com',
      RESOURCE_TYPE: 'Token',
      RESOURCE_ID: '00Tc9v8b7n6m5L4k3j2h',
      LOGIN_TYPE: 'OKTA_AUTHENTICATION_PROVIDER',
      SERVICE: 'okta',
    });
  });

  it.each<[string, Record<string, unknown>, Record<string, unknown>]>([
    ['no actor, target, auth', {}, { USER_ID: undefined, EMAIL: undefined, RESOURCE_TYPE: undefined, RESOURCE_ID: undefined, LOGIN_TYPE: undefined }],
    ['actor null', { actor: null }, { USER_ID: undefined, EMAIL: undefined }],
    ['actor an array', { actor: [{ id: 'a' }] }, { USER_ID: undefined }],
    ['target empty', { target: [] }, { RESOURCE_TYPE: undefined, RESOURCE_ID: undefined }],
    ['target not an array', { target: { id: 't', type: 'User' } }, { RESOURCE_TYPE: undefined, RESOURCE_ID: undefined }],
    ['first target wins', { target: [{ id: 't1', type: 'User' }, { id: 't2', type: 'AppInstance' }] }, { RESOURCE_TYPE: 'User', RESOURCE_ID: 't1' }],
    ['credentialType wins', { authenticationContext: { credentialType: 'PASSWORD', authenticationProvider: 'ACTIVE_DIRECTORY' } }, { LOGIN_TYPE: 'PASSWORD' }],
    ['provider when credentialType null', { authenticationContext: { credentialType: null, authenticationProvider: 'LDAP' } }, { LOGIN_TYPE: 'LDAP' }],
    ['both null', { authenticationContext: { credentialType: null, authenticationProvider: null } }, { LOGIN_TYPE: undefined }],
    ['outcome decides session.start', { eventType: 'user.session.start', outcome: { result: 'FAILURE' } }, { EVENT_TYPE: 'invalid_login' }],
    ['outcome null', { eventType: 'user.session.start', outcome: null }, { EVENT_TYPE: 'user.session.start' }],
  ])('%s', (_name, extra, expected) => {
    const fields = byColumn({ ...minimal, ...extra });
    expect(fields).toMatchObject({ ORGANIZATION_ID: 'org-1', EVENT_ID: 'u-1', SERVICE: 'okta' });
    for (const [column, value] of Object.entries(expected)) expect(fields[column]).toBe(value);
  });

  it('is data: each column names its input path', () => {
    expect(okta.columns).toMatchObject({ EVENT_ID: { path: 'uuid' }, EVENT_TIME: { path: 'published' }, USER_ID: { path: 'actor.id' }, RESOURCE_TYPE: { path: 'target[0].type' } });
  });
});

describe('Okta fixtures through createPreparer', () => {
  const options: PrepareOptions = {
    strictEventTypes: false,
    unknownFields: 'reject',
    maxStringLength: 1024,
    organizationId: 'airkit-org-1',
    eventTime: defaultEventTime,
    now: () => Date.UTC(2026, 5, 1),
  };

  /** The canonical body: all 29 columns in schema order, null unless given. */
  function body(values: Record<string, string | number>): string {
    return JSON.stringify(Object.fromEntries(schema.columns.map((c) => [c.name, values[c.name] ?? null])));
  }

  const loginSuccess = {
    EVENT_ID: 'dc9fd3c0-598c-11ef-8478-2b7584bf8d5a', EVENT_YEAR: 2026, EVENT_MONTH: '2026-03-01',
    EVENT_DATE: '2026-03-14', EVENT_TIME: '2026-03-14 09:26:53.589', USER_ID: '00u1qw1mqitPHM8AJ0g7',
    EMAIL: 'jane.doe@example.com', LOGIN_TYPE: 'OKTA_AUTHENTICATION_PROVIDER', SERVICE: 'okta', EVENT_TYPE: 'user_login',
  };
  const passwordChange = {
    EVENT_ID: '5a3e9f10-e1d4-11ee-b1a8-0f2d3c4b5a69', EVENT_YEAR: 2026, EVENT_MONTH: '2026-03-01',
    EVENT_DATE: '2026-03-15', EVENT_TIME: '2026-03-15 00:12:07.120', USER_ID: '00u1qw1mqitPHM8AJ0g7',
    EMAIL: 'jane.doe@example.com', RESOURCE_TYPE: 'User', RESOURCE_ID: '00u1qw1mqitPHM8AJ0g7', SERVICE: 'okta',
    EVENT_TYPE: 'password_change',
  };
  const apiToken = {
    EVENT_ID: '8f4c2d1e-e1e9-11ee-8a5b-3d9e7f6c5b4a', EVENT_YEAR: 2026, EVENT_MONTH: '2026-03-01',
    EVENT_DATE: '2026-03-16', EVENT_TIME: '2026-03-16 14:03:22.045', USER_ID: '00u2adm1nXyZ9AbCd0h7',
    EMAIL: 'ops.admin@example.com', RESOURCE_TYPE: 'Token', RESOURCE_ID: '00Tc9v8b7n6m5L4k3j2h',
    LOGIN_TYPE: 'OKTA_AUTHENTICATION_PROVIDER', SERVICE: 'okta', EVENT_TYPE: 'new_api_key',
  };

  it.each<[string, string | null, string, Record<string, string | number>[]]>([
    ['login-success.json', 'airkit-org-1', 'okta', [{ ORGANIZATION_ID: 'airkit-org-1', ...loginSuccess }]],
    [
      'login-failure.json', 'airkit-org-1', 'okta',
      [{
        ORGANIZATION_ID: 'airkit-org-1', EVENT_ID: '0b7e3b9a-e1c2-11ee-9c2a-4b1f0d6e8a77', EVENT_YEAR: 2026,
        EVENT_MONTH: '2026-03-01', EVENT_DATE: '2026-03-14', EVENT_TIME: '2026-03-14 23:59:59.999',
        USER_ID: '00u5xk2r9ZcLw7Qp40h8', EMAIL: 'mallory@example.com', LOGIN_TYPE: 'PASSWORD', SERVICE: 'okta',
        EVENT_TYPE: 'invalid_login',
      }],
    ],
    ['password-change.json', 'airkit-org-1', 'okta', [{ ORGANIZATION_ID: 'airkit-org-1', ...passwordChange }]],
    ['api-token-create.json', 'airkit-org-1', 'okta', [{ ORGANIZATION_ID: 'airkit-org-1', ...apiToken }]],
    ['eventbridge-login-success.json', null, 'eventbridge', [{ ORGANIZATION_ID: 'dev-123456', ...loginSuccess }]],
    ['eventbridge-login-success.json', 'airkit-org-1', 'eventbridge', [{ ORGANIZATION_ID: 'airkit-org-1', ...loginSuccess }]],
    [
      'event-hook-two-events.json', 'airkit-org-1', 'okta',
      [{ ORGANIZATION_ID: 'airkit-org-1', ...passwordChange }, { ORGANIZATION_ID: 'airkit-org-1', ...apiToken }],
    ],
  ])('%s with organizationId %j', (name, organizationId, shape, expected) => {
    const record = fixture(name);
    const prepared = createPreparer(schema, { ...options, organizationId }).prepare([record]);
    expect(prepared.errors).toEqual([]);
    expect(prepared.errorCount).toBe(0);
    // RAW: the whole envelope for EventBridge; each event of a hook delivery on its own.
    const events = (record.data as { events?: unknown[] } | undefined)?.events;
    const rawOf = (i: number): string => stringifyJson(events ? events[i] : record);
    const eventTextOf = (i: number): string => stringifyJson(events ? events[i] : (record.detail ?? record));
    expect(prepared.rows).toEqual(
      expected.map((values, i) => ({
        eventId: values.EVENT_ID,
        eventMs: Date.parse(`${String(values.EVENT_TIME).replace(' ', 'T')}Z`),
        dt: values.EVENT_DATE,
        body: body(values),
        raw: rawOf(i),
        content: contentKey(`${body(values)}\n${eventTextOf(i)}`),
      })),
    );
    expect(prepared.rowShapes).toEqual(expected.map(() => shape));
    expect(prepared.unknownEventTypes).toBe(0);
    expect([...prepared.unknownFields]).toEqual([]);
  });

  it.each<[string, { index: number; path?: string; field: string }[]]>([
    ['login-success.json', [{ index: 0, field: 'ORGANIZATION_ID' }]],
    ['event-hook-two-events.json', [
      { index: 0, path: 'data.events[0]', field: 'ORGANIZATION_ID' },
      { index: 0, path: 'data.events[1]', field: 'ORGANIZATION_ID' },
    ]],
  ])('%s without an organizationId is rejected', (name, expected) => {
    const prepared = createPreparer(schema, { ...options, organizationId: null }).prepare([fixture(name)]);
    expect(prepared.rows).toEqual([]);
    expect(prepared.errors.map(({ index, path, field }) => (path === undefined ? { index, field } : { index, path, field }))).toEqual(expected);
    expect(prepared.errors[0]?.message).toMatch(/^is required for Okta events: set organizationId on the source \(on POST \/v1\/events: ingest.organizationId\)/);
  });

  it('keeps an unmapped Okta eventType and counts it as unknown', () => {
    const event = { ...fixture('login-success.json'), eventType: 'user.authentication.sso' };
    const prepared = createPreparer(schema, options).prepare([event]);
    expect(prepared.errors).toEqual([]);
    expect(prepared.unknownEventTypes).toBe(1);
    expect(JSON.parse(prepared.rows[0]?.body ?? '{}')).toMatchObject({ EVENT_TYPE: 'user.authentication.sso' });
  });
});
