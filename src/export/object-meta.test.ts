import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { compareRows, createRowsHasher, dataObjectMetadata, metadataNames } from './object-meta.js';

describe('createRowsHasher', () => {
  it('hashes the bodies in order, each followed by a newline (an uncompressed NDJSON object of the rows)', () => {
    const bodies = ['{"EVENT_ID":"a"}', '{"EVENT_ID":"ü 🚀"}', '{}'];
    const h = createRowsHasher();
    for (const b of bodies) h.add(b);
    expect(h.digest()).toEqual({ rows: 3, sha256: createHash('sha256').update(`${bodies.join('\n')}\n`).digest('hex') });
  });

  it('hashes stored lines (bodies joined by newlines) as the same rows added one by one', () => {
    const bodies = ['{"EVENT_ID":"a"}', '{"EVENT_ID":"ü 🚀"}', '{}'];
    const one = createRowsHasher();
    for (const b of bodies) one.add(b);
    const lines = createRowsHasher();
    lines.addLines(Buffer.from(bodies.slice(0, 2).join('\n')), 2);
    lines.add(bodies[2]!);
    expect(lines.digest()).toEqual(one.digest());
  });

  it('tells order and row boundaries apart', () => {
    const of = (bodies: string[]): string => {
      const h = createRowsHasher();
      for (const b of bodies) h.add(b);
      return h.digest().sha256;
    };
    expect(new Set([of(['a', 'b']), of(['b', 'a']), of(['ab']), of(['a', 'b', ''])]).size).toBe(4);
  });

  it('hashes no rows as the empty input and refuses rows after the digest', () => {
    const h = createRowsHasher();
    expect(h.digest()).toEqual({ rows: 0, sha256: createHash('sha256').digest('hex') });
    expect(() => h.add('x')).toThrow(/add after digest/);
  });
});

describe('dataObjectMetadata', () => {
  it('names every fact with a lowercase logbarge- name and an ASCII value', () => {
    const meta = dataObjectMetadata({ rows: 1200, sha256: 'a'.repeat(64), writerId: 'Pod-A.ec2', spoolId: '1a2b3c4d', seqFrom: 1, seqTo: 1200, format: 'parquet', compression: 'zstd' });
    expect(meta).toEqual({
      'logbarge-rows': '1200',
      'logbarge-rows-sha256': 'a'.repeat(64),
      'logbarge-writer': 'Pod-A.ec2',
      'logbarge-spool': '1a2b3c4d',
      'logbarge-seq-from': '1',
      'logbarge-seq-to': '1200',
      'logbarge-format': 'parquet',
      'logbarge-compression': 'zstd',
    });
    expect(Object.keys(meta).sort()).toEqual(Object.values(metadataNames).sort());
  });
});

describe('compareRows', () => {
  const ours = { rows: 3, sha256: 'a'.repeat(64) };
  const meta = { 'logbarge-rows': '3', 'logbarge-rows-sha256': 'a'.repeat(64), 'logbarge-writer': 'pod-a' };
  it.each<[string, Record<string, string>, 'same' | 'different' | 'unknown']>([
    ['same rows and hash', meta, 'same'],
    ['same rows and hash, other provenance', { ...meta, 'logbarge-writer': 'renamed', 'logbarge-format': 'csv' }, 'same'],
    ['other hash', { ...meta, 'logbarge-rows-sha256': 'b'.repeat(64) }, 'different'],
    ['other row count', { ...meta, 'logbarge-rows': '4' }, 'different'],
    ['a row count without a hash', { 'logbarge-rows': '3' }, 'different'],
    ['a hash without a row count', { 'logbarge-rows-sha256': 'a'.repeat(64) }, 'different'],
    ['a malformed row count', { ...meta, 'logbarge-rows': '03' }, 'different'],
    ['no metadata (older logbarge)', {}, 'unknown'],
    ['another tool\'s metadata only', { 'uploaded-by': 'rclone' }, 'unknown'],
  ])('%s → %s', (_, existing, verdict) => {
    expect(compareRows(existing, ours)).toBe(verdict);
  });
});
