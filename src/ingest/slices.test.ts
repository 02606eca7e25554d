import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.js';
import { defaultEventTime } from '../config/schema.js';
import { loadSchema } from '../schema/schema.js';
import { decodeBody } from './decode.js';
import { createPreparer, maxErrors } from './prepare.js';
import { decodeBodySliced, prepareSliced } from './slices.js';

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
