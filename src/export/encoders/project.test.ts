import { describe, expect, it } from 'vitest';
import { buildSchema, loadNamedSchema, loadSchema } from '../../schema/schema.js';
import { createValidator } from '../../schema/validate.js';
import { createBodyProjector } from './project.js';

const schema = buildSchema({
  name: 't',
  version: 1,
  eventTypes: [],
  columns: ['A', 'B', 'C'].map((name) => ({ name, type: 'VARCHAR', required: false, description: name })),
});
const project = createBodyProjector(schema);

describe('createBodyProjector', () => {
  it.each([
    ['a body in the schema form, kept as it is', '{"A":"x","B":null,"C":"z"}', '{"A":"x","B":null,"C":"z"}'],
    ['a missing key becomes null', '{"A":"x","C":"z"}', '{"A":"x","B":null,"C":"z"}'],
    ['an extra key is left out', '{"A":"x","B":"y","C":"z","D":"extra"}', '{"A":"x","B":"y","C":"z"}'],
    ['keys in another order are put in schema order', '{"C":"z","B":"y","A":"x"}', '{"A":"x","B":"y","C":"z"}'],
    ['a value ending in a comma', '{"A":"x,","B":"y","C":"z,"}', '{"A":"x,","B":"y","C":"z,"}'],
    ['a value that looks like a key', '{"A":"q,\\"B\\":1","C":"z"}', '{"A":"q,\\"B\\":1","B":null,"C":"z"}'],
    ['a value ending in a backslash', '{"A":"x\\\\","B":"y","C":"z"}', '{"A":"x\\\\","B":"y","C":"z"}'],
    ['numbers stay numbers', '{"A":42,"C":null}', '{"A":42,"B":null,"C":null}'],
  ])('%s', (_what, body, expected) => {
    const out = project(body);
    expect(out).toBe(expected);
    expect(JSON.parse(out)).toEqual(JSON.parse(expected));
  });

  it('keeps a body the validator wrote under the same schema byte for byte, tricky values included', () => {
    const okta = loadNamedSchema('okta-security.v1');
    const validator = createValidator(okta, { strictEventTypes: false, maxStringLength: 4096, eventTime: { min: '2000-01-01T00:00:00Z', maxAheadMs: 86_400_000 } });
    const raw: unknown[] = new Array(okta.columns.length);
    const set = (name: string, value: unknown) => (raw[okta.column(name).index] = value);
    set('ORGANIZATION_ID', 'org,"EVENT_ID":"x"');
    set('EVENT_ID', 'e1,');
    set('EVENT_TIME', '2026-03-14T09:26:53.589Z');
    set('EVENT_TYPE', 'user_login');
    set('TARGETS', '[{"id":"00u1","type":"User"}]');
    set('CLIENT_IP', '\\');
    const result = validator.validate(raw);
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    const body = validator.toJson(result.row.values);
    expect(createBodyProjector(okta)(body)).toBe(body);
    // The same body exported under the Airkit schema: exactly its 29 keys, values unchanged.
    const airkit = loadSchema();
    const narrowed = JSON.parse(createBodyProjector(airkit)(body)) as Record<string, unknown>;
    expect(Object.keys(narrowed)).toEqual(airkit.columns.map((c) => c.name));
    expect(narrowed.ORGANIZATION_ID).toBe('org,"EVENT_ID":"x"');
  });
});
