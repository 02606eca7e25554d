import { describe, expect, it } from 'vitest';
import { loadSchema } from '../schema/schema.js';
import { defaultEventTime } from '../config/schema.js';
import { contentKey } from '../spool/spool.js';
import { contentDerivedId } from './shapes.js';
import { createPreparer, maxErrors, type PrepareOptions } from './prepare.js';

const schema = loadSchema();
const defaults: PrepareOptions = {
  strictEventTypes: false,
  unknownFields: 'drop',
  maxStringLength: 64,
  organizationId: null,
  eventTime: defaultEventTime,
  now: () => Date.UTC(2026, 5, 1),
};

function preparer(options: Partial<PrepareOptions> = {}) {
  return createPreparer(schema, { ...defaults, ...options });
}

function event(id: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { ORGANIZATION_ID: 'org-1', EVENT_ID: id, EVENT_TIME: '2026-03-14T09:26:53.589Z', EVENT_TYPE: 'user_login', ...extra };
}

const camel = { organizationId: 'org-1', eventId: 'c-1', eventTime: 1773480413589, type: 'app_created', userId: 'u-1' };
const envelope = {
  version: '0', id: 'eb-1', 'detail-type': 'Airkit Audit Event', source: 'com.airkit.audit', account: '123456789012',
  time: '2026-03-15T00:00:01Z', region: 'us-east-1', resources: [], detail: { ORGANIZATION_ID: 'org-2', EVENT_TYPE: 'new_resource' },
};

describe('prepare: accepted batches', () => {
  it('turns each shape into a row, with rowShapes parallel to rows', () => {
    const prepared = preparer().prepare([event('e-1'), camel, envelope]);
    expect(prepared.errors).toEqual([]);
    expect(prepared.errorCount).toBe(0);
    expect(prepared.rows.map((r) => [r.eventId, r.dt])).toEqual([
      ['e-1', '2026-03-14'],
      ['c-1', '2026-03-14'],
      // The envelope id changes with every PutEvents retry; the id comes from the detail instead.
      [contentDerivedId(envelope.detail), '2026-03-15'],
    ]);
    expect(prepared.rowShapes).toEqual(['canonical', 'camelcase', 'eventbridge']);
    expect(JSON.parse(prepared.rows[1]?.body ?? '')).toMatchObject({
      ORGANIZATION_ID: 'org-1', EVENT_ID: 'c-1', EVENT_TIME: '2026-03-14 09:26:53.589', EVENT_TYPE: 'app_created', USER_ID: 'u-1',
    });
    expect(JSON.parse(prepared.rows[2]?.body ?? '')).toMatchObject({
      ORGANIZATION_ID: 'org-2', EVENT_ID: contentDerivedId(envelope.detail), EVENT_TIME: '2026-03-15 00:00:01.000', EVENT_DATE: '2026-03-15',
    });
  });

  it('gives an exact canonical body', () => {
    const [row] = preparer().prepare([event('e-1', { email: 'jane@example.com' })]).rows;
    const expected = Object.fromEntries(schema.columns.map((c) => [c.name, null as unknown]));
    Object.assign(expected, {
      ORGANIZATION_ID: 'org-1', EVENT_ID: 'e-1', EVENT_YEAR: 2026, EVENT_MONTH: '2026-03-01', EVENT_DATE: '2026-03-14',
      EVENT_TIME: '2026-03-14 09:26:53.589', EMAIL: 'jane@example.com', EVENT_TYPE: 'user_login',
    });
    const body = JSON.stringify(expected);
    // The content key is what duplicates are judged by: the mapped record's canonical text.
    expect(row).toEqual({ eventId: 'e-1', eventMs: Date.UTC(2026, 2, 14, 9, 26, 53, 589), dt: '2026-03-14', body, raw: null, content: contentKey(body) });
  });

  it('accepts an empty batch', () => {
    const prepared = preparer().prepare([]);
    expect(prepared).toEqual({ rows: [], rowShapes: [], errors: [], errorCount: 0, unknownEventTypes: 0, unknownFields: new Map() });
  });
});

describe('prepare: all-or-nothing', () => {
  it.each<[string, unknown[], { index: number; field: string; message: string | RegExp; path?: string }[]]>([
    ['a record missing EVENT_TIME', [event('e-1'), event('e-2', { EVENT_TIME: undefined }), event('e-3')], [
      { index: 1, field: 'EVENT_TIME', message: 'is required' },
    ]],
    ['a bad timestamp in the last record', [event('e-1'), event('e-2', { EVENT_TIME: '2026-02-30T00:00:00Z' })], [
      { index: 1, field: 'EVENT_TIME', message: '"2026-02-30T00:00:00Z" has no day 30' },
    ]],
    ['a key given twice (reported once)', [event('e-1', { eventId: 'other' })], [
      { index: 0, field: 'EVENT_ID', message: 'given twice, as "EVENT_ID" and as "eventId"' },
    ]],
    ['an inconsistent EVENT_DATE', [event('e-1', { EVENT_DATE: '2026-03-13' })], [
      { index: 0, field: 'EVENT_DATE', message: '"2026-03-13" does not match EVENT_TIME (expected "2026-03-14")' },
    ]],
    ['a string over maxStringLength', [event('e-1', { USER_ID: 'u'.repeat(65) })], [
      { index: 0, field: 'USER_ID', message: 'is 65 characters long, more than the limit of 64' },
    ]],
    ['several problems in one record, in schema order', [{ EVENT_ID: '', EVENT_TIME: 'soon' }], [
      { index: 0, field: 'ORGANIZATION_ID', message: 'is required' },
      { index: 0, field: 'EVENT_ID', message: 'must not be empty' },
      { index: 0, field: 'EVENT_TIME', message: /^"soon" is not an ISO-8601 timestamp/ },
      { index: 0, field: 'EVENT_TYPE', message: 'is required' },
    ]],
    ['an Okta event without an org (reported once)', [{ uuid: 'u', published: '2026-03-14T00:00:00Z', eventType: 'user.session.end' }], [
      { index: 0, field: 'ORGANIZATION_ID', message: /^is required for Okta events/ },
    ]],
    ['an EventBridge detail missing its org', [envelope, { ...envelope, detail: { EVENT_TYPE: 'x' } }], [
      { index: 1, path: 'detail', field: 'ORGANIZATION_ID', message: 'is required' },
    ]],
  ])('%s → nothing stored', (_name, records, expected) => {
    const prepared = preparer().prepare(records);
    expect(prepared.rows).toEqual([]);
    expect(prepared.rowShapes).toEqual([]);
    expect(prepared.errorCount).toBe(expected.length);
    expect(prepared.errors).toHaveLength(expected.length);
    prepared.errors.forEach((error, i) => {
      const want = expected[i];
      expect({ index: error.index, path: error.path, field: error.field }).toEqual({
        index: want?.index, path: want?.path, field: want?.field,
      });
      if (want?.message instanceof RegExp) expect(error.message).toMatch(want.message);
      else expect(error.message).toBe(want?.message);
    });
  });

  it('numbers records from firstIndex', () => {
    const prepared = preparer().prepare([event('e-1'), event('e-2', { EVENT_TYPE: null })], 500);
    expect(prepared.errors).toEqual([{ index: 501, field: 'EVENT_TYPE', message: 'is required' }]);
  });

  it.each<[string, unknown, string, string]>([
    ['a non-object record', 'oops', '', 'must be a JSON object, got a string'],
    ['a bad event in a hook delivery', { eventType: 'com.okta.event_hook', data: { events: [5] } }, 'data.events[0]', 'is not an Okta LogEvent (needs uuid, published, eventType)'],
  ])('%s is rejected, its first error saying why', (_name, record, path, message) => {
    const prepared = preparer({ organizationId: 'org-1' }).prepare([event('e-1'), record]);
    expect(prepared.rows).toEqual([]);
    expect(prepared.errors[0]).toEqual({ index: 1, ...(path === '' ? {} : { path }), field: '(record)', message });
  });

  // Source bug (prepare.ts): a record that is not an object (or a hook event that is not a LogEvent) is
  // still run through the validator, so its one "(record)" error is followed by four spurious
  // "is required" errors (ORGANIZATION_ID, EVENT_ID, EVENT_TIME, EVENT_TYPE), and errorCount is 5 per record.
  it('a non-object record gives exactly one error', () => {
    const prepared = preparer().prepare([event('e-1'), null]);
    expect(prepared.errors).toEqual([{ index: 1, field: '(record)', message: 'must be a JSON object, got null' }]);
    expect(prepared.errorCount).toBe(1);
  });

  it('a hook event that is not a LogEvent gives exactly one error', () => {
    const prepared = preparer({ organizationId: 'org-1' }).prepare([{ eventType: 'com.okta.event_hook', data: { events: [{}] } }]);
    expect(prepared.errors).toEqual([
      { index: 0, path: 'data.events[0]', field: '(record)', message: 'is not an Okta LogEvent (needs uuid, published, eventType)' },
    ]);
    expect(prepared.errorCount).toBe(1);
  });

  it('omits path for records at the top level', () => {
    const [error] = preparer().prepare([{}]).errors;
    expect(error).toEqual({ index: 0, field: 'ORGANIZATION_ID', message: 'is required' });
    expect(Object.hasOwn(error ?? {}, 'path')).toBe(false);
  });
});

describe('prepare: error cap', () => {
  it('lists at most maxErrors errors and counts them all', () => {
    expect(maxErrors).toBe(100);
    const records = Array.from({ length: 150 }, (_, i) => event(`e-${i}`, i === 0 ? {} : { EVENT_TIME: undefined }));
    const prepared = preparer().prepare(records);
    expect(prepared.errorCount).toBe(149);
    expect(prepared.errors).toHaveLength(100);
    expect(prepared.errors[0]).toEqual({ index: 1, field: 'EVENT_TIME', message: 'is required' });
    expect(prepared.errors[99]).toEqual({ index: 100, field: 'EVENT_TIME', message: 'is required' });
    expect(prepared.rows).toEqual([]);
  });

  it('counts every field error of every record', () => {
    const prepared = preparer().prepare(Array.from({ length: 30 }, () => ({})));
    expect(prepared.errorCount).toBe(120); // 4 required fields × 30 records
    expect(prepared.errors).toHaveLength(100);
    expect(prepared.errors[99]).toEqual({ index: 24, field: 'EVENT_TYPE', message: 'is required' });
  });

  it('exactly maxErrors errors are all listed', () => {
    const prepared = preparer().prepare(Array.from({ length: 100 }, (_, i) => event(`e-${i}`, { EVENT_ID: '' })));
    expect(prepared.errorCount).toBe(100);
    expect(prepared.errors).toHaveLength(100);
  });
});

describe('prepare: unknown fields', () => {
  const records = [
    event('e-1', { foo: 1, bar: 2 }),
    event('e-2', { foo: 3, __proto__x: 4 }),
    { ...envelope, detail: { ...envelope.detail, foo: 5 } },
  ];

  it('drop: rows kept, each name counted', () => {
    const prepared = preparer({ unknownFields: 'drop' }).prepare(records);
    expect(prepared.errors).toEqual([]);
    expect(prepared.rows).toHaveLength(3);
    expect([...prepared.unknownFields]).toEqual([['foo', 3], ['bar', 1], ['__proto__x', 1]]);
    expect(prepared.rows[0]?.body).not.toContain('foo');
  });

  it('drop: counts a __proto__ key from JSON.parse', () => {
    const prepared = preparer().prepare([JSON.parse('{"__proto__":{"a":1},"EVENT_ID":"e","ORGANIZATION_ID":"o","EVENT_TIME":1773480413589,"EVENT_TYPE":"user_login"}')]);
    expect(prepared.errors).toEqual([]);
    expect([...prepared.unknownFields]).toEqual([['__proto__', 1]]);
  });

  it('reject: each unknown key is an error naming it; nothing stored, nothing counted', () => {
    const prepared = preparer({ unknownFields: 'reject' }).prepare(records);
    const message = 'matches no column (ingest.unknownFields is reject)';
    expect(prepared.errors).toEqual([
      { index: 0, field: 'foo', message },
      { index: 0, field: 'bar', message },
      { index: 1, field: 'foo', message },
      { index: 1, field: '__proto__x', message },
      { index: 2, path: 'detail', field: 'foo', message },
    ]);
    expect(prepared.errorCount).toBe(5);
    expect(prepared.rows).toEqual([]);
    expect(prepared.rowShapes).toEqual([]);
    expect([...prepared.unknownFields]).toEqual([]);
  });

  it('reject: envelope keys and Okta fields are not unknown', () => {
    const okta = { uuid: 'u', published: '2026-03-14T00:00:00Z', eventType: 'user.session.end', actor: { id: 'a' }, client: {} };
    const prepared = preparer({ unknownFields: 'reject', organizationId: 'org-1' }).prepare([envelope, okta]);
    expect(prepared.errors).toEqual([]);
    expect(prepared.rowShapes).toEqual(['eventbridge', 'okta']);
  });
});

describe('prepare: event types', () => {
  it.each<[string, string[], number]>([
    ['none unknown', ['user_login', 'app_created'], 0],
    ['one unknown', ['user_login', 'user.session.start'], 1],
    ['all unknown, repeated', ['x', 'x', 'y'], 3],
  ])('counts unknown event types: %s', (_name, types, count) => {
    const prepared = preparer().prepare(types.map((t, i) => event(`e-${i}`, { EVENT_TYPE: t })));
    expect(prepared.errors).toEqual([]);
    expect(prepared.rows).toHaveLength(types.length);
    expect(prepared.unknownEventTypes).toBe(count);
  });

  it('strictEventTypes rejects the whole batch', () => {
    const prepared = preparer({ strictEventTypes: true }).prepare([event('e-1'), event('e-2', { EVENT_TYPE: 'x' })]);
    expect(prepared.rows).toEqual([]);
    expect(prepared.errors).toHaveLength(1);
    expect(prepared.errors[0]).toMatchObject({ index: 1, field: 'EVENT_TYPE' });
    expect(prepared.errors[0]?.message).toMatch(/^"x" is not a known event type \(strict event types are on\); known: app_created, /);
    expect(prepared.unknownEventTypes).toBe(0);
  });
});
