import { describe, expect, it } from 'vitest';
import { sourceProfiles } from '../config/schema.js';
import { loadSchema } from '../schema/schema.js';
import { builtinProfiles } from './builtins.js';
import { createMapper } from './engine.js';

describe('built-in profiles', () => {
  it('are the ones the config accepts', () => {
    expect([...builtinProfiles.keys()].sort()).toEqual([...sourceProfiles].sort());
  });

  it('compile against the schema (every column they name exists, every path parses)', () => {
    expect(() => createMapper({ schema: loadSchema(), profiles: builtinProfiles })).not.toThrow();
  });

  it('push senders that never retry a 4xx quarantine by default', () => {
    expect(Object.fromEntries([...builtinProfiles.values()].map((p) => [p.name, p.onInvalid]))).toEqual({
      auto: 'reject', airkit: 'reject', generic: 'reject', eventbridge: 'quarantine', okta: 'quarantine', 'okta-hook': 'quarantine', strivacity: 'quarantine',
    });
  });
});
