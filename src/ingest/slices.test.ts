import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.js';
import { defaultEventTime } from '../config/schema.js';
import { loadSchema } from '../schema/schema.js';
import { decodeBody } from './decode.js';
import { createPreparer, maxErrors } from './prepare.js';
import { decodeBodySliced, decodeJsonArraySliced, prepareSliced } from './slices.js';

const sources = parseConfig(
  { sources: { q: { profile: 'auto', organizationId: 'acme', onInvalid: 'quarantine' } } },
  { env: {}, source: 'test' },
).sources;
const preparer = createPreparer(loadSchema(), {
  strictEventTypes: false, unknownFields: 'drop', maxStringLength: 64, organizationId: null, eventTime: defaultEventTime,
  now: () => Date.UTC(2026, 5, 1), sources,
});

function event(i: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { ORGANIZATION_ID: 'org-1', EVENT_ID: `e-${i}`, EVENT_TIME: '2026-03-14T09:26:53.589Z', EVENT_TYPE: 'user_login', APP_ID: `app-${i}`, ...extra };
}

/** Resolves with whether a turn of the event loop (a setImmediate queued now) ran before `work` settled. */
async function yieldedDuring<T>(work: () => Promise<T>): Promise<{ value: T; yielded: boolean }> {
  let ran = false;
  setImmediate(() => (ran = true));
  const value = await work();
  return { value, yielded: ran };
}

describe('decodeBodySliced', () => {
  // Blank lines, CRLF, a trailing newline, broken lines on both sides of slice boundaries.
  const lines = Array.from({ length: 60 }, (_, i) =>
    i % 17 === 5 ? '{"broken": ' : i % 11 === 3 ? '' : i % 13 === 7 ? `${JSON.stringify(event(i))}\r` : JSON.stringify(event(i)),
  );
  const text = `${lines.join('\n')}\n`;

  it('finds the same records and the same errors (index, line, field) as one pass, whatever the slice size', async () => {
    const whole = decodeBody(text, 'ndjson');
    expect(whole.ok).toBe(false);
    for (const sliceChars of [1, 50, 100, 333, 1000, text.length - 1, text.length]) {
      expect(await decodeBodySliced(text, 'ndjson', { sliceChars })).toEqual(whole);
    }
    const valid = `${lines.filter((l) => !l.startsWith('{"broken')).join('\n')}`;
    expect(await decodeBodySliced(valid, 'ndjson', { sliceChars: 64 })).toEqual(decodeBody(valid, 'ndjson'));
  });

  it('gives the event loop a turn between slices of a large body, and none for a small one', async () => {
    const large = await yieldedDuring(() => decodeBodySliced(text, 'ndjson', { sliceChars: 200 }));
    expect(large.yielded).toBe(true);
    const small = await yieldedDuring(() => decodeBodySliced(text, 'ndjson', { sliceChars: text.length }));
    expect(small.yielded).toBe(false);
    expect(small.value).toEqual(large.value);
  });
});

describe('decodeBodySliced, JSON arrays', () => {
  const records = Array.from({ length: 40 }, (_, i) =>
    event(i, {
      // Strings holding brackets, commas, quotes and backslashes; nesting; 64-bit and other inexact numbers.
      DOMAIN: i % 3 === 0 ? 'a],[{"x":1},' : i % 3 === 1 ? 'q\\"\\\\' : 'plain',
      nested: i % 4 === 0 ? { list: [1, [2, { deep: '}' }]], empty: {}, none: [] } : null,
    }),
  );
  const body = (items: string[], sep = ',') => `[${items.join(sep)}]`;
  const texts = records.map((r) => JSON.stringify(r));
  const inexact = texts.map((t, i) => (i === 7 ? t.replace('"APP_ID"', '"BIG":9007199254740993,"F":1.0,"APP_ID"') : t));
  const deep = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
  const good: [string, string][] = [
    ['plain', body(texts)],
    ['whitespace around everything', ` \r\n\t[ ${texts.join(' ,\n\t ')} ]\n `],
    ['inexact numbers', body(inexact)],
    ['numbers, strings, null and arrays as elements', body(['1', '"s,]"', 'null', '[1,[2]]', ...texts.slice(0, 3)])],
    ['inexact numbers as elements', body(['12345678901234567891', ' 1.0 ', '1e400', '-0', '1E2', ...texts.slice(0, 3)])],
    ['empty array', '[ ]'],
    ['nesting at the depth limit', body([deep(31), ...texts.slice(0, 2)])],
  ];
  const bad: [string, string][] = [
    ['nesting one past the limit (counted with the array)', body([...texts.slice(0, 2), deep(32)])],
    ['a duplicate key in record 5', body(texts.map((t, i) => (i === 5 ? t.replace('"APP_ID"', '"EVENT_ID":"x","APP_ID"').replace('{"ORGANIZATION_ID"', '{"EVENT_ID":"y","ORGANIZATION_ID"') : t)))],
    ['__proto__ as a key', body([...texts.slice(0, 3), '{"__proto__":{"x":1}}'])],
    ['a trailing comma', `${body(texts).slice(0, -1)},]`],
    ['two commas', body(texts.slice(0, 4), ',,')],
    ['a missing comma', body(texts.slice(0, 4), ' ')],
    ['text after the array', `${body(texts)} x`],
    ['a second array', `${body(texts)}[]`],
    ['an unterminated string', `${body(texts).slice(0, -3)}`],
    ['mismatched brackets', body([...texts.slice(0, 2), '{"a":[1}]'])],
    ['invalid JSON inside a record', body([...texts.slice(0, 2), '{"a":tru}'])],
  ];

  it('gives exactly the one-pass answer, records or errors, whatever the slice size', async () => {
    for (const [what, text] of [...good, ...bad]) {
      const whole = decodeBody(text, 'json');
      for (const sliceChars of [1, 7, 64, 333, 4096]) {
        expect(await decodeBodySliced(text, 'json', { sliceChars }), `${what}, slices of ${sliceChars}`).toEqual(whole);
      }
    }
    for (const [what, text] of good) expect(decodeBody(text, 'json').ok, what).toBe(true);
    for (const [what, text] of bad) expect(decodeBody(text, 'json').ok, what).toBe(false);
    // The good bodies were parsed in slices, not by the one-pass fallback; every bad one fell back.
    for (const [what, text] of good) expect(await decodeJsonArraySliced(text, 64), what).toEqual(decodeBody(text, 'json'));
    for (const [what, text] of bad) expect(await decodeJsonArraySliced(text, 64), what).toBeUndefined();
  });

  it('gives the event loop a turn while parsing a large array, and none for a small one or an object', async () => {
    const text = body(texts);
    const large = await yieldedDuring(() => decodeBodySliced(text, 'json', { sliceChars: 200 }));
    expect(large.yielded).toBe(true);
    expect(large.value).toEqual(decodeBody(text, 'json'));
    const small = await yieldedDuring(() => decodeBodySliced(text, 'json', { sliceChars: text.length }));
    expect(small.yielded).toBe(false);
    const object = JSON.stringify({ data: { events: records } });
    expect((await yieldedDuring(() => decodeBodySliced(object, 'json', { sliceChars: 200 }))).yielded).toBe(false);
  });
});

describe('prepareSliced', () => {
  const arrival = { receivedAt: Date.UTC(2026, 4, 1) };

  it('prepares the same rows as one pass, and yields between slices', async () => {
    const records = Array.from({ length: 45 }, (_, i) => event(i, i % 9 === 0 ? { EXTRA_FIELD: 1 } : {}));
    const whole = preparer.prepare(records, 0, arrival);
    expect(whole.rows).toHaveLength(45);
    const sliced = await yieldedDuring(() => prepareSliced(preparer, records, arrival, { sliceRecords: 7 }));
    expect(sliced.yielded).toBe(true);
    expect(sliced.value).toEqual(whole);
  });

  it('refuses the whole request when any slice has an error, listing errors with their index, capped as one pass', async () => {
    const records = Array.from({ length: 300 }, (_, i) => (i % 2 === 1 ? event(i, { EVENT_TIME: 'not a time' }) : event(i)));
    const whole = preparer.prepare(records, 0, arrival);
    expect(whole.errorCount).toBe(150);
    expect(whole.errors).toHaveLength(maxErrors);
    const sliced = await prepareSliced(preparer, records, arrival, { sliceRecords: 16 });
    expect(sliced).toEqual(whole);
    expect(sliced.rows).toEqual([]);
    expect(sliced.errors[0]).toMatchObject({ index: 1, field: 'EVENT_TIME' });
    // One bad record in the last slice refuses the rows of every earlier slice.
    const lastBad = records.map((r, i) => (i === 299 ? r : event(i)));
    const refused = await prepareSliced(preparer, lastBad, arrival, { sliceRecords: 16 });
    expect(refused).toEqual(preparer.prepare(lastBad, 0, arrival));
    expect(refused.rows).toEqual([]);
    expect(refused.errors).toEqual([expect.objectContaining({ index: 299, field: 'EVENT_TIME' })]);
  });

  it('keeps quarantine rows after the events, in record order, as one pass (a quarantine source)', async () => {
    const records = Array.from({ length: 30 }, (_, i) => (i % 4 === 2 ? event(i, { EVENT_TIME: 'not a time' }) : event(i)));
    const q = { ...arrival, source: 'q' };
    const whole = preparer.prepare(records, 0, q);
    expect(whole.quarantineRows).toBe(7);
    expect(await prepareSliced(preparer, records, q, { sliceRecords: 5 })).toEqual(whole);
  });
});
