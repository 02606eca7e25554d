import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { contentKey, openSpool, type SpoolRow } from '../spool/spool.js';

const script = fileURLToPath(new URL('../../dist/bench/key-window.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'logbarge-keywindow-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('bench key-window: a spool whose idempotency window holds delivered keys', () => {
  const path = join(dir, 'spool.db');
  const endMs = Date.UTC(2026, 2, 12, 9);
  const keys = 7_777; // not a divisor of the span: the generated times must still be integers

  it('generates the keys in the layout of migrations/000003.sql, counted, with the events sequence past them', () => {
    const r = spawnSync(process.execPath, ['--no-warnings', script, '--fill', path, '--keys', String(keys), '--end-ms', String(endMs), '--days', '7'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim()).keys).toBe(keys);
    const spool = openSpool({ path });
    try {
      expect(spool.counters()).toEqual({ depth: 0, bytes: 0, keys });
      const shape = spool.db
        .prepare(
          `SELECT count(*) AS n, min(seq) AS lo, max(seq) AS hi, min(event_ms) AS first, max(event_ms) AS last,
                  sum(typeof(event_ms) = 'integer') AS intMs, sum(typeof(id_hash) = 'integer') AS intHash,
                  sum(length(content) = 16) AS content16, max(id_hash) < 281474976710656 AS hash48
             FROM event_keys`,
        )
        .get();
      expect(shape).toEqual({ n: keys, lo: 1, hi: keys, first: expect.any(Number), last: expect.any(Number), intMs: keys, intHash: keys, content16: keys, hash48: 1 });
      const { first, last } = shape as { first: number; last: number };
      expect(first).toBeGreaterThanOrEqual(endMs - 7 * 86_400_000);
      expect(last).toBeLessThanOrEqual(endMs);
      // Times follow seq (events arrive in time order).
      expect(spool.db.prepare('SELECT count(*) FROM event_keys a JOIN event_keys b ON b.seq = a.seq + 1 WHERE b.event_ms < a.event_ms').pluck().get()).toBe(0);
      // A new event gets the next seq and its key joins the window.
      const body = '{"EVENT_ID":"e-1"}';
      const row: SpoolRow = { eventId: 'e-1', eventMs: endMs + 1000, dt: '2026-03-12', body, raw: null, content: contentKey(body) };
      const [outcome] = spool.appendGroups([[row]], { now: endMs + 2000, limits: { maxEvents: 1e9, maxBytes: 1e12 } });
      expect(outcome).toMatchObject({ accepted: 1, duplicates: 0 });
      expect(spool.stats().newestSeq).toBe(keys + 1);
      expect(spool.counters().keys).toBe(keys + 1);
      const [again] = spool.appendGroups([[row]], { now: endMs + 3000, limits: { maxEvents: 1e9, maxBytes: 1e12 } });
      expect(again).toMatchObject({ accepted: 0, duplicates: 1 });
    } finally {
      spool.close();
    }
  });
});
