/**
 * reclaimFreePages on a real spool file: pages freed by pruning are given back only when they are
 * most of the file (a large prune after a backlog); a prune smaller than what stays leaves them
 * on the free list for the next appends, instead of shrinking and regrowing the file every cycle.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { contentKey, openSpool, type Spool, type SpoolRow } from './spool.js';
import { pruneStep } from './exports.js';
import { noteFreePages, reclaimFreePages } from './vacuum.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function rows(from: number, n: number): SpoolRow[] {
  return Array.from({ length: n }, (_, k) => {
    const i = from + k;
    const body = JSON.stringify({ EVENT_ID: `r-${i}`, EVENT_TIME: '2026-03-14T09:26:53.589Z', pad: 'x'.repeat(1000) });
    return { eventId: `r-${i}`, eventMs: Date.UTC(2026, 2, 14) + i, dt: '2026-03-14', body, raw: null, content: contentKey(body) };
  });
}

function filled(n: number): Spool {
  const dir = mkdtempSync(join(tmpdir(), 'logbarge-vacuum-'));
  dirs.push(dir);
  const spool = openSpool({ path: join(dir, 'spool.db') });
  spool.appendGroups([rows(0, n)], { now: Date.now(), limits: { maxEvents: 1e9, maxBytes: 1e12 } });
  return spool;
}

describe('reclaimFreePages', () => {
  it('keeps freed pages for reuse while less than half the file is free, and gives them back once most of it is', async () => {
    const spool = filled(3_000);
    const free = () => spool.freePages().free;
    pruneStep(spool, 1_000, 10_000); // a third of the events: a routine prune
    const routine = free();
    expect(routine).toBeGreaterThan(200);
    expect(await reclaimFreePages(spool, { minFreePages: 10 })).toEqual({ pages: 0, bytes: 0 });
    expect(free()).toBe(routine);

    pruneStep(spool, 3_000, 10_000); // the rest: a drained backlog
    const drained = free();
    const result = await reclaimFreePages(spool, { minFreePages: 10 });
    expect(result.pages).toBe(drained);
    expect(free()).toBe(0);
    spool.close();
  });

  it('with `stayedFree`, gives back only the pages free at every note since the last shrink, and none before a first note', async () => {
    const spool = filled(3_000);
    const free = () => spool.freePages().free;
    pruneStep(spool, 2_000, 10_000); // two thirds: most of the file
    noteFreePages(spool);
    const noted = free();
    pruneStep(spool, 3_000, 10_000); // the rest, freed after the note
    noteFreePages(spool); // a later note that sees more changes nothing: the fewest count
    const now = free();
    expect(now).toBeGreaterThan(noted);
    const result = await reclaimFreePages(spool, { minFreePages: 10, stayedFree: true, stepPages: 7 });
    expect(result.pages).toBe(noted);
    expect(free()).toBe(now - noted);
    // What that shrink left free starts the next interval: nothing took it, so the next shrink gives it back.
    expect((await reclaimFreePages(spool, { minFreePages: 10, stayedFree: true })).pages).toBe(now - noted);
    expect(free()).toBe(0);

    // Appends between two notes took the pages: the lower note wins, and nothing is given back.
    const spool2 = filled(3_000);
    pruneStep(spool2, 3_000, 10_000);
    noteFreePages(spool2);
    spool2.appendGroups([rows(10_000, 3_000)], { now: Date.now(), limits: { maxEvents: 1e9, maxBytes: 1e12 } });
    noteFreePages(spool2);
    expect(await reclaimFreePages(spool2, { minFreePages: 10, stayedFree: true })).toEqual({ pages: 0, bytes: 0 });
    // Before any note (or shrink) on the connection, nothing stayed free that it knows of.
    const spool3 = filled(3_000);
    pruneStep(spool3, 3_000, 10_000);
    expect(await reclaimFreePages(spool3, { minFreePages: 10, stayedFree: true })).toEqual({ pages: 0, bytes: 0 });
    spool.close();
    spool2.close();
    spool3.close();
  });
});
