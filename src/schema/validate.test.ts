import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { buildSchema, defaultSchemaPath, loadSchema } from './schema.js';
import { createValidator, type Validated, type ValidatorOptions, type ValidRow } from './validate.js';

const schema = loadSchema();
/** The clock every validator here reads, unless a test gives its own: 2026-06-01T12:00:00Z. */
const now = () => Date.UTC(2026, 5, 1, 12);
const options: ValidatorOptions = {
  strictEventTypes: false,
  maxStringLength: 64,
  eventTime: { min: '0001-01-01T00:00:00Z', maxAheadMs: 86_400_000 },
  now,
};
const lenient = createValidator(schema, options);
const strict = createValidator(schema, { ...options, strictEventTypes: true });

/** Builds a raw input array (by column index) from column names. */
function raw(fields: Record<string, unknown>): unknown[] {
  const out: unknown[] = new Array(schema.columns.length);
  for (const [name, value] of Object.entries(fields)) out[schema.column(name).index] = value;
  return out;
}

const base = {
  ORGANIZATION_ID: 'org-1',
  EVENT_ID: 'evt-1',
  EVENT_TIME: '2026-03-14T09:26:53.589Z',
  EVENT_TYPE: 'user_login',
};

function valueOf(row: ValidRow, name: string): unknown {
  return row.values[schema.column(name).index];
}

function okRow(result: Validated): ValidRow {
  if (!result.ok) throw new Error(`expected ok, got ${JSON.stringify(result.errors)}`);
  return result.row;
}

function errorsOf(result: Validated): { field: string; message: string }[] {
  if (result.ok) throw new Error('expected errors, got a row');
  return result.errors;
}

describe('derivation of EVENT_YEAR / EVENT_MONTH / EVENT_DATE from EVENT_TIME (UTC)', () => {
  it.each<[string, unknown, number, string, string, string]>([
    ['Z', '2026-03-14T09:26:53.589Z', 2026, '2026-03-01', '2026-03-14', '2026-03-14 09:26:53.589'],
    ['no zone', '2026-03-14 09:26:53', 2026, '2026-03-01', '2026-03-14', '2026-03-14 09:26:53.000'],
    ['negative offset past midnight', '2026-03-14T23:30:00-02:00', 2026, '2026-03-01', '2026-03-15', '2026-03-15 01:30:00.000'],
    ['positive offset before midnight', '2026-03-15T01:30:00+03:00', 2026, '2026-03-01', '2026-03-14', '2026-03-14 22:30:00.000'],
    ['offset across a month boundary', '2026-03-31T22:00:00-05:00', 2026, '2026-04-01', '2026-04-01', '2026-04-01 03:00:00.000'],
    ['offset across a year boundary', '2026-01-01T00:30:00+01:00', 2025, '2025-12-01', '2025-12-31', '2025-12-31 23:30:00.000'],
    ['offset into the next year', '2025-12-31T20:00:00-0500', 2026, '2026-01-01', '2026-01-01', '2026-01-01 01:00:00.000'],
    ['leap day', '2024-02-29T12:00:00Z', 2024, '2024-02-01', '2024-02-29', '2024-02-29 12:00:00.000'],
    ['nanoseconds truncated', '2026-03-14T09:26:53.123456789Z', 2026, '2026-03-01', '2026-03-14', '2026-03-14 09:26:53.123'],
    ['epoch ms', 1773480413589, 2026, '2026-03-01', '2026-03-14', '2026-03-14 09:26:53.589'],
    ['small year', '0042-07-04T00:00:00Z', 42, '0042-07-01', '0042-07-04', '0042-07-04 00:00:00.000'],
  ])('%s: %j', (_name, time, year, month, date, formatted) => {
    const row = okRow(lenient.validate(raw({ ...base, EVENT_TIME: time })));
    expect(valueOf(row, 'EVENT_YEAR')).toBe(year);
    expect(valueOf(row, 'EVENT_MONTH')).toBe(month);
    expect(valueOf(row, 'EVENT_DATE')).toBe(date);
    expect(valueOf(row, 'EVENT_TIME')).toBe(formatted);
    expect(row.dt).toBe(date);
  });
});

describe('derived columns given by the producer', () => {
  const time = '2026-03-14T23:30:00-02:00'; // 2026-03-15 01:30 UTC
  it.each<[string, Record<string, unknown>]>([
    ['all three consistent', { EVENT_YEAR: 2026, EVENT_MONTH: '2026-03-01', EVENT_DATE: '2026-03-15' }],
    ['year as a numeric string', { EVENT_YEAR: '2026' }],
    ['only the date', { EVENT_DATE: '2026-03-15' }],
    ['only the month', { EVENT_MONTH: '2026-03-01' }],
    ['null counts as absent', { EVENT_YEAR: null, EVENT_MONTH: null, EVENT_DATE: null }],
  ])('accepts %s', (_name, extra) => {
    const row = okRow(lenient.validate(raw({ ...base, EVENT_TIME: time, ...extra })));
    expect([valueOf(row, 'EVENT_YEAR'), valueOf(row, 'EVENT_MONTH'), valueOf(row, 'EVENT_DATE')]).toEqual([
      2026, '2026-03-01', '2026-03-15',
    ]);
  });

  it.each<[string, Record<string, unknown>, string, string]>([
    ['date in the producer\'s zone', { EVENT_DATE: '2026-03-14' }, 'EVENT_DATE', '"2026-03-14" does not match EVENT_TIME (expected "2026-03-15")'],
    ['month not on day 01', { EVENT_MONTH: '2026-03-15' }, 'EVENT_MONTH', '"2026-03-15" does not match EVENT_TIME (expected "2026-03-01")'],
    ['other month', { EVENT_MONTH: '2026-02-01' }, 'EVENT_MONTH', '"2026-02-01" does not match EVENT_TIME (expected "2026-03-01")'],
    ['other year', { EVENT_YEAR: 2025 }, 'EVENT_YEAR', '2025 does not match EVENT_TIME (expected 2026)'],
    ['other year as a string', { EVENT_YEAR: '2027' }, 'EVENT_YEAR', '2027 does not match EVENT_TIME (expected 2026)'],
  ])('rejects %s, naming the field', (_name, extra, field, message) => {
    expect(errorsOf(lenient.validate(raw({ ...base, EVENT_TIME: time, ...extra })))).toEqual([{ field, message }]);
  });

  it.each<[string, Record<string, unknown>, string, RegExp]>([
    ['a year that is not an integer', { EVENT_YEAR: 2026.5 }, 'EVENT_YEAR', /must be an integer/],
    ['a date that is not a calendar day', { EVENT_DATE: '2026-02-30' }, 'EVENT_DATE', /not a calendar date/],
    ['a month with a time', { EVENT_MONTH: '2026-03-01T00:00:00Z' }, 'EVENT_MONTH', /not a date YYYY-MM-DD/],
  ])('reports %s once, without a consistency error', (_name, extra, field, message) => {
    const errors = errorsOf(lenient.validate(raw({ ...base, EVENT_TIME: time, ...extra })));
    expect(errors).toHaveLength(1);
    expect(errors[0]?.field).toBe(field);
    expect(errors[0]?.message).toMatch(message);
  });

  it('derives nothing and checks nothing when EVENT_TIME is invalid', () => {
    const errors = errorsOf(lenient.validate(raw({ ...base, EVENT_TIME: '2026-02-30T00:00:00Z', EVENT_DATE: '1999-01-01' })));
    expect(errors).toEqual([{ field: 'EVENT_TIME', message: '"2026-02-30T00:00:00Z" has no day 30' }]);
  });
});

describe('plausible event times (ingest.eventTime)', () => {
  const defaults = createValidator(schema, { ...options, eventTime: { min: '2000-01-01T00:00:00Z', maxAheadMs: 86_400_000 } });

  it.each<[string, unknown, string]>([
    ['the minimum', '2000-01-01T00:00:00Z', '2000-01-01 00:00:00.000'],
    ['now + maxAheadMs exactly', '2026-06-02T12:00:00Z', '2026-06-02 12:00:00.000'],
    ['epoch ms of 2026', 1773480413589, '2026-03-14 09:26:53.589'],
    ['a leap second, clamped', '2016-12-31T23:59:60Z', '2016-12-31 23:59:59.999'],
  ])('accepts %s', (_name, time, stored) => {
    expect(valueOf(okRow(defaults.validate(raw({ ...base, EVENT_TIME: time }))), 'EVENT_TIME')).toBe(stored);
  });

  it.each<[string, unknown, string]>([
    [
      'epoch seconds',
      1710408413,
      '1710408413 (epoch milliseconds) is 1970-01-20T19:06:48.413Z, before ingest.eventTime.min 2000-01-01T00:00:00.000Z; ' +
        'it looks like epoch seconds (1710408413 s = 2024-03-14T09:26:53.000Z)',
    ],
    [
      'epoch microseconds',
      1710408413589123,
      '1710408413589123 (epoch milliseconds) is beyond year 9999, later than now + ingest.eventTime.maxAheadMs (2026-06-02T12:00:00.000Z); ' +
        'it looks like epoch microseconds (1710408413589123 µs = 2024-03-14T09:26:53.589Z)',
    ],
    ['a 1970 ISO time', '1970-01-01T00:00:00Z', '"1970-01-01T00:00:00Z" is 1970-01-01T00:00:00.000Z, before ingest.eventTime.min 2000-01-01T00:00:00.000Z'],
    [
      'one ms past now + maxAheadMs',
      '2026-06-02T12:00:00.001Z',
      '"2026-06-02T12:00:00.001Z" is 2026-06-02T12:00:00.001Z, later than now + ingest.eventTime.maxAheadMs (2026-06-02T12:00:00.000Z)',
    ],
  ])('refuses %s, deriving nothing', (_name, time, message) => {
    expect(errorsOf(defaults.validate(raw({ ...base, EVENT_TIME: time, EVENT_DATE: '1970-01-20' })))).toEqual([{ field: 'EVENT_TIME', message }]);
  });

  it('reads the clock for each record', () => {
    let clock = Date.UTC(2026, 2, 20, 12);
    const moving = createValidator(schema, { ...options, now: () => clock });
    const time = '2026-03-22T12:00:00Z';
    expect(moving.validate(raw({ ...base, EVENT_TIME: time })).ok).toBe(false);
    clock += 86_400_000;
    expect(moving.validate(raw({ ...base, EVENT_TIME: time })).ok).toBe(true);
  });

  it('with maxAheadMs 0, refuses one ms after now', () => {
    const none = createValidator(schema, { ...options, eventTime: { min: '2000-01-01T00:00:00Z', maxAheadMs: 0 } });
    expect(none.validate(raw({ ...base, EVENT_TIME: now() })).ok).toBe(true);
    expect(errorsOf(none.validate(raw({ ...base, EVENT_TIME: now() + 1 })))[0]?.message).toMatch(/later than now \+ ingest\.eventTime\.maxAheadMs \(2026-06-01T12:00:00\.000Z\)$/);
  });

  it('applies to every TIMESTAMPNTZ column, not only EVENT_TIME', () => {
    const file = JSON.parse(readFileSync(defaultSchemaPath, 'utf8')) as { columns: unknown[] };
    file.columns.push({ name: 'RECEIVED_TIME', type: 'TIMESTAMPNTZ', required: false, description: 'A second timestamp.' });
    const extended = buildSchema(file);
    const validator = createValidator(extended, { ...options, eventTime: { min: '2000-01-01T00:00:00Z', maxAheadMs: 0 } });
    const input: unknown[] = new Array(extended.columns.length);
    for (const [name, value] of Object.entries({ ...base, RECEIVED_TIME: 1710408413 })) input[extended.column(name).index] = value;
    const errors = errorsOf(validator.validate(input));
    expect(errors).toEqual([{ field: 'RECEIVED_TIME', message: expect.stringContaining('it looks like epoch seconds') }]);
  });

  it('refuses an ingest.eventTime.min that is not a timestamp, naming the key', () => {
    expect(() => createValidator(schema, { ...options, eventTime: { min: 'yesterday', maxAheadMs: 0 } })).toThrow(
      /build validator: ingest\.eventTime\.min "yesterday" is not an ISO-8601 timestamp/,
    );
  });
});

describe('required fields', () => {
  const required = ['ORGANIZATION_ID', 'EVENT_ID', 'EVENT_TIME', 'EVENT_TYPE'];
  it.each(required)('%s missing → "is required"', (field) => {
    const fields: Record<string, unknown> = { ...base };
    delete fields[field];
    expect(errorsOf(lenient.validate(raw(fields)))).toEqual([{ field, message: 'is required' }]);
  });

  it.each(required)('%s null → "is required"', (field) => {
    expect(errorsOf(lenient.validate(raw({ ...base, [field]: null })))).toEqual([{ field, message: 'is required' }]);
  });

  it.each(['ORGANIZATION_ID', 'EVENT_ID', 'EVENT_TYPE'])('%s empty string → "must not be empty"', (field) => {
    expect(errorsOf(lenient.validate(raw({ ...base, [field]: '' })))).toEqual([{ field, message: 'must not be empty' }]);
  });

  it.each(['ORGANIZATION_ID', 'EVENT_ID', 'EVENT_TYPE'])('%s blank string → "must not be blank"', (field) => {
    expect(errorsOf(lenient.validate(raw({ ...base, [field]: ' \t ' })))).toEqual([{ field, message: 'must not be blank' }]);
  });

  it('keeps a blank optional string as it is', () => {
    const result = lenient.validate(raw({ ...base, DOMAIN: '  ' }));
    expect(result.ok && result.row.values[schema.column('DOMAIN').index]).toBe('  ');
  });

  it('EVENT_TIME empty string is not a timestamp', () => {
    expect(errorsOf(lenient.validate(raw({ ...base, EVENT_TIME: '' })))).toEqual([
      { field: 'EVENT_TIME', message: '"" is not an ISO-8601 timestamp (expected e.g. 2026-03-14T09:26:53.589Z)' },
    ]);
  });

  it('lists every missing required field, in schema order', () => {
    expect(errorsOf(lenient.validate(raw({})))).toEqual(required.map((field) => ({ field, message: 'is required' })));
  });

  it.each([['USER_ID', ''], ['EMAIL', ''], ['SERVICE', '']])('optional %s keeps the empty string', (field, value) => {
    expect(valueOf(okRow(lenient.validate(raw({ ...base, [field]: value }))), field)).toBe('');
  });
});

describe('VARCHAR columns', () => {
  it.each<[string, unknown, unknown]>([
    ['EVENT_ID', 12345, '12345'],
    ['SAVEPOINT_REVISION', 7, '7'],
    ['APP_ID', true, 'true'],
    ['EMAIL', 'jane@example.com', 'jane@example.com'],
  ])('%s %j → %j', (field, input, expected) => {
    expect(valueOf(okRow(lenient.validate(raw({ ...base, [field]: input }))), field)).toBe(expected);
  });

  it.each<[string, unknown, string]>([
    ['USER_ID', { id: 'u' }, 'must be a string, got an object'],
    ['RESOURCE_ID', ['a'], 'must be a string, got an array'],
    ['DOMAIN', 'd'.repeat(65), 'is 65 characters long, more than the limit of 64'],
    ['ROLE_ID', 'r\uD800', 'contains an unpaired UTF-16 surrogate, which is not valid Unicode'],
  ])('%s %s is rejected', (field, input, message) => {
    expect(errorsOf(lenient.validate(raw({ ...base, [field]: input })))).toEqual([{ field, message }]);
  });
});

describe('event types', () => {
  it('accepts a known type, not flagged', () => {
    expect(okRow(lenient.validate(raw(base))).unknownEventType).toBe(false);
    expect(okRow(strict.validate(raw(base))).unknownEventType).toBe(false);
  });

  it.each(['user.session.start', 'User_Login', 'brand_new_type'])('accepts unknown %s by default, flagged', (type) => {
    const row = okRow(lenient.validate(raw({ ...base, EVENT_TYPE: type })));
    expect(row.unknownEventType).toBe(true);
    expect(valueOf(row, 'EVENT_TYPE')).toBe(type);
  });

  it.each(['user.session.start', 'User_Login', 'brand_new_type'])('rejects unknown %s with strictEventTypes', (type) => {
    const errors = errorsOf(strict.validate(raw({ ...base, EVENT_TYPE: type })));
    const known = [...schema.eventTypes].sort().join(', ');
    expect(errors).toEqual([
      {
        field: 'EVENT_TYPE',
        message: `${JSON.stringify(type)} is not a known event type (strict event types are on); known: ${known}`,
      },
    ]);
    expect(errors[0]?.message).toContain('app_created, app_deployed, app_undeployed');
  });

  it.each([...schema.eventTypes])('strict accepts %s', (type) => {
    expect(strict.validate(raw({ ...base, EVENT_TYPE: type })).ok).toBe(true);
  });
});

describe('row and toJson', () => {
  const names = schema.columns.map((c) => c.name);

  it('returns eventId and dt, and the exact canonical JSON for a minimal record', () => {
    const row = okRow(lenient.validate(raw({ ...base, EVENT_TIME: '2026-03-14T23:30:00-02:00' })));
    expect(row.eventId).toBe('evt-1');
    expect(row.dt).toBe('2026-03-15');
    expect(row.dt).toBe(valueOf(row, 'EVENT_DATE'));
    expect(lenient.toJson(row.values)).toBe(
      '{"ORGANIZATION_ID":"org-1","EVENT_ID":"evt-1","EVENT_YEAR":2026,"EVENT_MONTH":"2026-03-01",' +
        '"EVENT_DATE":"2026-03-15","EVENT_TIME":"2026-03-15 01:30:00.000","ROOT_SCOPE_USER_ID":null,' +
        '"USER_ID":null,"EMAIL":null,"APP_ID":null,"BRANCH_ID":null,"DEPLOY_ID":null,"SAVEPOINT_ID":null,' +
        '"SAVEPOINT_REVISION":null,"RESOURCE_TYPE":null,"RESOURCE_ID":null,"DOMAIN":null,"DATASTORE_ID":null,' +
        '"API_KEY_ID":null,"NOTIFIER_ID":null,"SAML_ID":null,"WEBHOOK_ID":null,"ADAPTER_ID":null,"EMBED_ID":null,' +
        '"ROLE_ID":null,"SERVICE":null,"SERVICE_REVISION":null,"LOGIN_TYPE":null,"EVENT_TYPE":"user_login"}',
    );
  });

  it('puts all 29 keys in schema order, with every value set', () => {
    const fields: Record<string, unknown> = {};
    for (const name of names) fields[name] = `v-${name.toLowerCase()}`;
    Object.assign(fields, base, { EVENT_YEAR: undefined, EVENT_MONTH: undefined, EVENT_DATE: undefined });
    const row = okRow(lenient.validate(raw(fields)));
    const json = lenient.toJson(row.values);
    const parsed = JSON.parse(json) as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual(names);
    expect(Object.keys(parsed)).toHaveLength(29);
    expect(parsed.APP_ID).toBe('v-app_id');
    expect(parsed.LOGIN_TYPE).toBe('v-login_type');
    expect(parsed.EVENT_YEAR).toBe(2026);
    expect(parsed.EVENT_TIME).toBe('2026-03-14 09:26:53.589');
    expect(Object.values(parsed).some((v) => v === null)).toBe(false);
  });

  it('escapes strings as JSON', () => {
    const row = okRow(lenient.validate(raw({ ...base, EMAIL: 'a"b\\c\n😀' })));
    expect(lenient.toJson(row.values)).toContain('"EMAIL":"a\\"b\\\\c\\n😀"');
    expect((JSON.parse(lenient.toJson(row.values)) as Record<string, unknown>).EMAIL).toBe('a"b\\c\n😀');
  });

  it('writes null for undefined entries in a values array', () => {
    const values = new Array(29).fill(undefined) as null[];
    expect(JSON.parse(lenient.toJson(values))).toEqual(Object.fromEntries(names.map((n) => [n, null])));
  });
});
