import { describe, expect, it } from 'vitest';
import { objectKey, type KeyParts } from './keys.js';

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
