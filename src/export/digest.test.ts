import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  canonicalJson,
  digestBytes,
  digestKey,
  parseDigest,
  parsePeriod,
  periodEndAfter,
  publicKeyFingerprint,
  signDigest,
  verifyDigestSignature,
  type DigestBody,
} from './digest.js';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');

function body(): DigestBody {
  return {
    version: 1,
    export: 'athena',
    writer: 'pod-a',
    spool: '1a2b3c4d',
    periodStart: '2026-12-03T07:00:00.000Z',
    periodEnd: '2026-12-03T08:00:00.000Z',
    previous: null,
    publicKeyFingerprint: publicKeyFingerprint(publicKey),
    objects: [{ key: 'dt=2026-12-03/pod-a-1a2b3c4d-000000000001-000000000002.parquet', bytes: 10, sha256: 'a'.repeat(64), rows: 2, dt: '2026-12-03', seqFrom: 1, seqTo: 2 }],
  };
}

describe('canonicalJson', () => {
  it.each([
    [{ b: 1, a: [true, null, 'x'] }, '{"a":[true,null,"x"],"b":1}'],
    [{ z: { y: 1, x: 2 } }, '{"z":{"x":2,"y":1}}'],
    ['é\n', '"é\\n"'],
  ])('%j → %s', (value, text) => expect(canonicalJson(value)).toBe(text));
  it('refuses non-JSON numbers', () => expect(() => canonicalJson({ a: Number.NaN })).toThrow(/not a JSON number/));
});

describe('signed digests', () => {
  it('verify with the public key, and not after any field changes', () => {
    const signed = signDigest(body(), privateKey);
    expect(verifyDigestSignature(signed, publicKey)).toBe(true);
    expect(verifyDigestSignature({ ...signed, writer: 'pod-b' }, publicKey)).toBe(false);
    expect(verifyDigestSignature({ ...signed, objects: [{ ...signed.objects[0]!, bytes: 11 }] }, publicKey)).toBe(false);
    const other = generateKeyPairSync('ed25519').publicKey;
    expect(verifyDigestSignature(signed, other)).toBe(false);
  });
  it('are stored as the same bytes when signed again, and parse back', () => {
    const a = digestBytes(signDigest(body(), privateKey));
    const b = digestBytes(signDigest(body(), privateKey));
    expect(a.equals(b)).toBe(true);
    const parsed = parseDigest(a);
    expect('digest' in parsed && verifyDigestSignature(parsed.digest, publicKey)).toBe(true);
  });
  it('name the field a malformed digest gets wrong', () => {
    const signed = signDigest(body(), privateKey);
    const bad = { ...signed, objects: [{ ...signed.objects[0]!, sha256: 'xyz' }] };
    expect(parseDigest(Buffer.from(JSON.stringify(bad)))).toEqual({ problem: 'objects[0].sha256: not a hex SHA-256' });
    expect(parseDigest(Buffer.from('{'))).toMatchObject({ problem: expect.stringMatching(/^not JSON/) });
    expect(parseDigest(Buffer.from(JSON.stringify({ ...signed, version: 2 })))).toEqual({ problem: 'version: 2 is not 1' });
  });
  it('refuses a key that is not ed25519', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
    expect(() => signDigest(body(), rsa)).toThrow(/rsa, not ed25519/);
  });
});

describe('digest keys and periods', () => {
  it('names a period end in UTC', () => {
    expect(digestKey('pod-a', '1a2b', Date.parse('2026-12-03T08:00:00.000Z'))).toBe('_digest/pod-a-1a2b/20261203T080000Z.json');
    expect(digestKey('pod-a', '1a2b', Date.parse('2026-12-03T08:00:00.250Z'))).toBe('_digest/pod-a-1a2b/20261203T080000.250Z.json');
    expect(() => digestKey('pod a', '1a2b', 0)).toThrow(/unsafe/);
  });
  it.each([
    ['1h', 3_600_000],
    ['15m', 900_000],
    ['1d', 86_400_000],
    ['30s', undefined],
    ['2d', undefined],
    ['h', undefined],
  ])('period %s → %s', (text, ms) => expect(parsePeriod(text)).toBe(ms));
  it('aligns period ends to the epoch', () => {
    expect(periodEndAfter(Date.parse('2026-12-03T07:59:59.999Z'), 3_600_000)).toBe(Date.parse('2026-12-03T08:00:00.000Z'));
    expect(periodEndAfter(Date.parse('2026-12-03T08:00:00.000Z'), 3_600_000)).toBe(Date.parse('2026-12-03T09:00:00.000Z'));
  });
});
