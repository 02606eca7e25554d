import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadSchema } from '../schema/schema.js';
import { contentDerivedId, isEventBridgeEnvelope, mapRecord, type MappedRecord } from './shapes.js';

const schema = loadSchema();
const noOrg = { organizationId: null };
const withOrg = { organizationId: 'airkit-org-1' };

function fixture(name: string): Record<string, unknown> {
  const url = new URL(`../../test/fixtures/okta/${name}`, import.meta.url);
  return JSON.parse(readFileSync(url, 'utf8')) as Record<string, unknown>;
}

/** The defined raw values of a mapped record, by column name. */
function fields(mapped: MappedRecord | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const column of schema.columns) {
    const value = mapped?.raw[column.index];
    if (value !== undefined) out[column.name] = value;
  }
  return out;
}

function only(records: MappedRecord[]): MappedRecord {
  expect(records).toHaveLength(1);
  return records[0] as MappedRecord;
}

describe('canonical and camelCase records', () => {
  it.each<[string, Record<string, unknown>, 'canonical' | 'camelcase', Record<string, unknown>]>([
    [
      'upper snake case',
      { ORGANIZATION_ID: 'o', EVENT_ID: 'e', EVENT_TIME: 't', EVENT_TYPE: 'user_login', API_KEY_ID: 'k' },
      'canonical',
      { ORGANIZATION_ID: 'o', EVENT_ID: 'e', EVENT_TIME: 't', EVENT_TYPE: 'user_login', API_KEY_ID: 'k' },
    ],
    [
      'lower and mixed snake case',
      { organization_id: 'o', Event_Id: 'e', event_time: 't', EVENT_type: 'x', root_scope_user_id: 'r' },
      'canonical',
      { ORGANIZATION_ID: 'o', EVENT_ID: 'e', EVENT_TIME: 't', EVENT_TYPE: 'x', ROOT_SCOPE_USER_ID: 'r' },
    ],
    [
      'one canonical key makes it canonical',
      { organizationId: 'o', EVENT_ID: 'e' },
      'canonical',
      { ORGANIZATION_ID: 'o', EVENT_ID: 'e' },
    ],
    [
      'Airkit camelCase',
      {
        organizationId: 'o', eventId: 'e', eventTime: 't', type: 'app_deployed', userId: 'u', email: 'a@b.c',
        appId: 'a', branchId: 'b', deployId: 'd', savepointId: 's', savepointRevision: 3, rootScopeUserId: 'r',
        resourceType: 'rt', resourceId: 'ri', datastoreId: 'ds', apiKeyId: 'k', notifierId: 'n', samlId: 'sa',
        webhookId: 'w', adapterId: 'ad', embedId: 'em', roleId: 'ro', service: 'sv', serviceRevision: 'sr',
        loginType: 'lt', domain: 'dm', eventYear: 2026, eventMonth: '2026-03-01', eventDate: '2026-03-14',
      },
      'camelcase',
      {
        ORGANIZATION_ID: 'o', EVENT_ID: 'e', EVENT_YEAR: 2026, EVENT_MONTH: '2026-03-01', EVENT_DATE: '2026-03-14',
        EVENT_TIME: 't', ROOT_SCOPE_USER_ID: 'r', USER_ID: 'u', EMAIL: 'a@b.c', APP_ID: 'a', BRANCH_ID: 'b',
        DEPLOY_ID: 'd', SAVEPOINT_ID: 's', SAVEPOINT_REVISION: 3, RESOURCE_TYPE: 'rt', RESOURCE_ID: 'ri',
        DOMAIN: 'dm', DATASTORE_ID: 'ds', API_KEY_ID: 'k', NOTIFIER_ID: 'n', SAML_ID: 'sa', WEBHOOK_ID: 'w',
        ADAPTER_ID: 'ad', EMBED_ID: 'em', ROLE_ID: 'ro', SERVICE: 'sv', SERVICE_REVISION: 'sr', LOGIN_TYPE: 'lt',
        EVENT_TYPE: 'app_deployed',
      },
    ],
    ['PascalCase', { OrganizationId: 'o', EventType: 'x' }, 'camelcase', { ORGANIZATION_ID: 'o', EVENT_TYPE: 'x' }],
    ['dashes', { 'event-id': 'e', 'event-time': 't' }, 'camelcase', { EVENT_ID: 'e', EVENT_TIME: 't' }],
    ['empty object', {}, 'camelcase', {}],
    ['values kept raw (null, objects)', { userId: null, email: { a: 1 } }, 'camelcase', { USER_ID: null, EMAIL: { a: 1 } }],
  ])('%s', (_name, record, shape, expected) => {
    const mapped = only(mapRecord(schema, record, noOrg));
    expect(mapped.shape).toBe(shape);
    expect(mapped.path).toBe('');
    expect(mapped.errors).toEqual([]);
    expect(mapped.unknownKeys).toEqual([]);
    expect(mapped.raw).toHaveLength(29);
    expect(fields(mapped)).toEqual(expected);
  });

  it.each<[string, Record<string, unknown>, string, string, unknown]>([
    ['EVENT_ID and eventId', { EVENT_ID: 'a', eventId: 'b' }, 'EVENT_ID', 'given twice, as "EVENT_ID" and as "eventId"', 'a'],
    ['type and EVENT_TYPE', { type: 'x', EVENT_TYPE: 'y' }, 'EVENT_TYPE', 'given twice, as "type" and as "EVENT_TYPE"', 'x'],
    ['type and eventType', { type: 'x', eventType: 'y' }, 'EVENT_TYPE', 'given twice, as "type" and as "eventType"', 'x'],
    ['event_time and event-time', { event_time: 1, 'event-time': 2 }, 'EVENT_TIME', 'given twice, as "event_time" and as "event-time"', 1],
    ['userId and USERID', { userId: 'u1', USERID: 'u2' }, 'USER_ID', 'given twice, as "userId" and as "USERID"', 'u1'],
  ])('a key given twice: %s', (_name, record, field, message, kept) => {
    const mapped = only(mapRecord(schema, record, noOrg));
    expect(mapped.errors).toEqual([{ field, message }]);
    expect(fields(mapped)[field]).toBe(kept);
  });

  it.each<[string, string, string[]]>([
    ['plain unknown keys', '{"EVENT_ID":"e","foo":1,"Bar_Baz":2}', ['foo', 'Bar_Baz']],
    ['__proto__ from JSON.parse', '{"__proto__":{"EVENT_ID":"x"},"EVENT_ID":"e"}', ['__proto__']],
    ['prototype names', '{"constructor":1,"toString":2,"hasOwnProperty":3}', ['constructor', 'toString', 'hasOwnProperty']],
    ['empty key', '{"":1}', ['']],
    ['envelope-ish keys on a non-envelope', '{"id":"i","time":"t","source":"s"}', ['id', 'time', 'source']],
  ])('unknown keys listed: %s', (_name, json, unknown) => {
    const record = JSON.parse(json) as unknown;
    const mapped = only(mapRecord(schema, record, noOrg));
    expect(mapped.unknownKeys).toEqual(unknown);
    expect(mapped.errors).toEqual([]);
    expect(Object.getPrototypeOf(mapped.raw)).toBe(Array.prototype);
  });

  it('does not take EVENT_ID from a __proto__ key', () => {
    const mapped = only(mapRecord(schema, JSON.parse('{"__proto__":{"EVENT_ID":"x"}}'), noOrg));
    expect(fields(mapped)).toEqual({});
  });
});

describe('EventBridge envelopes', () => {
  const envelope = (detail: unknown, extra: Record<string, unknown> = {}) => ({
    version: '0',
    id: '1c8a3e5f-2b7d-4e9a-8f6c-0d1e2f3a4b5c',
    'detail-type': 'Airkit Audit Event',
    source: 'com.airkit.audit',
    account: '123456789012',
    time: '2026-03-14T09:26:54Z',
    region: 'us-east-1',
    resources: ['arn:aws:events:us-east-1:123456789012:event-bus/audit'],
    detail,
    ...extra,
  });

  it.each<[string, Record<string, unknown>, Record<string, unknown>, string[]]>([
    [
      'canonical detail without id and time: id from its content, time from the envelope',
      { ORGANIZATION_ID: 'o', EVENT_TYPE: 'user_login' },
      { ORGANIZATION_ID: 'o', EVENT_TYPE: 'user_login', EVENT_ID: contentDerivedId({ ORGANIZATION_ID: 'o', EVENT_TYPE: 'user_login' }), EVENT_TIME: '2026-03-14T09:26:54Z' },
      [],
    ],
    [
      'canonical detail with its own id and time',
      { ORGANIZATION_ID: 'o', EVENT_ID: 'own-id', EVENT_TIME: '2026-03-14T09:26:53.589Z', EVENT_TYPE: 'user_login' },
      { ORGANIZATION_ID: 'o', EVENT_ID: 'own-id', EVENT_TIME: '2026-03-14T09:26:53.589Z', EVENT_TYPE: 'user_login' },
      [],
    ],
    [
      'camelCase detail with eventId only',
      { organizationId: 'o', eventId: 'own-id', type: 'app_created', extra: 1 },
      { ORGANIZATION_ID: 'o', EVENT_ID: 'own-id', EVENT_TIME: '2026-03-14T09:26:54Z', EVENT_TYPE: 'app_created' },
      ['extra'],
    ],
    [
      'detail EVENT_ID null is kept (not replaced)',
      { ORGANIZATION_ID: 'o', EVENT_ID: null, EVENT_TYPE: 'x' },
      { ORGANIZATION_ID: 'o', EVENT_ID: null, EVENT_TIME: '2026-03-14T09:26:54Z', EVENT_TYPE: 'x' },
      [],
    ],
  ])('%s', (_name, detail, expected, unknownKeys) => {
    const mapped = only(mapRecord(schema, envelope(detail), noOrg));
    expect(mapped.shape).toBe('eventbridge');
    expect(mapped.path).toBe('detail');
    expect(mapped.errors).toEqual([]);
    expect(mapped.unknownKeys).toEqual(unknownKeys);
    expect(fields(mapped)).toEqual(expected);
  });

  it('reports a key given twice inside detail', () => {
    const mapped = only(mapRecord(schema, envelope({ EVENT_ID: 'a', eventId: 'b' }), noOrg));
    expect(mapped.errors).toEqual([{ field: 'EVENT_ID', message: 'given twice, as "EVENT_ID" and as "eventId"' }]);
  });

  it.each<[string, string | null, string, unknown[]]>([
    ['org from the partner source', null, 'aws.partner/okta.com/dev-123456/okta-logs', []],
    ['config overrides the source', 'airkit-org-1', 'aws.partner/okta.com/dev-123456/okta-logs', []],
    ['config with a non-Okta source', 'airkit-org-1', 'com.example.custom', []],
    [
      'no config and a non-Okta source',
      null,
      'com.example.custom',
      [{ field: 'ORGANIZATION_ID', message: expect.stringMatching(/^is required for Okta events/) as unknown }],
    ],
  ])('Okta detail: %s', (_name, organizationId, source, errors) => {
    const record = { ...fixture('eventbridge-login-success.json'), source };
    const mapped = only(mapRecord(schema, record, { organizationId }));
    expect(mapped.shape).toBe('eventbridge');
    expect(mapped.path).toBe('detail');
    expect(mapped.unknownKeys).toEqual([]);
    expect(mapped.errors).toEqual(errors);
    const org = organizationId ?? (errors.length === 0 ? 'dev-123456' : undefined);
    expect(fields(mapped)).toEqual({
      ...(org === undefined ? {} : { ORGANIZATION_ID: org }),
      EVENT_ID: 'dc9fd3c0-598c-11ef-8478-2b7584bf8d5a',
      EVENT_TIME: '2026-03-14T09:26:53.589Z',
      EVENT_TYPE: 'user_login',
      USER_ID: '00u1qw1mqitPHM8AJ0g7',
      EMAIL: 'jane.doe@example.com',
      LOGIN_TYPE: 'OKTA_AUTHENTICATION_PROVIDER',
      SERVICE: 'okta',
    });
  });

  it.each<[string, Record<string, unknown>]>([
    ['no detail-type', { version: '0', id: 'i', source: 's', detail: { EVENT_ID: 'e' } }],
    ['detail an array', { 'detail-type': 'd', source: 's', detail: [{ EVENT_ID: 'e' }] }],
    ['detail null', { 'detail-type': 'd', source: 's', detail: null }],
    ['detail a string', { 'detail-type': 'd', source: 's', detail: '{"EVENT_ID":"e"}' }],
    ['source not a string', { 'detail-type': 'd', source: 1, detail: { EVENT_ID: 'e' } }],
  ])('not an envelope: %s', (_name, record) => {
    expect(isEventBridgeEnvelope(record, schema)).toBe(false);
    const mapped = only(mapRecord(schema, record, noOrg));
    expect(mapped.shape).not.toBe('eventbridge');
    expect(mapped.path).toBe('');
    expect(mapped.unknownKeys).toContain('detail');
  });
});

describe('Okta LogEvents and event hooks', () => {
  it.each([
    ['login-success.json', 'user_login', undefined],
    ['login-failure.json', 'invalid_login', undefined],
    ['password-change.json', 'password_change', 'User'],
    ['api-token-create.json', 'new_api_key', 'Token'],
  ])('bare %s → %s', (name, eventType, resourceType) => {
    const mapped = only(mapRecord(schema, fixture(name), withOrg));
    expect(mapped.shape).toBe('okta');
    expect(mapped.path).toBe('');
    expect(mapped.errors).toEqual([]);
    expect(mapped.unknownKeys).toEqual([]);
    expect(fields(mapped)).toMatchObject({ ORGANIZATION_ID: 'airkit-org-1', EVENT_TYPE: eventType, SERVICE: 'okta' });
    expect(fields(mapped).RESOURCE_TYPE).toBe(resourceType);
  });

  it('a bare LogEvent without a configured org is an error', () => {
    const mapped = only(mapRecord(schema, fixture('login-success.json'), noOrg));
    expect(mapped.errors.map((e) => e.field)).toEqual(['ORGANIZATION_ID']);
    expect(fields(mapped).ORGANIZATION_ID).toBeUndefined();
  });

  it('a hook delivery yields one record per event, with its path', () => {
    const mapped = mapRecord(schema, fixture('event-hook-two-events.json'), withOrg);
    expect(mapped.map((m) => [m.shape, m.path, m.errors, fields(m).EVENT_ID, fields(m).EVENT_TYPE])).toEqual([
      ['okta', 'data.events[0]', [], '5a3e9f10-e1d4-11ee-b1a8-0f2d3c4b5a69', 'password_change'],
      ['okta', 'data.events[1]', [], '8f4c2d1e-e1e9-11ee-8a5b-3d9e7f6c5b4a', 'new_api_key'],
    ]);
  });

  it.each<[string, unknown]>([
    ['null', null],
    ['a canonical event', { EVENT_ID: 'e' }],
    ['a LogEvent without published', { uuid: 'u', eventType: 'user.session.end' }],
  ])('a hook event that is %s is an error at its path', (_name, bad) => {
    const hook = { eventType: 'com.okta.event_hook', data: { events: [fixture('login-success.json'), bad] } };
    const mapped = mapRecord(schema, hook, withOrg);
    expect(mapped.map((m) => [m.path, m.errors])).toEqual([
      ['data.events[0]', []],
      ['data.events[1]', [{ field: '(record)', message: 'is not an Okta LogEvent (needs uuid, published, eventType)' }]],
    ]);
  });

  it('a hook delivery with no events yields no records', () => {
    expect(mapRecord(schema, { eventType: 'com.okta.event_hook', data: { events: [] } }, withOrg)).toEqual([]);
  });
});

describe('non-object records', () => {
  it.each<[unknown, string]>([
    [null, 'must be a JSON object, got null'],
    [42, 'must be a JSON object, got a number'],
    ['{"EVENT_ID":"e"}', 'must be a JSON object, got a string'],
    [true, 'must be a JSON object, got a boolean'],
    [[{ EVENT_ID: 'e' }], 'must be a JSON object, got an array'],
    [[], 'must be a JSON object, got an array'],
  ])('%j', (record, message) => {
    const mapped = only(mapRecord(schema, record, withOrg));
    expect(mapped.errors).toEqual([{ field: '(record)', message }]);
    expect(mapped.path).toBe('');
    expect(fields(mapped)).toEqual({});
  });
});
