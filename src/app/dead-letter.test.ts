/**
 * skipPoisonBatch against a real spool file: the dead-letter file holds every row of the batch
 * once, in order, whatever the page bound (pages of many small rows, a row larger than a page).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { pauseExport, planExport, readBatchPage } from '../spool/exports.js';
import { contentKey, openSpool, type Spool } from '../spool/spool.js';
import { skipPoisonBatch } from './dead-letter.js';

let spool: Spool | undefined;
let dir: string;
afterEach(() => {
  spool?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('skipPoisonBatch', () => {
  it('writes every row of the batch once and in order when pages are bounded by bytes', async () => {
    dir = mkdtempSync(join(tmpdir(), 'logbarge-dead-letter-'));
    spool = openSpool({ path: join(dir, 'spool.db') });
    // 30 rows: small ones, and every seventh with a raw record larger than the whole page bound.
    const rows = Array.from({ length: 30 }, (_, i) => {
      const body = JSON.stringify({ EVENT_ID: `e${i}`, n: i });
      return { eventId: `e${i}`, eventMs: Date.UTC(2026, 11, 3) + i, dt: '2026-12-03', body, raw: i % 7 === 3 ? JSON.stringify({ big: 'x'.repeat(3000) }) : null, content: contentKey(body) };
    });
    spool.appendGroups([rows], { now: 1, limits: { maxEvents: 1e6, maxBytes: 1e12 } });
    const plan = await planExport(spool, {
      exportName: 'bad',
      maxRowsPerFile: 1000,
      maxRowsPerPlan: 1000,
      destination: 'file:///x/',
      format: 'ndjson',
      compression: 'gzip',
      keyFor: ({ dt, seqFrom, seqTo }) => `dt=${dt}/w-${seqFrom}-${seqTo}.ndjson.gz`,
      now: 2,
    });
    const batch = plan.batches[0]!;
    const pageBytes = 1000;
    // The bound makes pages of a few rows, and a page of one row for each large one.
    expect(readBatchPage(spool, batch, 0, 5000, pageBytes).length).toBeLessThan(30);
    expect(readBatchPage(spool, batch, 3, 5000, pageBytes).length).toBe(1);
    pauseExport(spool, 'bad', { reason: 'test', now: 3 });
    const skipped = await skipPoisonBatch({ spool, exportName: 'bad', batchId: batch.id, now: 4, pageBytes });
    expect(skipped.rows).toBe(30);
    const lines = gunzipSync(readFileSync(skipped.path)).toString('utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as { seq: number; event: { n: number }; raw: string | null });
    expect(lines.map((l) => l.seq)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(lines.map((l) => l.event.n)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(lines.map((l) => l.raw)).toEqual(rows.map((r) => r.raw));
  });
});
