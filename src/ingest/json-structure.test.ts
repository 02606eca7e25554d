import { describe, expect, it } from 'vitest';
import { scanJsonStructure } from './json-structure.js';
import { parseJson } from './decode.js';

describe('scanJsonStructure', () => {
  it.each<[string, { kind: string; record: number; key: string } | undefined]>([
    ['{"a":1,"b":2}', undefined],
    ['{"a":1,"a":2}', { kind: 'duplicate', record: 0, key: 'a' }],
    ['{"a":{"x":1},"b":{"x":2}}', undefined], // same key in two different objects
    ['{"a":{"x":1,"x":2}}', { kind: 'duplicate', record: 0, key: 'x' }],
    ['[{"a":1},{"a":2},{"b":1,"b":1}]', { kind: 'duplicate', record: 2, key: 'b' }],
    ['[{"a":[1,2,3]},{"s":"x,y"},{"c":1,"c":2}]', { kind: 'duplicate', record: 2, key: 'c' }], // commas in nested arrays and strings are not record separators
    ['{"a":"{\\"a\\":1,\\"a\\":2}"}', undefined], // JSON in a string value is text
    ['{"k\\"ey":1,"k\\"ey":2}', { kind: 'duplicate', record: 0, key: 'k"ey' }],
    ['{"\\u0061":1,"a":2}', { kind: 'duplicate', record: 0, key: 'a' }], // escaped spelling of the same key
    ['{"a\\\\":1,"a":2}', undefined], // a\\ is not a
    ['{"__proto__":1,"__proto__":2}', { kind: 'forbidden', record: 0, key: '__proto__' }],
    ['[{"a":1},{"x":{"__proto__":{"polluted":true}}}]', { kind: 'forbidden', record: 1, key: '__proto__' }],
    ['{"a":"__proto__"}', undefined],
    ['{ "a" : 1 , "a" : 2 }', { kind: 'duplicate', record: 0, key: 'a' }],
    ['["a","a"]', undefined], // array strings are not keys
    ['{"a":["x","x"],"b":"a"}', undefined],
    ['"just a string"', undefined],
    ['[]', undefined],
  ])('%s → %j', (text, expected) => {
    JSON.parse(text); // the scanner only sees valid JSON
    expect(scanJsonStructure(text)).toEqual(expected);
  });
});

describe('parseJson', () => {
  it('refuses duplicate keys that JSON.parse would resolve silently', () => {
    expect(parseJson('{"EVENT_ID":"a","EVENT_ID":"b"}')).toEqual({ ok: false, field: 'EVENT_ID', message: 'appears twice in one JSON object', record: 0 });
  });
  it('reports invalid JSON and deep nesting', () => {
    expect(parseJson('{"a":')).toMatchObject({ ok: false, field: '(body)' });
    const deep = parseJson('['.repeat(200_000) + ']'.repeat(200_000));
    expect(deep.ok).toBe(false);
    expect(!deep.ok && deep.message).toBe('is nested 33 levels deep, more than the limit of 32');
    expect(parseJson(`[{"a":1},{"b":${'{"c":'.repeat(40)}1${'}'.repeat(40)}}]`)).toMatchObject({ ok: false, record: 1, field: '(record)' });
    expect(parseJson(`{"a":${'['.repeat(30)}${']'.repeat(30)}}`).ok).toBe(true);
  });
  it('passes valid JSON through', () => {
    expect(parseJson('[{"a":1}]')).toEqual({ ok: true, value: [{ a: 1 }] });
  });
});
