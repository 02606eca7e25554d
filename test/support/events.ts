/**
 * Test support: a corpus of events with values that break naive encoders (unicode, commas,
 * quotes, CR / LF / CRLF, NUL, U+2028/U+2029, empty vs null, a literal \N), spread over several
 * event dates, and the canonical row each must come back as (RAW: the record as sent, JSON text,
 * for the one time with a UTC offset the typed column normalises away; NULL for the others, which
 * the typed columns hold exactly); raw records to store with some of them.
 */
import { loadSchema, type Schema } from '../../src/schema/schema.js';

const airkit = loadSchema();

/** The Airkit schema's columns in order. */
export const columnNames = airkit.columns.map((c) => c.name);

/** A schema's column names in order. */
export function columnNamesOf(schema: Schema): string[] {
  return schema.columns.map((c) => c.name);
}

/**
 * Values the VARCHAR columns a schema appends to the Airkit ones cycle through (a column that is
 * absent, null, JSON text, an IP address, quotes, a line break, NUL, a literal \N, non-ASCII, a
 * trailing comma, text that looks like a JSON key).
 */
const extensionValues: (string | null | undefined)[] = [
  '192.0.2.1', undefined, '[{"id":"00u1","type":"User","displayName":"Ada, \\"the\\" first"}]', null, 'Mozilla/5.0 (X11; Linux x86_64) "quoted", commas',
  'line1\nline2\r\n', '', 'nul\u0000byte', '\\N', 'São Paulo 🚀', 'true', 'ends with a comma,', 'looks like a key,"EMAIL":"x"',
];

const tricky: Record<string, unknown>[] = [
  { EMAIL: 'ümlaut@exämple.com', DOMAIN: 'a,b,c', RESOURCE_ID: 'say "hi"', APP_ID: 'line1\nline2\r\nline3' },
  { BRANCH_ID: '', DEPLOY_ID: null, SAVEPOINT_ID: '\\N', ROLE_ID: '日本語 🚀', SERVICE: ' padded ', LOGIN_TYPE: '\t' },
  { USER_ID: '"', EMAIL: ',', DOMAIN: '""', API_KEY_ID: 'NULL', NOTIFIER_ID: 'null', WEBHOOK_ID: '\\', SAML_ID: "'" },
  // NUL, the Unicode line and paragraph separators, a 4-byte character, spaces at one end only.
  {
    SAVEPOINT_REVISION: 42, ADAPTER_ID: true, EMBED_ID: 'x'.repeat(4000), RESOURCE_ID: 'nul\u0000byte', DEPLOY_ID: '\u0000',
    APP_ID: 'ls\u2028ps\u2029', ROLE_ID: '\u{1F600}', SERVICE: ' leading', SERVICE_REVISION: 'trailing ',
  },
  // Line breaks of every kind on their own: a bare CR, CRLF, a lone LF, a CR ending the value.
  { USER_ID: 'a\rb', EMAIL: '\r\n', DOMAIN: 'lone\nlf', LOGIN_TYPE: 'ends with cr\r', WEBHOOK_ID: '\r' },
];

const times: [string, string][] = [
  ['2026-03-14T09:26:53.589Z', '2026-03-14 09:26:53.589'],
  ['2026-03-15T00:30:00.000+01:00', '2026-03-14 23:30:00.000'],
  ['2025-12-31T23:59:59.999Z', '2025-12-31 23:59:59.999'],
  ['2026-03-14T12:00:00', '2026-03-14 12:00:00.000'],
];

/** A sent event and the canonical row expected back (the schema's columns, then RAW). */
export interface Sample {
  readonly sent: Record<string, unknown>;
  readonly expected: Record<string, string | number | null>;
}

/**
 * `n` events with distinct ids, cycling through the tricky values and times; under a `schema` that
 * extends the Airkit one, its appended VARCHAR columns get values too.
 */
export function samples(n: number, idPrefix = `s-${process.pid}-${Date.now()}`, schema: Schema = airkit): Sample[] {
  const names = columnNamesOf(schema);
  const appended = schema.columns.filter((c) => c.index >= airkit.columns.length && c.type === 'VARCHAR');
  return Array.from({ length: n }, (_, i) => {
    const [time, canonicalTime] = times[i % times.length]!;
    const extra = tricky[i % tricky.length]!;
    const sent: Record<string, unknown> = {
      ORGANIZATION_ID: `org-${i % 3}`,
      EVENT_ID: `${idPrefix}-${i}`,
      EVENT_TIME: time,
      EVENT_TYPE: i % 5 === 0 ? 'made_up_type' : 'user_login',
      USER_ID: `user-${i}`,
      ...extra,
    };
    appended.forEach((c, k) => {
      const value = extensionValues[(i + k) % extensionValues.length];
      if (value !== undefined) sent[c.name] = value;
    });
    const expected: Record<string, string | number | null> = Object.fromEntries([...names, 'RAW'].map((c) => [c, null]));
    for (const [k, v] of Object.entries(sent)) expected[k] = typeof v === 'string' || v === null ? v : String(v);
    expected.EVENT_TIME = canonicalTime;
    const date = canonicalTime.slice(0, 10);
    expected.EVENT_DATE = date;
    expected.EVENT_MONTH = `${date.slice(0, 7)}-01`;
    expected.EVENT_YEAR = Number(date.slice(0, 4));
    // An offset the UTC timestamp normalises away is not held exactly: RAW keeps the record.
    expected.RAW = /[+-]\d\d:\d\d$/.test(time) ? JSON.stringify(sent) : null;
    return { sent, expected };
  });
}

/** A plain event at epoch ms `ms` and the canonical row expected back (every column of `schema`). */
export function sampleAt(ms: number, id: string, schema: Schema = airkit): Sample {
  const sent = { ORGANIZATION_ID: 'org-at', EVENT_ID: id, EVENT_TIME: new Date(ms).toISOString(), EVENT_TYPE: 'user_login' };
  const expected: Record<string, string | number | null> = Object.fromEntries([...columnNamesOf(schema), 'RAW'].map((c) => [c, null]));
  Object.assign(expected, sent);
  const iso = new Date(ms).toISOString();
  expected.EVENT_TIME = `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
  expected.EVENT_DATE = iso.slice(0, 10);
  expected.EVENT_MONTH = `${iso.slice(0, 7)}-01`;
  expected.EVENT_YEAR = Number(iso.slice(0, 4));
  return { sent, expected };
}

/** Raw records as a sender might have sent them (JSON text): line breaks between tokens, escapes, U+2028, emoji, a 64-bit literal, `\\N` inside a string. */
export const rawRecords: readonly string[] = [
  '{"log":"My test log"}',
  '{"a":1,\r\n "cr":"\\r","lf":"\\n","crlf":"x\\r\\ny"}',
  '{"ls":"\u2028","ps":"\u2029","emoji":"🚀","pair":"\\ud83d\\ude80"}',
  '{"id":1234567890123456789,"amount":1.10,"neg":-0}',
  '{"marker":"\\\\N","quote":"say \\"hi\\"","comma":"a,b","nul":"\\u0000"}',
  '["array", {"nested": {"deep": [true, false, null]}}]',
  '"\\\\N"',
];

/** A sample whose spool row carries a raw record: `expected.RAW` is that record. */
export interface RawSample extends Sample {
  readonly raw: string;
}

/** Samples (cycling through the tricky values) each paired with one of `raws`. */
export function rawSamples(raws: readonly string[], idPrefix = `r-${process.pid}-${Date.now()}`): RawSample[] {
  return samples(raws.length, idPrefix).map((s, i) => ({ ...s, raw: raws[i]!, expected: { ...s.expected, RAW: raws[i]! } }));
}

/** Rows keyed by EVENT_ID, failing on a duplicate id. */
export function byEventId(rows: readonly Record<string, unknown>[]): Map<string, Record<string, unknown>> {
  const map = new Map<string, Record<string, unknown>>();
  for (const row of rows) {
    const id = row.EVENT_ID as string;
    if (map.has(id)) throw new Error(`EVENT_ID ${id} appears twice`);
    map.set(id, row);
  }
  return map;
}
