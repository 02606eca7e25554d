import { describe, expect, it } from 'vitest';
import { conflictKey, objectKey, type KeyParts } from './keys.js';

const base: KeyParts = { dt: '2026-03-14', writerId: 'pod-a', spoolId: '1a2b3c4d', seqFrom: 1, seqTo: 1000, format: 'parquet', compression: 'zstd' };

describe('objectKey', () => {
  it.each<[Partial<KeyParts>, string]>([
    [{}, 'dt=2026-03-14/pod-a-1a2b3c4d-000000000001-000000001000.parquet'],
    [{ compression: 'snappy' }, 'dt=2026-03-14/pod-a-1a2b3c4d-000000000001-000000001000.parquet'],
    [{ format: 'ndjson', compression: 'gzip' }, 'dt=2026-03-14/pod-a-1a2b3c4d-000000000001-000000001000.ndjson.gz'],
    [{ format: 'ndjson', compression: 'none' }, 'dt=2026-03-14/pod-a-1a2b3c4d-000000000001-000000001000.ndjson'],
    [{ format: 'csv', compression: 'gzip' }, 'dt=2026-03-14/pod-a-1a2b3c4d-000000000001-000000001000.csv.gz'],
    [{ format: 'csv', compression: 'none' }, 'dt=2026-03-14/pod-a-1a2b3c4d-000000000001-000000001000.csv'],
    [{ dt: '1999-12-31', seqFrom: 123456789012, seqTo: 123456789012 }, 'dt=1999-12-31/pod-a-1a2b3c4d-123456789012-123456789012.parquet'],
    [{ writerId: 'ip-10-0-0-1.ec2.internal' }, 'dt=2026-03-14/ip-10-0-0-1.ec2.internal-1a2b3c4d-000000000001-000000001000.parquet'],
  ])('%j → %s', (over, key) => {
    expect(objectKey({ ...base, ...over })).toBe(key);
  });

  it('is deterministic and distinct per writer, spool, dt and range', () => {
    const keys = new Set([
      objectKey(base),
      objectKey({ ...base, writerId: 'pod-b' }),
      objectKey({ ...base, spoolId: 'ffffffff' }),
      objectKey({ ...base, dt: '2026-03-13' }),
      objectKey({ ...base, seqTo: 999 }),
    ]);
    expect(keys.size).toBe(5);
    expect(objectKey(base)).toBe(objectKey({ ...base }));
  });

  it('sorts in sequence order', () => {
    const a = objectKey({ ...base, seqFrom: 9, seqTo: 99 });
    const b = objectKey({ ...base, seqFrom: 100, seqTo: 1000 });
    expect([b, a].sort()).toEqual([a, b]);
  });

  it.each<[Partial<KeyParts>, RegExp]>([
    [{ dt: '2026-3-14' }, /dt/],
    [{ dt: '../etc' }, /dt/],
    [{ writerId: 'a/b' }, /writer id/],
    [{ seqFrom: 0 }, /sequence range/],
    [{ seqFrom: 5, seqTo: 4 }, /sequence range/],
  ])('refuses %j', (over, message) => {
    expect(() => objectKey({ ...base, ...over })).toThrow(message);
  });
});

describe('conflictKey', () => {
  const sha = `0123456789abcdef${'9'.repeat(48)}`;
  it.each<[string, string, string]>([
    ['dt=2026-03-14/pod-a-1a2b3c4d-000000000001-000000001000.parquet', '.parquet', 'dt=2026-03-14/pod-a-1a2b3c4d-000000000001-000000001000-0123456789abcdef.parquet'],
    ['dt=2026-03-14/pod-a-1a2b3c4d-000000000001-000000001000.ndjson.gz', '.ndjson.gz', 'dt=2026-03-14/pod-a-1a2b3c4d-000000000001-000000001000-0123456789abcdef.ndjson.gz'],
    ['dt=2026-03-14/pod-a-1a2b3c4d-000000000001-000000001000.csv', '.csv', 'dt=2026-03-14/pod-a-1a2b3c4d-000000000001-000000001000-0123456789abcdef.csv'],
  ])('%s → %s', (key, ext, moved) => {
    expect(conflictKey({ key, ext, sha256: sha })).toBe(moved);
  });

  it('gives the same rows the same key, other rows another, and nothing to move to from its own result', () => {
    const key = objectKey(base);
    const moved = conflictKey({ key, ext: '.parquet', sha256: sha })!;
    expect(conflictKey({ key, ext: '.parquet', sha256: sha })).toBe(moved);
    expect(conflictKey({ key, ext: '.parquet', sha256: `f${sha.slice(1)}` })).not.toBe(moved);
    expect(conflictKey({ key: moved, ext: '.parquet', sha256: sha })).toBeUndefined();
    // A key moved for other rows can move again for these.
    expect(conflictKey({ key: moved, ext: '.parquet', sha256: `f${sha.slice(1)}` })).toMatch(/-0123456789abcdef-f123456789abcdef\.parquet$/);
  });

  it.each<[string, string, string, RegExp]>([
    ['dt=2026-03-14/a.parquet', '.csv', sha, /does not end with \.csv/],
    ['dt=2026-03-14/a.parquet', '.parquet', 'ABC', /is not a hex SHA-256/],
  ])('refuses %s with %s', (key, ext, sha256, message) => {
    expect(() => conflictKey({ key, ext, sha256 })).toThrow(message);
  });
});
