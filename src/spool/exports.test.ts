import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  completeBatch,
  exportState,
  forgetExport,
  noteBatchError,
  noteExportError,
  planExport,
  pruneAll,
  pruneDelivered,
  pruneStep,
  readBatchLines,
  readBatchPage,
  registerExports,
  skipBatch,
  unnamedCursors,
  type PlanOptions,
} from './exports.js';
import Database from 'better-sqlite3';
import { contentKey, openSpool, type Spool } from './spool.js';
import { prepareStatements } from './sql.js';

const roomy = { maxEvents: 1e9, maxBytes: 1e12 };
let spool: Spool;
let dir: string;
afterEach(() => {
  spool?.close();
  rmSync(dir, { recursive: true, force: true });
});

function open(): Spool {
  dir = mkdtempSync(join(tmpdir(), 'logbarge-exports-'));
  spool = openSpool({ path: join(dir, 'spool.db') });
  return spool;
}

/** Appends events with the given dts, ids e1, e2, …; bodies are {"id": …}; `raw` gives some a raw record. */
function append(dts: string[], start = spool.stats().newestSeq + 1, raw: (seq: number) => string | null = () => null): void {
  const rows = dts.map((dt, i) => {
    const body = JSON.stringify({ id: start + i });
    const eventMs = Date.parse(`${dt.replace('quarantine:', '')}T00:00:00Z`);
    return { eventId: `e${start + i}`, eventMs, dt, body, raw: raw(start + i), content: contentKey(body) };
  });
  spool.appendGroups([rows], { now: 1000, limits: roomy });
}

const plan = (overrides: Partial<PlanOptions> = {}) =>
  planExport(spool, {
    exportName: 'a',
    maxRowsPerFile: 1000,
    maxRowsPerPlan: 1_000_000,
    destination: 'file:///x/',
    format: 'ndjson',
    compression: 'gzip',
    keyFor: ({ dt, seqFrom, seqTo }) => `dt=${dt}/w-${seqFrom}-${seqTo}.ndjson.gz`,
    now: 5,
    ...overrides,
  });

describe('planExport', () => {
  it('plans one batch per event date, interleaved dates included', async () => {
    open();
    append(['2026-03-14', '2026-03-13', '2026-03-14', '2026-03-13', '2026-03-14']);
    const p = await plan();
    expect(p.resumed).toBe(false);
    expect(p.batches.map((b) => [b.dt, b.seq_from, b.seq_to, b.row_count, b.object_key, b.state])).toEqual([
      ['2026-03-14', 1, 5, 3, 'dt=2026-03-14/w-1-5.ndjson.gz', 'planned'],
      ['2026-03-13', 2, 4, 2, 'dt=2026-03-13/w-2-4.ndjson.gz', 'planned'],
    ]);
    const page = readBatchPage(spool, p.batches[0]!, 0, 10);
    expect(page.map(([seq]) => seq)).toEqual([1, 3, 5]);
  });

  it('readBatchLines: the pages of readBatchPage; without raw records, as the bodies joined by newlines', async () => {
    open();
    // Seqs 1-12 on one date (seq 4 on another), seqs 8 and 9 with a raw record, seq 11 larger than the byte bound.
    const big = 'x'.repeat(200);
    append(Array.from({ length: 12 }, (_, i) => (i === 3 ? '2025-01-01' : '2026-03-14')), 1, (seq) => (seq === 8 || seq === 9 ? '{"r":1}' : seq === 11 ? big : null));
    const [batch] = (await plan()).batches;
    expect([batch!.dt, batch!.seq_from, batch!.seq_to, batch!.row_count]).toEqual(['2026-03-14', 1, 12, 11]);
    const bound = 100;
    const pages: unknown[] = [];
    for (let after = 0, page = readBatchLines(spool, batch!, after, 3, bound); page !== undefined; page = readBatchLines(spool, batch!, after, 3, bound)) {
      const expected = readBatchPage(spool, batch!, after, 3, bound);
      if ('lines' in page) {
        expect(expected.every(([, , raw]) => raw === null)).toBe(true);
        expect(page.lines.toString('utf8')).toBe(expected.map(([, body]) => body).join('\n'));
        expect([page.rows, page.lastSeq]).toEqual([expected.length, expected[expected.length - 1]![0]]);
        pages.push(['lines', expected.map(([seq]) => seq)]);
      } else {
        expect(page.rows).toEqual(expected);
        expect(page.lastSeq).toBe(expected[expected.length - 1]![0]);
        pages.push(['rows', expected.map(([seq]) => seq)]);
      }
      after = page.lastSeq;
    }
    expect(pages).toEqual([
      ['lines', [1, 2, 3]],
      ['lines', [5, 6, 7]],
      ['rows', [8, 9, 10]],
      ['rows', [11]],
      ['lines', [12]],
    ]);
  });

  it('readBatchLines: a page of small bodies is read in one query; a larger body within the bound takes the second pass; the same pages either way', async () => {
    open();
    // Bound 90 over 3 rows: bodies of at most 30 bytes in one query. Seq 5's body is 50 bytes
    // (over 30, and its page still fits in 90); seq 8 has a raw record.
    const rows = Array.from({ length: 9 }, (_, i) => {
      const seq = i + 1;
      const body = seq === 5 ? JSON.stringify({ id: seq, pad: 'p'.repeat(33) }) : JSON.stringify({ id: seq });
      return { eventId: `e${seq}`, eventMs: Date.parse('2026-03-14T00:00:00Z'), dt: '2026-03-14', body, raw: seq === 8 ? '{"r":1}' : null, content: contentKey(body) };
    });
    expect(rows[4]!.body.length).toBe(50);
    spool.appendGroups([rows], { now: 1000, limits: roomy });
    const [batch] = (await plan()).batches;
    const read = (joinedFirst: boolean) => {
      const pages: unknown[] = [];
      for (let after = 0, page = readBatchLines(spool, batch!, after, 3, 90, { joinedFirst }); page !== undefined; page = readBatchLines(spool, batch!, after, 3, 90, { joinedFirst })) {
        const expected = readBatchPage(spool, batch!, after, 3, 90);
        if ('lines' in page) expect(page.lines.toString('utf8')).toBe(expected.map(([, body]) => body).join('\n'));
        else expect(page.rows).toEqual(expected);
        pages.push('lines' in page ? [page.oneQuery ? 'one query' : 'two passes', page.rows, page.lastSeq] : ['rows', page.rows.length, page.lastSeq]);
        after = page.lastSeq;
      }
      return pages;
    };
    expect(read(true)).toEqual([
      ['one query', 3, 3],
      ['two passes', 3, 6],
      ['rows', 3, 9],
    ]);
    expect(read(false)).toEqual([
      ['two passes', 3, 3],
      ['two passes', 3, 6],
      ['rows', 3, 9],
    ]);
  });

  it('splits a date at maxRowsPerFile', async () => {
    open();
    append(Array.from({ length: 10 }, (_, i) => (i === 4 ? '2025-01-01' : '2026-03-14')));
    const p = await plan({ maxRowsPerFile: 4 });
    expect(p.batches.map((b) => [b.dt, b.seq_from, b.seq_to, b.row_count])).toEqual([
      ['2026-03-14', 1, 4, 4],
      ['2026-03-14', 6, 9, 4],
      ['2026-03-14', 10, 10, 1],
      ['2025-01-01', 5, 5, 1],
    ]);
  });

  it('resumes the open plan with the same keys instead of planning again', async () => {
    open();
    append(['2026-03-14', '2026-03-14']);
    const first = await plan();
    append(['2026-03-14']);
    const again = await plan({ keyFor: () => 'a-different-key' });
    expect(again.resumed).toBe(true);
    expect(again.batches.map((b) => b.object_key)).toEqual(first.batches.map((b) => b.object_key));
    expect(again.batches[0]!.seq_to).toBe(2);
  });

  it('caps a plan at maxRowsPerPlan and plans the rest next time', async () => {
    open();
    append(Array(10).fill('2026-03-14'));
    const p1 = await plan({ maxRowsPerPlan: 6 });
    expect(p1.batches.map((b) => [b.seq_from, b.seq_to])).toEqual([[1, 6]]);
    completeBatch(spool, p1.batches[0]!, { bytes: 1, now: 6 });
    const p2 = await plan({ maxRowsPerPlan: 6 });
    expect(p2.batches.map((b) => [b.seq_from, b.seq_to])).toEqual([[7, 10]]);
  });

  it('plans with range searches that start at the cursor: EXPLAIN QUERY PLAN shows no SCAN of events', async () => {
    open();
    append(Array.from({ length: 30 }, (_, i) => ['2026-03-14', '2026-03-13', 'quarantine:2026-03-15'][i % 3]!));
    completeBatch(spool, (await plan({ maxRowsPerPlan: 9 })).batches.at(-1)!, { bytes: 1, now: 6 });
    for (const b of spool.sql.openBatches.all('a')) completeBatch(spool, b, { bytes: 1, now: 6 });
    // The same spool file through a connection that records every statement it runs (expanded).
    const seen: string[] = [];
    const traced = new Database(spool.path, { verbose: (text) => seen.push(String(text)) });
    try {
      const view: Spool = { ...spool, db: traced, sql: prepareStatements(traced) };
      const p = await planExport(view, {
        exportName: 'a', maxRowsPerFile: 4, maxRowsPerPlan: 1_000_000, destination: 'file:///x/', format: 'ndjson', compression: 'gzip',
        keyFor: ({ dt, seqFrom, seqTo }) => `dt=${dt}/w-${seqFrom}-${seqTo}`, now: 7,
      });
      expect(p.batches.map((b) => [b.dt, b.seq_from, b.seq_to, b.row_count])).toEqual([
        ['2026-03-14', 10, 19, 4], ['2026-03-14', 22, 28, 3],
        ['2026-03-13', 11, 20, 4], ['2026-03-13', 23, 29, 3],
        ['quarantine:2026-03-15', 12, 21, 4], ['quarantine:2026-03-15', 24, 30, 3],
      ]);
      const reads = seen.filter((text) => /^\s*SELECT/i.test(text) && /\bevents\b/.test(text));
      expect(reads.length).toBeGreaterThan(0);
      for (const text of reads) {
        const steps = traced.prepare(`EXPLAIN QUERY PLAN ${text}`).all() as { detail: string }[];
        const scans = steps.filter((s) => /^SCAN events\b/.test(s.detail));
        expect(scans, `${text}\n${steps.map((s) => s.detail).join('\n')}`).toEqual([]);
      }
    } finally {
      traced.close();
    }
  });

  it('plans nothing when the export is caught up', async () => {
    open();
    expect((await plan()).batches).toEqual([]);
    append(['2026-03-14']);
    completeBatch(spool, (await plan()).batches[0]!, { bytes: 1, now: 6 });
    expect((await plan()).batches).toEqual([]);
  });
});

describe('completeBatch', () => {
  it('advances the cursor only when the last batch of the plan is done, idempotently', async () => {
    open();
    append(['2026-03-14', '2026-03-13']);
    const [b1, b2] = (await plan()).batches;
    expect(completeBatch(spool, b1!, { bytes: 10, now: 7 })).toEqual({ cursorAdvanced: false });
    expect(exportState(spool, 'a')).toMatchObject({ committedSeq: 0, pendingRows: 2, openBatches: 1 });
    expect(completeBatch(spool, b2!, { bytes: 20, now: 8 })).toEqual({ cursorAdvanced: true });
    expect(completeBatch(spool, b2!, { bytes: 20, now: 9 })).toEqual({ cursorAdvanced: false });
    expect(exportState(spool, 'a')).toMatchObject({
      committedSeq: 2,
      pendingRows: 0,
      openBatches: 0,
      lastSuccess: 8,
      lastUpload: { key: 'dt=2026-03-13/w-2-2.ndjson.gz', bytes: 20, rows: 1 },
    });
  });

  it('keeps failures on the batch and clears them on success', async () => {
    open();
    append(['2026-03-14']);
    const [b] = (await plan()).batches;
    noteBatchError(spool, b!, 'upload: S3 down', 50);
    noteBatchError(spool, b!, 'upload: S3 still down', 60);
    expect(exportState(spool, 'a')).toMatchObject({ failingBatches: 1, failedAttempts: 2, lastError: 'upload: S3 still down', lastErrorAt: 60 });
    completeBatch(spool, b!, { bytes: 1, now: 70 });
    expect(exportState(spool, 'a')).toMatchObject({ failingBatches: 0, lastError: null });
  });
});

describe('skipBatch', () => {
  it("clears the export's last error when it was the skipped batch's: a skipped batch is reported as skipped, not as the error", async () => {
    open();
    append(['2026-03-14']);
    const [b] = (await plan()).batches;
    noteBatchError(spool, b!, 'upload: poison', 50);
    expect(exportState(spool, 'a')).toMatchObject({ lastError: 'upload: poison', lastErrorAt: 50, stuckBatch: { id: b!.id } });
    expect(skipBatch(spool, b!, { deadLetter: '/x/batch.ndjson.gz', now: 60 })).toEqual({ skipped: true, cursorAdvanced: true });
    expect(exportState(spool, 'a')).toMatchObject({ lastError: null, lastErrorAt: null, stuckBatch: null, skipped: { batches: 1, rows: 1 }, lastSuccess: null });
  });

  it("keeps an error that is not the skipped batch's: another open batch's, or a later failure of the export", async () => {
    open();
    append(['2026-03-14', '2026-03-13', '2026-03-12']);
    const [b1, b2, b3] = (await plan()).batches;
    // b2 failed after b1: the export's last error is b2's, and skipping b1 leaves it.
    noteBatchError(spool, b1!, 'upload: poison', 50);
    noteBatchError(spool, b2!, 'upload: S3 down', 60);
    expect(skipBatch(spool, b1!, { deadLetter: '/x/b1.ndjson.gz', now: 70 })).toEqual({ skipped: true, cursorAdvanced: false });
    expect(exportState(spool, 'a')).toMatchObject({ lastError: 'upload: S3 down', lastErrorAt: 60, stuckBatch: { id: b2!.id } });
    // A failure after the batch's (verify failed) stays too.
    noteBatchError(spool, b3!, 'upload: poison too', 80);
    noteExportError(spool, 'a', 'verify: access denied', 90);
    skipBatch(spool, b3!, { deadLetter: '/x/b3.ndjson.gz', now: 100 });
    expect(exportState(spool, 'a')).toMatchObject({ lastError: 'verify: access denied', lastErrorAt: 90 });
  });

  it("falls back to the error of a batch still open when the skipped batch's was the last", async () => {
    open();
    append(['2026-03-14', '2026-03-13']);
    const [b1, b2] = (await plan()).batches;
    noteBatchError(spool, b2!, 'upload: S3 down', 50);
    noteBatchError(spool, b1!, 'upload: poison', 60);
    skipBatch(spool, b1!, { deadLetter: '/x/b1.ndjson.gz', now: 70 });
    expect(exportState(spool, 'a')).toMatchObject({ lastError: 'upload: S3 down', stuckBatch: { id: b2!.id } });
  });
});

describe('pruneDelivered', () => {
  it('deletes only what every recorded export delivered, and keeps the counters right', async () => {
    open();
    registerExports(spool, ['a', 'b']);
    append(['2026-03-14', '2026-03-14', '2026-03-14']);
    const bytesPerRow = spool.stats().bytes / 3;
    completeBatch(spool, (await plan()).batches[0]!, { bytes: 1, now: 6 });
    expect(pruneDelivered(spool, 10)).toBe(0); // b has not started
    const pb = await plan({ exportName: 'b', maxRowsPerPlan: 2 });
    completeBatch(spool, pb.batches[0]!, { bytes: 1, now: 6 });
    expect(pruneDelivered(spool, 1)).toBe(2);
    expect(spool.stats()).toMatchObject({ depth: 1, bytes: bytesPerRow, newestSeq: 3 });
    completeBatch(spool, (await plan({ exportName: 'b' })).batches[0]!, { bytes: 1, now: 7 });
    expect(pruneDelivered(spool, 10)).toBe(1);
    expect(spool.stats()).toMatchObject({ depth: 0, bytes: 0, newestSeq: 3 });
    // Sequence numbers are never reused after pruning (object names depend on it).
    append(['2026-03-14']);
    expect(spool.stats().newestSeq).toBe(4);
    expect(spool.hasEventId('e1')).toBe(true);
  });

  it('pruneAll deletes every event at once only when all are delivered and they are few enough', async () => {
    open();
    registerExports(spool, ['a', 'b']);
    append(['2026-03-14', '2026-03-15', '2026-03-14']);
    for (const batch of (await plan()).batches) completeBatch(spool, batch, { bytes: 1, now: 6 });
    const pb = await plan({ exportName: 'b', destination: 'file:///y/', maxRowsPerPlan: 2 });
    for (const batch of pb.batches) completeBatch(spool, batch, { bytes: 1, now: 6 });
    const floor = (): number => Math.min(...['a', 'b'].map((name) => exportState(spool, name).committedSeq));
    expect(floor()).toBe(2);
    expect(pruneAll(spool, floor(), 10)).toBeUndefined(); // seq 3 is not delivered by b
    expect(spool.stats().depth).toBe(3);
    for (const batch of (await plan({ exportName: 'b', destination: 'file:///y/' })).batches) completeBatch(spool, batch, { bytes: 1, now: 7 });
    expect(pruneAll(spool, floor(), 2)).toBeUndefined(); // more rows than allowed
    expect(pruneAll(spool, floor(), 3)).toBe(3);
    expect(spool.stats()).toMatchObject({ depth: 0, bytes: 0, newestSeq: 3 });
    expect(pruneAll(spool, floor(), 3)).toBeUndefined(); // nothing left
    // Sequence numbers go on after the truncation; the idempotency keys stay.
    append(['2026-03-14']);
    expect(spool.stats()).toMatchObject({ depth: 1, newestSeq: 4 });
    expect(spool.hasEventId('e1')).toBe(true);
  });

  it('keeps the events of a cursor recorded after the floor was read (another process planning from 0)', async () => {
    open();
    registerExports(spool, ['a']);
    append(['2026-03-14', '2026-03-14', '2026-03-14']);
    for (const batch of (await plan()).batches) completeBatch(spool, batch, { bytes: 1, now: 6 });
    const stale = exportState(spool, 'a').committedSeq;
    expect(stale).toBe(3);
    // Meanwhile another process (a flush with another config) records its export and plans (0, 3].
    const other = await plan({ exportName: 'other', destination: 'file:///z/' });
    expect(other.batches.map((b) => b.row_count)).toEqual([3]);
    expect(pruneAll(spool, stale, 10)).toBeUndefined();
    expect(pruneStep(spool, stale, 10)).toBe(0);
    expect(spool.stats().depth).toBe(3);
    expect(readBatchPage(spool, other.batches[0]!, 0, 10)).toHaveLength(3);
  });

  it('pruneAll leaves a spool holding more than maxBytes to the chunked steps', async () => {
    open();
    registerExports(spool, ['a']);
    append(['2026-03-14', '2026-03-14']);
    for (const batch of (await plan()).batches) completeBatch(spool, batch, { bytes: 1, now: 6 });
    const bytes = spool.stats().bytes;
    expect(pruneAll(spool, 2, 10, bytes - 1)).toBeUndefined();
    expect(pruneAll(spool, 2, 10, bytes)).toBe(2);
  });

  it('waits for a recorded cursor that the caller does not name, until it is forgotten', async () => {
    open();
    registerExports(spool, ['a', 'b']);
    append(['2026-03-14', '2026-03-15']);
    for (const batch of (await plan()).batches) completeBatch(spool, batch, { bytes: 1, now: 6 });
    // A process whose config names only a: b's cursor still holds every event back.
    registerExports(spool, ['a']);
    expect(unnamedCursors(spool, ['a'])).toEqual(['b']);
    expect(pruneDelivered(spool, 10)).toBe(0);
    const open_ = await plan({ exportName: 'b', destination: 'file:///y/' });
    expect(open_.batches.map((b) => b.row_count)).toEqual([1, 1]);
    expect(forgetExport(spool, 'nope')).toBe(false);
    expect(forgetExport(spool, 'b')).toBe(true);
    expect(spool.db.prepare("SELECT count(*) FROM export_batches WHERE export = 'b'").pluck().get()).toBe(0);
    expect(unnamedCursors(spool, ['a'])).toEqual([]);
    expect(pruneDelivered(spool, 10)).toBe(2);
  });
});

describe('planExport on a destination another export writes', () => {
  it('refuses with an error naming both exports instead of a bare constraint failure', async () => {
    open();
    append(['2026-03-14']);
    await plan();
    await expect(plan({ exportName: 'b' })).rejects.toThrow(/plan export b: object key dt=2026-03-14\/w-1-1.ndjson.gz at file:\/\/\/x\/ is already recorded by export a/);
  });
});
