/**
 * Pure type coercion from JSON input values to the schema's column types. Each function returns
 * the canonical value or a Problem whose message says, for a person, what was wrong.
 */
import { isJsonNumber } from './json-number.js';

/** A coercion failure; `message` is phrased to follow the field name. */
export interface Problem {
  readonly problem: string;
}

/** Either a coerced value or a Problem. */
export type Coerced<T> = T | Problem;

/** True when a coercion result is a Problem. */
export function isProblem(value: unknown): value is Problem {
  return typeof value === 'object' && value !== null && 'problem' in value;
}

function problem(text: string): Problem {
  return { problem: text };
}

/** Smallest and largest epoch milliseconds accepted: years 0001 to 9999, what every engine stores. */
const minEpochMs = -62135596800000; // 0001-01-01T00:00:00.000Z
const maxEpochMs = 253402300799999; // 9999-12-31T23:59:59.999Z

/** INT32 bounds, the Parquet physical type of NUMBER columns. */
const int32Min = -2147483648;
const int32Max = 2147483647;

const isoTimestamp =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?$/;
const isoDate = /^(\d{4})-(\d{2})-(\d{2})$/;
const integerText = /^[+-]?\d{1,10}$/;

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function quote(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : isJsonNumber(value) ? value.text : String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (isJsonNumber(value)) return `the number ${quote(value)}`;
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** The plausible instants of a timestamp, epoch ms inclusive: `ingest.eventTime.min` to now + `ingest.eventTime.maxAheadMs`. */
export interface TimeRange {
  readonly minMs: number;
  readonly maxMs: number;
}

/** Other units a number sent as epoch milliseconds may really be in, tried when it is out of range. */
const otherUnits = [
  { name: 'seconds', symbol: 's', toMs: (n: number) => Math.round(n * 1000) },
  { name: 'microseconds', symbol: 'µs', toMs: (n: number) => Math.floor(n / 1000) },
  { name: 'nanoseconds', symbol: 'ns', toMs: (n: number) => Math.floor(n / 1_000_000) },
] as const;

/** An instant for a message: ISO-8601 UTC, or which end of years 0001-9999 it is past. */
function describeInstant(ms: number): string {
  if (ms < minEpochMs) return 'before year 0001';
  if (ms > maxEpochMs) return 'beyond year 9999';
  return new Date(ms).toISOString();
}

/** `shown` is `ms`, which is outside `range`: says so, naming the config key it crosses. */
function outOfRange(shown: string, ms: number, range: TimeRange): string {
  const bound =
    ms < range.minMs
      ? `before ingest.eventTime.min ${describeInstant(range.minMs)}`
      : `later than now + ingest.eventTime.maxAheadMs (${describeInstant(range.maxMs)})`;
  return `${shown} is ${describeInstant(ms)}, ${bound}`;
}

/** A number of epoch milliseconds, checked against `range` (with a hint when another unit fits it) and years 0001-9999. */
function fromEpochNumber(value: number, range: TimeRange | undefined): Coerced<number> {
  if (!Number.isFinite(value)) return problem('must be a finite number of epoch milliseconds');
  const ms = Math.floor(value);
  if (range && (ms < range.minMs || ms > range.maxMs)) {
    const unit = otherUnits.find((u) => {
      const candidate = u.toMs(value);
      return candidate >= range.minMs && candidate <= range.maxMs;
    });
    const hint = unit ? `; it looks like epoch ${unit.name} (${value} ${unit.symbol} = ${describeInstant(unit.toMs(value))})` : '';
    return problem(`${outOfRange(`${value} (epoch milliseconds)`, ms, range)}${hint}`);
  }
  if (ms < minEpochMs || ms > maxEpochMs) {
    return problem(`epoch milliseconds ${value} is outside years 0001-9999`);
  }
  return ms;
}

/**
 * Parses an EVENT_TIME input to epoch milliseconds (UTC): an ISO-8601 string with `Z` or an offset
 * (normalised to UTC), without a zone (taken as UTC), or a number of epoch milliseconds.
 * Digits finer than a millisecond are truncated. A leap second, 23:59:60 UTC, is clamped to
 * 23:59:59.999. With a `range`, an instant outside it is a Problem that says what the input was
 * read as, and for a number, which unit (epoch seconds, microseconds, nanoseconds) would fit.
 */
export function parseTimestamp(value: unknown, range?: TimeRange): Coerced<number> {
  if (typeof value === 'number') return fromEpochNumber(value, range);
  if (isJsonNumber(value)) return fromEpochNumber(value.value, range);
  if (typeof value !== 'string') {
    return problem(`must be an ISO-8601 timestamp or epoch milliseconds, got ${describeType(value)}`);
  }
  const m = isoTimestamp.exec(value);
  if (!m) {
    return problem(
      `${quote(value)} is not an ISO-8601 timestamp (expected e.g. 2026-03-14T09:26:53.589Z)`,
    );
  }
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = m[6] === undefined ? 0 : Number(m[6]);
  const leapSecond = second === 60;
  const millis = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, '0'));
  if (month < 1 || month > 12) return problem(`${quote(value)} has month ${m[2]}`);
  if (day < 1 || day > daysInMonth(year, month)) return problem(`${quote(value)} has no day ${m[3]}`);
  if (hour > 23 || minute > 59 || second > 60) return problem(`${quote(value)} has an invalid time of day`);
  let offsetMinutes = 0;
  if (m[9] !== undefined) {
    const oh = Number(m[10]);
    const om = m[11] === undefined ? 0 : Number(m[11]);
    if (oh > 23 || om > 59) return problem(`${quote(value)} has an invalid UTC offset`);
    offsetMinutes = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  const local = new Date(0);
  local.setUTCFullYear(year, month - 1, day);
  // A leap second (any fraction of it) becomes the last millisecond of its minute, :59.999.
  local.setUTCHours(hour, minute, leapSecond ? 59 : second, leapSecond ? 999 : millis);
  const ms = local.getTime() - offsetMinutes * 60_000;
  if (leapSecond) {
    const utc = new Date(ms);
    if (utc.getUTCHours() !== 23 || utc.getUTCMinutes() !== 59) {
      return problem(`${quote(value)} has an invalid time of day: second 60 is a leap second only at 23:59:60 UTC`);
    }
  }
  if (range && (ms < range.minMs || ms > range.maxMs)) return problem(outOfRange(quote(value), ms, range));
  if (ms < minEpochMs || ms > maxEpochMs) return problem(`${quote(value)} is outside years 0001-9999`);
  return ms;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** Formats epoch milliseconds as a zone-less UTC timestamp, `YYYY-MM-DD HH:MM:SS.sss`. */
export function formatTimestamp(ms: number): string {
  const d = new Date(ms);
  return (
    `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)} ` +
    `${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}.${pad(d.getUTCMilliseconds(), 3)}`
  );
}

/** The UTC calendar parts of epoch milliseconds that derived columns need. */
export function dateParts(ms: number): { year: number; month: string; date: string } {
  const d = new Date(ms);
  const year = d.getUTCFullYear();
  const mm = pad(d.getUTCMonth() + 1, 2);
  return {
    year,
    month: `${pad(year, 4)}-${mm}-01`,
    date: `${pad(year, 4)}-${mm}-${pad(d.getUTCDate(), 2)}`,
  };
}

/** Parses a DATE input: exactly `YYYY-MM-DD`, a real calendar day. */
export function parseDate(value: unknown): Coerced<string> {
  if (typeof value !== 'string') return problem(`must be a date YYYY-MM-DD, got ${describeType(value)}`);
  const m = isoDate.exec(value);
  if (!m) return problem(`${quote(value)} is not a date YYYY-MM-DD`);
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
    return problem(`${quote(value)} is not a calendar date`);
  }
  return value;
}

/** Parses a NUMBER input: an integer (or a string of one) that fits INT32. */
export function parseInteger(value: unknown): Coerced<number> {
  let n: number;
  if (typeof value === 'number') {
    n = value;
  } else if (isJsonNumber(value)) {
    // `1.0` or `1e3` is an integer; a literal past 2^53 is out of INT32 range either way.
    n = value.value;
  } else if (typeof value === 'string' && integerText.test(value.trim())) {
    n = Number(value.trim());
  } else {
    return problem(`must be an integer, got ${typeof value === 'string' ? quote(value) : describeType(value)}`);
  }
  if (!Number.isInteger(n)) return problem(`must be an integer, got ${n}`);
  if (n < int32Min || n > int32Max) return problem(`${n} does not fit a 32-bit integer`);
  return n;
}

/**
 * Coerces a VARCHAR input: strings as they are, numbers and booleans as their JSON text (a
 * JsonNumber as the sender's exact literal, so `1234567890123456789` and `1.0` stay digit for
 * digit); objects and arrays are refused. Strings longer than `maxLength` UTF-16 units, or holding an
 * unpaired surrogate (not encodable as UTF-8), are refused.
 */
export function parseString(value: unknown, maxLength: number): Coerced<string> {
  let text: string;
  if (typeof value === 'string') text = value;
  else if (typeof value === 'number' && Number.isFinite(value)) text = String(value);
  else if (isJsonNumber(value)) text = value.text;
  else if (typeof value === 'boolean') text = String(value);
  else return problem(`must be a string, got ${describeType(value)}`);
  if (text.length > maxLength) return problem(`is ${text.length} characters long, more than the limit of ${maxLength}`);
  if (!text.isWellFormed()) return problem('contains an unpaired UTF-16 surrogate, which is not valid Unicode');
  return text;
}
