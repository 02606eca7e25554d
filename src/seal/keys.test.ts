/**
 * Table tests of the pure parts of sealing: key naming, which keys are raw data objects, which day
 * is finished, and when a pending deletion may run.
 */
import { describe, expect, it } from 'vitest';
import {
  addDays,
  checkDay,
  dayOfPendingKey,
  dayOfRecordKey,
  generationOfLeaseKey,
  leaseKey,
  newestFinishedDay,
  pendingKey,
  rawObjectFormat,
  sealedFileKey,
  sealIdAt,
  sealIdOfFile,
  sealRecordKey,
} from './keys.js';
import { dtOfKey } from './late.js';
import { deletable } from './pending.js';
import type { SealRecord } from './record.js';
import { windowDays } from './run.js';

describe('seal keys', () => {
  it.each([
    ['2026-03-14', 'abc123', 0, '_sealed/dt=2026-03-14/abc123-00000.parquet'],
    ['2026-03-14', 'abc123', 12, '_sealed/dt=2026-03-14/abc123-00012.parquet'],
    ['2025-12-31', 'Z9', 99_999, '_sealed/dt=2025-12-31/Z9-99999.parquet'],
  ])('sealedFileKey(%s, %s, %i) = %s, and the seal id reads back', (dt, id, part, key) => {
    expect(sealedFileKey({ dt, sealId: id, part })).toBe(key);
    expect(sealIdOfFile(key)).toBe(id);
  });

  it.each([
    ['2026-02-30', /not a YYYY-MM-DD date/],
    ['2026-3-14', /not a YYYY-MM-DD date/],
    ['../etc', /not a YYYY-MM-DD date/],
  ])('refuses the day %s', (dt, error) => {
    expect(() => checkDay(dt)).toThrow(error);
    expect(() => sealRecordKey(dt)).toThrow(error);
  });

  it.each([['a-b'], ['a_b'], [''], ['a'.repeat(65)], ['a.b']])('refuses the seal id %j (the view matches ids as letters and digits)', (id) => {
    expect(() => sealedFileKey({ dt: '2026-03-14', sealId: id, part: 0 })).toThrow(/seal id/);
  });

  it('makes seal ids that sort by time', () => {
    const a = sealIdAt(Date.parse('2026-03-17T02:03:04.567Z'), 'ff00');
    const b = sealIdAt(Date.parse('2026-03-17T10:00:00Z'), '0000');
    expect(a).toBe('20260317T020304Zff00');
    expect(a < b).toBe(true);
  });

  it.each([
    [sealRecordKey('2026-03-14'), '_seals/dt=2026-03-14.json'],
    [pendingKey('2026-03-14'), '_seal_pending/dt=2026-03-14.json'],
    [leaseKey('2026-03-14', 7), '_seal_leases/dt=2026-03-14/000007.json'],
  ])('%s is %s', (got, want) => {
    expect(got).toBe(want);
  });

  it('reads days and generations back from keys, and nothing from other keys', () => {
    expect(dayOfRecordKey('_seals/dt=2026-03-14.json')).toBe('2026-03-14');
    expect(dayOfRecordKey('_seals/dt=2026-03-14.json.tmp')).toBeUndefined();
    expect(dayOfPendingKey('_seal_pending/dt=2026-03-14.json')).toBe('2026-03-14');
    expect(generationOfLeaseKey('_seal_leases/dt=2026-03-14/000012.json')).toBe(12);
    expect(generationOfLeaseKey('_seal_leases/dt=2026-03-14/x.json')).toBeUndefined();
    expect(dtOfKey('dt=2026-03-14/pod-a-x-1-2.parquet')).toBe('2026-03-14');
    expect(dtOfKey('_sealed/dt=2026-03-14/a-00000.parquet')).toBeUndefined();
  });

  it.each([
    ['dt=2026-03-14/pod-a-abc-000000000001-000000000009.parquet', { format: 'parquet', gzip: false }],
    ['dt=2026-03-14/pod-a-abc-1-9.ndjson.gz', { format: 'ndjson', gzip: true }],
    ['dt=2026-03-14/pod-a-abc-1-9.ndjson', { format: 'ndjson', gzip: false }],
    ['dt=2026-03-14/pod-a-abc-1-9.csv.gz', { format: 'csv', gzip: true }],
    ['dt=2026-03-14/pod-a-abc-1-9.csv', { format: 'csv', gzip: false }],
    ['dt=2026-03-14/pod-a-abc-1-9.parquet.gz', undefined],
    ['dt=2026-03-14/nested/x.parquet', undefined],
    ['dt=2026-03-14/notes.txt', undefined],
    ['dt=2026-03-15/pod-a-abc-1-9.parquet', undefined],
  ])('rawObjectFormat(2026-03-14, %s)', (key, want) => {
    expect(rawObjectFormat('2026-03-14', key)).toEqual(want);
  });
});

describe('finished days', () => {
  it.each([
    // A day ends at the next midnight (UTC); it is finished afterHours later.
    ['2026-03-17T00:00:00Z', 48, '2026-03-14'],
    ['2026-03-16T23:59:59Z', 48, '2026-03-13'],
    ['2026-03-17T00:00:00Z', 0, '2026-03-16'],
    ['2026-03-17T05:00:00Z', 5, '2026-03-16'],
    ['2026-03-17T04:59:59Z', 5, '2026-03-15'],
  ])('at %s with afterHours %i the newest finished day is %s', (now, hours, day) => {
    expect(newestFinishedDay(Date.parse(now), hours)).toBe(day);
  });

  it('looks back lookbackDays days, oldest first, across month and year ends', () => {
    expect(windowDays({ now: Date.parse('2026-01-03T00:00:00Z'), afterHours: 24, lookbackDays: 3 })).toEqual(['2025-12-30', '2025-12-31', '2026-01-01']);
    expect(addDays('2024-02-28', 1)).toBe('2024-02-29');
  });
});

describe('pending deletions', () => {
  const record = (over: Partial<SealRecord> = {}): SealRecord => ({
    format: 'logbarge-seal/1',
    dt: '2026-03-14',
    seal_id: 'new1',
    sealed_at: '2026-03-17T00:00:00.000Z',
    sealed_by: 'test',
    rows: 1,
    input_rows: 1,
    duplicates: 0,
    conflicts: 0,
    columns: [],
    files: [{ key: '_sealed/dt=2026-03-14/new1-00000.parquet', bytes: 1, rows: 1, sha256: '0'.repeat(64), first_event_time: '', last_event_time: '' }],
    raw: [{ key: 'dt=2026-03-14/a.parquet', bytes: 1, sha256: '0'.repeat(64) }],
    raw_delete_after: '2026-03-18T00:00:00.000Z',
    replaces: null,
    ...over,
  });
  const now = Date.parse('2026-03-18T01:00:00Z');
  const due = '2026-03-18T00:00:00.000Z';
  it.each([
    ['a file of the current seal stays', { key: '_sealed/dt=2026-03-14/new1-00000.parquet', kind: 'sealed' as const, due }, record(), false],
    ['a file of a replaced seal goes', { key: '_sealed/dt=2026-03-14/old1-00000.parquet', kind: 'sealed' as const, due }, record(), true],
    ['a file of a seal that never wrote its record goes', { key: '_sealed/dt=2026-03-14/new1-00000.parquet', kind: 'sealed' as const, due }, undefined, true],
    ['a covered raw object goes after raw_delete_after', { key: 'dt=2026-03-14/a.parquet', kind: 'raw' as const, due }, record(), true],
    ['a raw object stays before raw_delete_after', { key: 'dt=2026-03-14/a.parquet', kind: 'raw' as const, due }, record({ raw_delete_after: '2026-03-19T00:00:00.000Z' }), false],
    ['a raw object stays when the record keeps raw objects', { key: 'dt=2026-03-14/a.parquet', kind: 'raw' as const, due }, record({ raw_delete_after: null }), false],
    ['a raw object the record does not cover stays', { key: 'dt=2026-03-14/late.parquet', kind: 'raw' as const, due }, record(), false],
    ['a raw object of a day without a record stays', { key: 'dt=2026-03-14/a.parquet', kind: 'raw' as const, due }, undefined, false],
  ])('%s', (_what, entry, current, want) => {
    expect(deletable({ entry, record: current, now })).toBe(want);
  });
});
