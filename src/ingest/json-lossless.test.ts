import { describe, expect, it } from 'vitest';
import { isJsonNumber, JsonNumber } from '../schema/json-number.js';
import { parseJson } from './decode.js';
import { parseJsonLossless } from './json-lossless.js';
import { scanJson } from './json-structure.js';

describe('scanJson: inexact number literals', () => {
  it.each<[string, boolean]>([
    ['{"a":1}', false],
    ['{"a":-42,"b":0,"c":3.5,"d":1e+21}', false],
    ['{"a":1e21}', true], // JavaScript writes 1e+21
    ['{"a":9007199254740993}', true], // 2^53 + 1
    ['{"a":1234567890123456789}', true],
    ['{"a":1.0}', true],
    ['{"a":1e3}', true],
    ['{"a":-0}', true],
    ['{"a":0.10}', true],
    ['{"a":"1234567890123456789"}', false], // a string, not a number
    ['{"a":"x\\"1.0"}', false],
    ['[{"a":true},{"b":null,"c":[1,2,2.50]}]', true],
  ])('%s → %s', (text, inexact) => {
    expect(scanJson(text).inexactNumbers).toBe(inexact);
  });
});

describe('parseJsonLossless', () => {
  const docs = [
    '{"a":1,"b":"x","c":[true,false,null],"d":{"e":{}},"f":[]}',
    '  [ {"k" : "v\\u00e9\\n\\"q\\"" } , [ ] , { } ]  ',
    '{"nested":{"deeper":[{"n":-3.25}]}}',
    '"just a string"',
    '{"s":"\\\\","t":"a\\\\\\"b"}',
  ];
  it.each(docs)('gives what JSON.parse gives for %s', (text) => {
    expect(parseJsonLossless(text)).toEqual(JSON.parse(text));
  });

  it('keeps inexact literals as JsonNumber with the exact text, and others as numbers', () => {
    const value = parseJsonLossless('{"id":1234567890123456789,"v":1.0,"n":[7,1e3,-0],"ok":12}') as Record<string, unknown>;
    expect(value.id).toEqual(new JsonNumber('1234567890123456789'));
    expect((value.v as JsonNumber).text).toBe('1.0');
    const n = value.n as unknown[];
    expect(n[0]).toBe(7);
    expect(isJsonNumber(n[1]) && n[1].text).toBe('1e3');
    expect(isJsonNumber(n[2]) && n[2].text).toBe('-0');
    expect(value.ok).toBe(12);
  });

  it('is what parseJson uses when a body has an inexact literal', () => {
    const parsed = parseJson('{"EVENT_ID":1234567890123456790}');
    expect(parsed.ok && (parsed.value as Record<string, JsonNumber>).EVENT_ID!.text).toBe('1234567890123456790');
  });
});
