import { describe, expect, it } from 'vitest';
import {
  dateParts,
  formatTimestamp,
  isProblem,
  parseDate,
  parseInteger,
  parseString,
  parseTimestamp,
} from './coerce.js';

/** Epoch ms of a UTC instant given as Date.UTC arguments (month is 1-based here). */
function utc(y: number, mo: number, d: number, h = 0, mi = 0, s = 0, ms = 0): number {
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  date.setUTCHours(h, mi, s, ms);
  return date.getTime();
}

describe('parseTimestamp accepts', () => {
  it.each<[string, unknown, number]>([
    ['Z with milliseconds', '2026-03-14T09:26:53.589Z', utc(2026, 3, 14, 9, 26, 53, 589)],
    ['lowercase z and t', '2026-03-14t09:26:53.589z', utc(2026, 3, 14, 9, 26, 53, 589)],
    ['Z without fraction', '2026-03-14T09:26:53Z', utc(2026, 3, 14, 9, 26, 53)],
    ['no zone is UTC', '2026-03-14T09:26:53.589', utc(2026, 3, 14, 9, 26, 53, 589)],
    ['space separator', '2026-03-14 09:26:53.589', utc(2026, 3, 14, 9, 26, 53, 589)],
    ['space separator with Z', '2026-03-14 09:26:53Z', utc(2026, 3, 14, 9, 26, 53)],
    ['minutes only', '2026-03-14T09:26Z', utc(2026, 3, 14, 9, 26)],
    ['+hh:mm offset', '2026-03-14T09:26:53.589+05:30', utc(2026, 3, 14, 3, 56, 53, 589)],
    ['-hhmm offset', '2026-03-14T09:26:53.589-0700', utc(2026, 3, 14, 16, 26, 53, 589)],
    ['+hh offset', '2026-03-14T09:26:53+02', utc(2026, 3, 14, 7, 26, 53)],
    ['-hh offset', '2026-03-14T09:26:53-02', utc(2026, 3, 14, 11, 26, 53)],
    ['+00:00 offset', '2026-03-14T09:26:53+00:00', utc(2026, 3, 14, 9, 26, 53)],
    ['-00:00 offset', '2026-03-14T09:26:53-00:00', utc(2026, 3, 14, 9, 26, 53)],
    ['+23:59 offset', '2026-03-14T09:26:53+23:59', utc(2026, 3, 13, 9, 27, 53)],
    ['offset moving the date back across midnight', '2026-03-15T01:30:00+03:00', utc(2026, 3, 14, 22, 30)],
    ['offset moving the date forward across midnight', '2026-03-14T23:30:00-02:00', utc(2026, 3, 15, 1, 30)],
    ['offset moving across a year boundary', '2026-01-01T00:30:00+01:00', utc(2025, 12, 31, 23, 30)],
    ['one fraction digit', '2026-03-14T09:26:53.5Z', utc(2026, 3, 14, 9, 26, 53, 500)],
    ['two fraction digits', '2026-03-14T09:26:53.12Z', utc(2026, 3, 14, 9, 26, 53, 120)],
    ['microseconds truncated', '2026-03-14T09:26:53.123999Z', utc(2026, 3, 14, 9, 26, 53, 123)],
    ['nanoseconds truncated', '2026-03-14T09:26:53.123456789Z', utc(2026, 3, 14, 9, 26, 53, 123)],
    ['.999999999 truncated, not rounded', '2026-12-31T23:59:59.999999999Z', utc(2026, 12, 31, 23, 59, 59, 999)],
    ['comma as decimal mark', '2026-03-14T09:26:53,25Z', utc(2026, 3, 14, 9, 26, 53, 250)],
    ['leap day of a leap year', '2024-02-29T12:00:00Z', utc(2024, 2, 29, 12)],
    ['leap day of 2000', '2000-02-29T00:00:00Z', utc(2000, 2, 29)],
    ['31 January', '2026-01-31T00:00:00Z', utc(2026, 1, 31)],
    ['end of day', '2026-03-14T23:59:59.999Z', utc(2026, 3, 14, 23, 59, 59, 999)],
    ['year 0001', '0001-01-01T00:00:00.000Z', -62135596800000],
    ['year 0099 (not mapped to 1999)', '0099-06-01T00:00:00Z', utc(99, 6, 1)],
    ['year 9999, last ms', '9999-12-31T23:59:59.999Z', 253402300799999],
    ['epoch ms integer', 1773480413589, 1773480413589],
    ['epoch 0', 0, 0],
    ['negative epoch ms', -86400000, -86400000],
    ['fractional epoch ms truncated', 1773480413589.9, 1773480413589],
    ['fractional epoch ms below 1', 0.75, 0],
    ['smallest epoch ms', -62135596800000, -62135596800000],
    ['largest epoch ms', 253402300799999, 253402300799999],
    ['leap second 23:59:60, clamped to 23:59:59.999', '2016-12-31T23:59:60Z', utc(2016, 12, 31, 23, 59, 59, 999)],
    ['leap second with a fraction, clamped', '2016-12-31T23:59:60.5Z', utc(2016, 12, 31, 23, 59, 59, 999)],
    ['leap second given in another zone', '2017-01-01T00:59:60+01:00', utc(2016, 12, 31, 23, 59, 59, 999)],
    ['leap second without a zone (UTC)', '2016-12-31 23:59:60', utc(2016, 12, 31, 23, 59, 59, 999)],
  ])('%s: %j', (_name, input, expected) => {
    expect(parseTimestamp(input)).toBe(expected);
  });
});

describe('parseTimestamp rejects', () => {
  it.each<[string, unknown, RegExp]>([
    ['30 February', '2026-02-30T00:00:00Z', /has no day 30/],
    ['29 February of a common year', '2025-02-29T00:00:00Z', /has no day 29/],
    ['29 February 1900', '1900-02-29T00:00:00Z', /has no day 29/],
    ['31 April', '2026-04-31T00:00:00Z', /has no day 31/],
    ['day 00', '2026-03-00T00:00:00Z', /has no day 00/],
    ['month 13', '2026-13-01T00:00:00Z', /has month 13/],
    ['month 00', '2026-00-10T00:00:00Z', /has month 00/],
    ['hour 24', '2026-03-14T24:00:00Z', /invalid time of day/],
    ['minute 60', '2026-03-14T09:60:00Z', /invalid time of day/],
    ['second 60 outside 23:59 UTC', '2026-12-31T12:30:60Z', /second 60 is a leap second only at 23:59:60 UTC/],
    ['second 60 at 23:59 local but not UTC', '2026-12-31T23:59:60+01:00', /second 60 is a leap second only at 23:59:60 UTC/],
    ['second 61', '2026-12-31T23:59:61Z', /invalid time of day/],
    ['offset hour 24', '2026-03-14T09:26:53+24:00', /invalid UTC offset/],
    ['offset minute 60', '2026-03-14T09:26:53+05:60', /invalid UTC offset/],
    ['one-digit offset', '2026-03-14T09:26:53+5', /not an ISO-8601 timestamp/],
    ['offset with a dangling colon', '2026-03-14T09:26:53+05:', /not an ISO-8601 timestamp/],
    ['three-digit offset', '2026-03-14T09:26:53+053', /not an ISO-8601 timestamp/],
    ['zone name', '2026-03-14T09:26:53 UTC', /not an ISO-8601 timestamp/],
    ['Z and an offset', '2026-03-14T09:26:53Z+01:00', /not an ISO-8601 timestamp/],
    ['date only', '2026-03-14', /not an ISO-8601 timestamp/],
    ['hour only', '2026-03-14T09', /not an ISO-8601 timestamp/],
    ['ten fraction digits', '2026-03-14T09:26:53.1234567890Z', /not an ISO-8601 timestamp/],
    ['trailing space', '2026-03-14T09:26:53Z ', /not an ISO-8601 timestamp/],
    ['leading space', ' 2026-03-14T09:26:53Z', /not an ISO-8601 timestamp/],
    ['basic format', '20260314T092653Z', /not an ISO-8601 timestamp/],
    ['five-digit year', '+12026-03-14T09:26:53Z', /not an ISO-8601 timestamp/],
    ['RFC 2822 date', 'Sat, 14 Mar 2026 09:26:53 GMT', /not an ISO-8601 timestamp/],
    ['epoch ms as a string', '1773480413589', /not an ISO-8601 timestamp/],
    ['empty string', '', /not an ISO-8601 timestamp/],
    ['year 0000', '0000-06-01T00:00:00Z', /outside years 0001-9999/],
    ['before year 0001 through an offset', '0001-01-01T00:00:00+00:01', /outside years 0001-9999/],
    ['after year 9999 through an offset', '9999-12-31T23:59:59.999-00:01', /outside years 0001-9999/],
    ['epoch ms after 9999', 253402300800000, /outside years 0001-9999/],
    ['epoch ms before 0001', -62135596800001, /outside years 0001-9999/],
    ['NaN', Number.NaN, /finite number/],
    ['Infinity', Number.POSITIVE_INFINITY, /finite number/],
    ['-Infinity', Number.NEGATIVE_INFINITY, /finite number/],
    ['boolean', true, /got a boolean$/],
    ['null', null, /got null$/],
    ['undefined', undefined, /got a undefined$/],
    ['object', { seconds: 1 }, /got an object$/],
    ['array', ['2026-03-14T09:26:53Z'], /got an array$/],
    ['bigint', 1773480413589n, /got a bigint$/],
  ])('%s', (_name, input, message) => {
    const result = parseTimestamp(input);
    expect(isProblem(result)).toBe(true);
    expect((result as { problem: string }).problem).toMatch(message);
  });

  it('quotes the input in the message', () => {
    expect(parseTimestamp('2026-02-30T00:00:00Z')).toEqual({ problem: '"2026-02-30T00:00:00Z" has no day 30' });
  });

  it('shortens a long input in the message', () => {
    const result = parseTimestamp('x'.repeat(200)) as { problem: string };
    expect(result.problem).toBe(`"${'x'.repeat(56)}... is not an ISO-8601 timestamp (expected e.g. 2026-03-14T09:26:53.589Z)`);
  });
});

describe('parseTimestamp with a plausibility range (ingest.eventTime)', () => {
  // min 2000-01-01, now 2026-03-14T12:00:00Z, one day ahead.
  const range = { minMs: utc(2000, 1, 1), maxMs: utc(2026, 3, 15, 12) };

  it.each<[string, unknown, number]>([
    ['the minimum itself', '2000-01-01T00:00:00Z', utc(2000, 1, 1)],
    ['the maximum itself', '2026-03-15T12:00:00Z', utc(2026, 3, 15, 12)],
    ['epoch ms inside', 1773480413589, 1773480413589],
    ['an offset bringing a time inside', '2000-01-01T00:30:00+00:30', utc(2000, 1, 1)],
    ['a leap second inside', '2016-12-31T23:59:60Z', utc(2016, 12, 31, 23, 59, 59, 999)],
  ])('accepts %s', (_name, input, expected) => {
    expect(parseTimestamp(input, range)).toBe(expected);
  });

  it.each<[string, unknown, string]>([
    [
      'epoch seconds',
      1710408413,
      '1710408413 (epoch milliseconds) is 1970-01-20T19:06:48.413Z, before ingest.eventTime.min 2000-01-01T00:00:00.000Z; ' +
        'it looks like epoch seconds (1710408413 s = 2024-03-14T09:26:53.000Z)',
    ],
    [
      'epoch seconds with a fraction',
      1710408413.589,
      '1710408413.589 (epoch milliseconds) is 1970-01-20T19:06:48.413Z, before ingest.eventTime.min 2000-01-01T00:00:00.000Z; ' +
        'it looks like epoch seconds (1710408413.589 s = 2024-03-14T09:26:53.589Z)',
    ],
    [
      'epoch microseconds',
      1710408413589000,
      '1710408413589000 (epoch milliseconds) is beyond year 9999, later than now + ingest.eventTime.maxAheadMs (2026-03-15T12:00:00.000Z); ' +
        'it looks like epoch microseconds (1710408413589000 µs = 2024-03-14T09:26:53.589Z)',
    ],
    [
      'epoch nanoseconds',
      1710408413589000000,
      '1710408413589000000 (epoch milliseconds) is beyond year 9999, later than now + ingest.eventTime.maxAheadMs (2026-03-15T12:00:00.000Z); ' +
        'it looks like epoch nanoseconds (1710408413589000000 ns = 2024-03-14T09:26:53.589Z)',
    ],
    ['epoch 0', 0, '0 (epoch milliseconds) is 1970-01-01T00:00:00.000Z, before ingest.eventTime.min 2000-01-01T00:00:00.000Z'],
    [
      'far negative epoch ms',
      -1e16,
      '-10000000000000000 (epoch milliseconds) is before year 0001, before ingest.eventTime.min 2000-01-01T00:00:00.000Z',
    ],
    [
      'epoch ms a few days ahead',
      utc(2026, 3, 20),
      `${utc(2026, 3, 20)} (epoch milliseconds) is 2026-03-20T00:00:00.000Z, later than now + ingest.eventTime.maxAheadMs (2026-03-15T12:00:00.000Z)`,
    ],
    ['an ISO time in 1970', '1970-01-01T00:00:00Z', '"1970-01-01T00:00:00Z" is 1970-01-01T00:00:00.000Z, before ingest.eventTime.min 2000-01-01T00:00:00.000Z'],
    ['one ms before the minimum', '1999-12-31T23:59:59.999Z', '"1999-12-31T23:59:59.999Z" is 1999-12-31T23:59:59.999Z, before ingest.eventTime.min 2000-01-01T00:00:00.000Z'],
    [
      'an ISO time in 2999',
      '2999-01-01T00:00:00Z',
      '"2999-01-01T00:00:00Z" is 2999-01-01T00:00:00.000Z, later than now + ingest.eventTime.maxAheadMs (2026-03-15T12:00:00.000Z)',
    ],
    [
      'one ms after the maximum, through an offset',
      '2026-03-15T13:00:00.001+01:00',
      '"2026-03-15T13:00:00.001+01:00" is 2026-03-15T12:00:00.001Z, later than now + ingest.eventTime.maxAheadMs (2026-03-15T12:00:00.000Z)',
    ],
    ['year 0000', '0000-06-01T00:00:00Z', '"0000-06-01T00:00:00Z" is before year 0001, before ingest.eventTime.min 2000-01-01T00:00:00.000Z'],
  ])('refuses %s, saying what was seen', (_name, input, message) => {
    expect(parseTimestamp(input, range)).toEqual({ problem: message });
  });

  it('gives no unit hint when no other unit lands in the range', () => {
    // 1e14 as ms is year 5138; as s it is beyond 9999, as µs 1973, as ns 1970: none is in the range.
    expect((parseTimestamp(1e14, range) as { problem: string }).problem).not.toContain('looks like');
  });

  it('checks the calendar before the range', () => {
    expect(parseTimestamp('1970-02-30T00:00:00Z', range)).toEqual({ problem: '"1970-02-30T00:00:00Z" has no day 30' });
  });
});

describe('formatTimestamp', () => {
  it.each<[number, string]>([
    [0, '1970-01-01 00:00:00.000'],
    [utc(2026, 3, 14, 9, 26, 53, 589), '2026-03-14 09:26:53.589'],
    [utc(2026, 3, 14, 9, 26, 53, 5), '2026-03-14 09:26:53.005'],
    [utc(2026, 12, 31, 23, 59, 59, 999), '2026-12-31 23:59:59.999'],
    [-1, '1969-12-31 23:59:59.999'],
    [-62135596800000, '0001-01-01 00:00:00.000'],
    [utc(99, 6, 1, 1, 2, 3, 4), '0099-06-01 01:02:03.004'],
    [utc(999, 12, 31), '0999-12-31 00:00:00.000'],
    [253402300799999, '9999-12-31 23:59:59.999'],
  ])('%d → %s', (ms, expected) => {
    expect(formatTimestamp(ms)).toBe(expected);
  });

  it.each([
    '2026-03-14T09:26:53.589Z',
    '2026-03-14T09:26:53.589+05:30',
    '0042-07-04 12:00:00',
  ])('round-trips %s through parseTimestamp', (input) => {
    const ms = parseTimestamp(input) as number;
    expect(parseTimestamp(formatTimestamp(ms))).toBe(ms);
  });
});

describe('dateParts', () => {
  it.each<[number, { year: number; month: string; date: string }]>([
    [utc(2026, 3, 14, 9, 26, 53, 589), { year: 2026, month: '2026-03-01', date: '2026-03-14' }],
    [utc(2026, 3, 14, 23, 59, 59, 999), { year: 2026, month: '2026-03-01', date: '2026-03-14' }],
    [utc(2026, 3, 15), { year: 2026, month: '2026-03-01', date: '2026-03-15' }],
    [utc(2025, 12, 31, 23, 30), { year: 2025, month: '2025-12-01', date: '2025-12-31' }],
    [utc(2024, 2, 29, 12), { year: 2024, month: '2024-02-01', date: '2024-02-29' }],
    [0, { year: 1970, month: '1970-01-01', date: '1970-01-01' }],
    [-1, { year: 1969, month: '1969-12-01', date: '1969-12-31' }],
    [utc(7, 8, 9), { year: 7, month: '0007-08-01', date: '0007-08-09' }],
    [253402300799999, { year: 9999, month: '9999-12-01', date: '9999-12-31' }],
  ])('%d', (ms, expected) => {
    expect(dateParts(ms)).toEqual(expected);
  });
});

describe('parseDate', () => {
  it.each(['2026-03-14', '2024-02-29', '2000-02-29', '0001-01-01', '9999-12-31', '0004-02-29', '2026-04-30'])(
    'accepts %s as itself',
    (input) => {
      expect(parseDate(input)).toBe(input);
    },
  );

  it.each<[unknown, RegExp]>([
    ['2026-02-30', /is not a calendar date/],
    ['2025-02-29', /is not a calendar date/],
    ['1900-02-29', /is not a calendar date/],
    ['0001-02-29', /is not a calendar date/],
    ['2026-04-31', /is not a calendar date/],
    ['2026-13-01', /is not a calendar date/],
    ['2026-00-01', /is not a calendar date/],
    ['2026-03-00', /is not a calendar date/],
    ['0000-01-01', /is not a calendar date/],
    ['2026-3-14', /is not a date YYYY-MM-DD/],
    ['2026/03/14', /is not a date YYYY-MM-DD/],
    ['20260314', /is not a date YYYY-MM-DD/],
    ['2026-03-14T00:00:00Z', /is not a date YYYY-MM-DD/],
    ['2026-03-14 ', /is not a date YYYY-MM-DD/],
    ['', /is not a date YYYY-MM-DD/],
    [20260314, /got a number$/],
    [null, /got null$/],
    [{}, /got an object$/],
    [['2026-03-14'], /got an array$/],
  ])('rejects %j', (input, message) => {
    const result = parseDate(input);
    expect(isProblem(result)).toBe(true);
    expect((result as { problem: string }).problem).toMatch(message);
  });
});

describe('parseInteger', () => {
  it.each<[unknown, number]>([
    [0, 0],
    [2026, 2026],
    [-17, -17],
    [2026.0, 2026],
    [2147483647, 2147483647],
    [-2147483648, -2147483648],
    ['2026', 2026],
    [' 2026 ', 2026],
    ['+5', 5],
    ['-5', -5],
    ['007', 7],
    ['2147483647', 2147483647],
    ['-2147483648', -2147483648],
  ])('accepts %j as %d', (input, expected) => {
    expect(parseInteger(input)).toBe(expected);
  });

  it.each<[unknown, string]>([
    [2147483648, '2147483648 does not fit a 32-bit integer'],
    [-2147483649, '-2147483649 does not fit a 32-bit integer'],
    ['2147483648', '2147483648 does not fit a 32-bit integer'],
    ['9999999999', '9999999999 does not fit a 32-bit integer'],
    [1.5, 'must be an integer, got 1.5'],
    [-0.25, 'must be an integer, got -0.25'],
    [Number.NaN, 'must be an integer, got NaN'],
    [Number.POSITIVE_INFINITY, 'must be an integer, got Infinity'],
    ['1.5', 'must be an integer, got "1.5"'],
    ['2026.0', 'must be an integer, got "2026.0"'],
    ['1e3', 'must be an integer, got "1e3"'],
    ['0x10', 'must be an integer, got "0x10"'],
    ['12345678901', 'must be an integer, got "12345678901"'],
    ['', 'must be an integer, got ""'],
    ['two', 'must be an integer, got "two"'],
    ['- 5', 'must be an integer, got "- 5"'],
    [true, 'must be an integer, got a boolean'],
    [null, 'must be an integer, got null'],
    [[1], 'must be an integer, got an array'],
    [{ n: 1 }, 'must be an integer, got an object'],
  ])('rejects %j', (input, message) => {
    expect(parseInteger(input)).toEqual({ problem: message });
  });
});

describe('parseString', () => {
  it.each<[unknown, string]>([
    ['user_login', 'user_login'],
    ['', ''],
    ['  padded  ', '  padded  '],
    ['ünï ✓ 😀', 'ünï ✓ 😀'],
    [42, '42'],
    [-1.5, '-1.5'],
    [0, '0'],
    [1e21, '1e+21'],
    [true, 'true'],
    [false, 'false'],
    ['x'.repeat(10), 'x'.repeat(10)],
  ])('accepts %j as %j', (input, expected) => {
    expect(parseString(input, 10)).toBe(expected);
  });

  it.each<[unknown, string]>([
    [{ a: 1 }, 'must be a string, got an object'],
    [[1, 2], 'must be a string, got an array'],
    [[], 'must be a string, got an array'],
    [null, 'must be a string, got null'],
    [Number.NaN, 'must be a string, got a number'],
    [Number.POSITIVE_INFINITY, 'must be a string, got a number'],
    [10n, 'must be a string, got a bigint'],
    ['x'.repeat(11), 'is 11 characters long, more than the limit of 10'],
    [12345678901, 'is 11 characters long, more than the limit of 10'],
    ['\uD800', 'contains an unpaired UTF-16 surrogate, which is not valid Unicode'],
    ['ab\uDFFFcd', 'contains an unpaired UTF-16 surrogate, which is not valid Unicode'],
    ['\uDE00\uD83D', 'contains an unpaired UTF-16 surrogate, which is not valid Unicode'],
  ])('rejects %s', (input, message) => {
    expect(parseString(input, 10)).toEqual({ problem: message });
  });

  it('counts the cap in UTF-16 units (an emoji is two)', () => {
    expect(parseString('😀😀😀😀😀', 10)).toBe('😀😀😀😀😀');
    expect(parseString('😀😀😀😀😀x', 10)).toEqual({ problem: 'is 11 characters long, more than the limit of 10' });
  });
});
