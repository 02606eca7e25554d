import { describe, expect, it } from 'vitest';
import { acceptedContentTypes, bodyKind, decodeBody, decodeUtf8 } from './decode.js';

describe('bodyKind', () => {
  it.each<[string | undefined, 'json' | 'ndjson' | undefined]>([
    ['application/json', 'json'],
    ['APPLICATION/JSON', 'json'],
    ['application/json; charset=utf-8', 'json'],
    ['application/json;charset=UTF-8', 'json'],
    ['application/json; charset=utf8', 'json'],
    ['application/json; charset="utf-8"', 'json'],
    ['application/json; charset="UTF-8"', 'json'],
    ['application/json ; charset = utf-8 ', 'json'],
    ['application/json; boundary=x', 'json'],
    ['application/json;', 'json'],
    ['application/x-ndjson', 'ndjson'],
    ['application/ndjson', 'ndjson'],
    ['application/jsonl', 'ndjson'],
    ['application/x-jsonlines', 'ndjson'],
    ['application/jsonlines', 'ndjson'],
    ['Application/X-NDJSON; charset=utf-8', 'ndjson'],
    ['application/json; charset=iso-8859-1', undefined],
    ['application/json; charset=utf-16', undefined],
    ['application/json; charset=us-ascii', undefined],
    ['application/json; charset=', undefined],
    ['application/x-ndjson; charset=latin1', undefined],
    ['text/plain', undefined],
    ['text/plain; charset=utf-8', undefined],
    ['text/json', undefined],
    ['application/vnd.api+json', undefined],
    ['application/x-www-form-urlencoded', undefined],
    ['multipart/form-data; boundary=abc', undefined],
    ['application/jsonx', undefined],
    ['', undefined],
    [' ', undefined],
    [';charset=utf-8', undefined],
    [undefined, undefined],
  ])('%j → %s', (contentType, expected) => {
    expect(bodyKind(contentType)).toBe(expected);
  });

  // RFC 9110 §5.6.6: a parameter value may be a token or a quoted-string, and the two are equivalent.
  it('treats the quoted and unquoted charset=utf8 alike', () => {
    expect(bodyKind('application/json; charset="utf8"')).toBe('json');
  });

  it('lists the accepted types for error messages', () => {
    expect(acceptedContentTypes).toEqual([
      'application/json',
      'application/x-ndjson',
      'application/ndjson',
      'application/jsonl',
      'application/x-jsonlines',
      'application/jsonlines',
    ]);
  });
});

describe('decodeUtf8', () => {
  const bytes = (...b: number[]) => Uint8Array.from(b);
  const utf8 = (s: string) => new TextEncoder().encode(s);

  it.each<[string, Uint8Array, string | undefined]>([
    ['ASCII', utf8('{"a":1}'), '{"a":1}'],
    ['multi-byte', utf8('ünï ✓ 😀'), 'ünï ✓ 😀'],
    ['empty', bytes(), ''],
    ['BOM is stripped', bytes(0xef, 0xbb, 0xbf, 0x7b, 0x7d), '{}'],
    ['only the first BOM is stripped', bytes(0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf), '\uFEFF'],
    ['lone continuation byte', bytes(0x7b, 0x80, 0x7d), undefined],
    ['Latin-1 é', bytes(0x22, 0xe9, 0x22), undefined],
    ['truncated 3-byte sequence at the end', bytes(0x41, 0xe2, 0x82), undefined],
    ['truncated 4-byte sequence', bytes(0xf0, 0x9f, 0x98), undefined],
    ['overlong encoding of /', bytes(0xc0, 0xaf), undefined],
    ['encoded surrogate U+D800', bytes(0xed, 0xa0, 0x80), undefined],
    ['beyond U+10FFFF', bytes(0xf4, 0x90, 0x80, 0x80), undefined],
    ['0xFF byte', bytes(0xff), undefined],
    ['UTF-16LE BOM', bytes(0xff, 0xfe, 0x7b, 0x00), undefined],
  ])('%s', (_name, input, expected) => {
    expect(decodeUtf8(input)).toBe(expected);
  });

  it('recovers after an invalid input (no state kept between calls)', () => {
    expect(decodeUtf8(bytes(0xe2, 0x82))).toBeUndefined();
    expect(decodeUtf8(bytes(0xac, 0x41))).toBeUndefined();
    expect(decodeUtf8(bytes(0xef, 0xbb, 0xbf, 0x41))).toBe('A');
  });
});

describe('decodeBody json', () => {
  it.each<[string, string, unknown[]]>([
    ['one object', '{"EVENT_ID":"e1"}', [{ EVENT_ID: 'e1' }]],
    ['array of n', '[{"EVENT_ID":"e1"},{"EVENT_ID":"e2"},{"EVENT_ID":"e3"}]', [{ EVENT_ID: 'e1' }, { EVENT_ID: 'e2' }, { EVENT_ID: 'e3' }]],
    ['empty array', '[]', []],
    ['surrounding whitespace', ' \r\n {"a":1} \n', [{ a: 1 }]],
    ['a scalar is one record', '42', [42]],
    ['null is one record', 'null', [null]],
    ['nested arrays are not flattened', '[[1],[2]]', [[1], [2]]],
  ])('%s', (_name, text, records) => {
    expect(decodeBody(text, 'json')).toEqual({ ok: true, records });
  });

  it.each<[string, string, RegExp]>([
    ['truncated', '{"EVENT_ID":', /^invalid JSON: /],
    ['empty body', '', /^invalid JSON: /],
    ['whitespace only', '  \n', /^invalid JSON: /],
    ['two objects', '{"a":1}{"b":2}', /^invalid JSON: /],
    ['ndjson sent as json', '{"a":1}\n{"b":2}', /^invalid JSON: /],
    ['trailing comma', '[{"a":1},]', /^invalid JSON: /],
    ['single quotes', "{'a':1}", /^invalid JSON: /],
    ['NaN', '{"a":NaN}', /^invalid JSON: /],
  ])('%s is an error for the body', (_name, text, message) => {
    const decoded = decodeBody(text, 'json');
    expect(decoded.ok).toBe(false);
    if (decoded.ok) return;
    expect(decoded.errors).toHaveLength(1);
    expect(decoded.errors[0]).toMatchObject({ index: 0, field: '(body)' });
    expect(decoded.errors[0]?.message).toMatch(message);
  });
});

describe('decodeBody ndjson', () => {
  it.each<[string, string, unknown[]]>([
    ['two lines', '{"a":1}\n{"b":2}\n', [{ a: 1 }, { b: 2 }]],
    ['no final newline', '{"a":1}\n{"b":2}', [{ a: 1 }, { b: 2 }]],
    ['CRLF', '{"a":1}\r\n{"b":2}\r\n', [{ a: 1 }, { b: 2 }]],
    ['blank lines ignored', '\n{"a":1}\n\n\n{"b":2}\n\n', [{ a: 1 }, { b: 2 }]],
    ['whitespace-only lines ignored', '{"a":1}\n   \n\t\r\n{"b":2}', [{ a: 1 }, { b: 2 }]],
    ['indented lines', '  {"a":1}  \n\t{"b":2}', [{ a: 1 }, { b: 2 }]],
    ['empty body', '', []],
    ['only blank lines', '\n\r\n\n', []],
    ['a line with an array is one record', '[1,2]\n{"a":1}', [[1, 2], { a: 1 }]],
    ['a newline inside a string is escaped', '{"a":"x\\ny"}', [{ a: 'x\ny' }]],
  ])('%s', (_name, text, records) => {
    expect(decodeBody(text, 'ndjson')).toEqual({ ok: true, records });
  });

  it.each<[string, string, { index: number; line: number }[]]>([
    ['truncated last line', '{"a":1}\n{"b":2}\n{"c":', [{ index: 2, line: 3 }]],
    ['truncated last line after blank lines', '\n{"a":1}\n\n\r\n{"c":', [{ index: 1, line: 5 }]],
    ['truncated last line with CRLF', '{"a":1}\r\n{"c":\r\n', [{ index: 1, line: 2 }]],
    ['bad first line', 'nope\n{"a":1}', [{ index: 0, line: 1 }]],
    ['two bad lines', '{"a":1}\n{\n\n{"b":2}\n}\n', [{ index: 1, line: 2 }, { index: 3, line: 5 }]],
    ['pretty-printed JSON', '{\n  "a": 1\n}\n', [{ index: 0, line: 1 }, { index: 1, line: 2 }, { index: 2, line: 3 }]],
  ])('%s → errors with index and physical line', (_name, text, expected) => {
    const decoded = decodeBody(text, 'ndjson');
    expect(decoded.ok).toBe(false);
    if (decoded.ok) return;
    expect(decoded.errors.map((e) => ({ index: e.index, field: e.field }))).toEqual(
      expected.map((e) => ({ index: e.index, field: '(record)' })),
    );
    decoded.errors.forEach((e, i) => {
      expect(e.message).toMatch(new RegExp(`^line ${expected[i]?.line}: invalid JSON: \\S`));
    });
  });

  it('gives the JSON parser\'s reason in the message', () => {
    const decoded = decodeBody('{"a":1}\n{"b":', 'ndjson');
    expect(decoded).toEqual({
      ok: false,
      errors: [{ index: 1, field: '(record)', message: expect.stringMatching(/^line 2: invalid JSON: .*(end of JSON|Unexpected)/) as unknown }],
      // What a quarantine source keeps: the line that parsed, and the one that did not, as text.
      readable: [{ index: 0, value: { a: 1 } }],
      unreadable: [{ index: 1, text: '{"b":', message: expect.stringMatching(/^line 2: \(record\): invalid JSON/) as unknown }],
    });
  });
});
