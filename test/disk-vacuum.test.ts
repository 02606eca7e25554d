/**
 * The spool file shrinks: events filled in, delivered by a real export cycle (file destination)
 * and pruned give their pages back to the file system at the next cycle when nothing reused
 * them meanwhile, and a steady stream's pages are kept for it; a spool made before incremental
 * auto-vacuum is switched at open while it is small.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { startTestDaemon, tempDir, type TestDaemon } from './support/daemon.js';
import { contentKey, openSpool, type SpoolRow } from '../src/spool/spool.js';
import { migrate } from '../src/spool/migrate.js';
import type { AppendThread } from '../src/spool/append-thread.js';
import { openStore } from '../src/store/open.js';
import type { ObjectStore, PutOptions } from '../src/store/store.js';
import type { Config } from '../src/config/schema.js';

const roomy = { maxEvents: 1e9, maxBytes: 1e12 };
/** 20,000 rows of ~1 KB: about 20 MB of pages, past reclaimMinFreePages (16 MiB). */
function rows(from: number, n: number): SpoolRow[] {
  const out: SpoolRow[] = [];
  for (let i = from; i < from + n; i++) {
    const body = JSON.stringify({ EVENT_ID: `v-${i}`, EVENT_TIME: '2026-03-14T09:26:53.589Z', ORGANIZATION_ID: 'o', EVENT_TYPE: 't', pad: 'x'.repeat(1000) });
    out.push({ eventId: `v-${i}`, eventMs: Date.UTC(2026, 2, 14) + i, dt: '2026-03-14', body, raw: null, content: contentKey(body) });
  }
  return out;
}

let d: TestDaemon | undefined;
const cleanups: (() => void)[] = [];
afterEach(async () => {
  await d?.stop();
  d = undefined;
  for (const c of cleanups.splice(0)) c();
});

describe('spool file shrinks', () => {
  it('gives pruned pages back to the file system at the next export cycle when they stayed free', async () => {
    d = await startTestDaemon();
    const spool = d.daemon.spool;
    const pragma = (name: string) => spool.db.pragma(name, { simple: true }) as number;
    for (let i = 0; i < 4; i++) spool.appendGroups([rows(i * 5_000, 5_000)], { now: Date.now(), limits: roomy });
    spool.db.pragma('wal_checkpoint(TRUNCATE)');
    const full = { pages: pragma('page_count'), bytes: statSync(spool.path).size };
    expect(full.bytes).toBeGreaterThan(20_000_000);

    const [first] = await d.daemon.exporter.flush();
    expect(first?.error).toBeUndefined();
    expect(first?.pruned).toBe(20_000);
    // Freed by this cycle: kept for the next appends, which reuse them.
    expect(pragma('page_count')).toBe(full.pages);
    expect(pragma('freelist_count')).toBeGreaterThan(full.pages / 2);

    // Nothing reused them until the next cycle: given back then, though it prunes nothing.
    const [second] = await d.daemon.exporter.flush();
    expect(second?.error).toBeUndefined();
    expect(second?.pruned).toBe(0);
    expect(pragma('freelist_count')).toBeLessThan(100);
    expect(pragma('page_count')).toBeLessThan(full.pages / 10);
    spool.db.pragma('wal_checkpoint(TRUNCATE)');
    expect(statSync(spool.path).size).toBeLessThan(full.bytes / 10);
  });

  it("shrinks on the append worker's connection (off the event loop)", async () => {
    d = await startTestDaemon();
    const spool = d.daemon.spool;
    const pragma = (name: string) => spool.db.pragma(name, { simple: true }) as number;
    for (let i = 0; i < 4; i++) spool.appendGroups([rows(i * 5_000, 5_000)], { now: Date.now(), limits: roomy });
    expect((await d.daemon.exporter.flush())[0]?.pruned).toBe(20_000);
    const pages = pragma('page_count');
    // The worker's steps, counted on their way to it.
    const thread = d.daemon.appendThread as { reclaimStep: AppendThread['reclaimStep'] };
    const reclaimStep = thread.reclaimStep.bind(thread);
    const freeLeft: number[] = [];
    thread.reclaimStep = async (n) => {
      const left = await reclaimStep(n);
      freeLeft.push(left);
      return left;
    };
    const [shrunk] = await d.daemon.exporter.flush();
    expect(shrunk?.error).toBeUndefined();
    expect(pragma('page_count')).toBeLessThan(pages / 10);
    expect(freeLeft.length).toBeGreaterThan(1); // in steps
    expect(freeLeft[freeLeft.length - 1]).toBe(pragma('freelist_count'));
  });

  it('a trim of the idempotency window between two cycles leaves the pages the cycle kept for the next appends', async () => {
    // A window of 0 days: every trim forgets every delivered id, so trims free pages too.
    d = await startTestDaemon({ spool: { idempotencyWindowDays: 0 } }, undefined, { trimIntervalMs: 20 });
    const spool = d.daemon.spool;
    const pragma = (name: string) => spool.db.pragma(name, { simple: true }) as number;
    for (let i = 0; i < 4; i++) spool.appendGroups([rows(i * 5_000, 5_000)], { now: Date.now(), limits: roomy });
    expect((await d.daemon.exporter.flush())[0]?.pruned).toBe(20_000);
    const pages = pragma('page_count');
    await new Promise((resolve) => setTimeout(resolve, 300)); // many trims
    expect(pragma('page_count')).toBe(pages);
    expect(pragma('freelist_count')).toBeGreaterThan(pages / 2);
  });

  /** A file store whose uploads of the exports named in `hold` wait until the returned release is called. */
  function holdingStore() {
    const hold = new Set<string>();
    const waiting: (() => void)[] = [];
    let arrived: () => void = () => {};
    return {
      hold: (exportDir: string) => {
        hold.add(exportDir);
        return new Promise<void>((resolve) => (arrived = resolve));
      },
      release: () => {
        hold.clear();
        for (const w of waiting.splice(0)) w();
      },
      openStore: (destination: string, config: Config) => {
        const inner = openStore(destination, config.s3);
        return {
          ...inner,
          url: inner.url,
          describe: (k: string) => inner.describe(k),
          async putFile(key: string, path: string, options: PutOptions) {
            if (!key.startsWith('_verify/') && [...hold].some((h) => destination.includes(h))) {
              arrived();
              await new Promise<void>((resolve) => waiting.push(resolve));
            }
            return inner.putFile(key, path, options);
          },
        } satisfies ObjectStore;
      },
    };
  }

  it('keeps the pages its own prune freed when appends took the free pages during its delivery', async () => {
    const store = holdingStore();
    d = await startTestDaemon({}, undefined, { openStore: store.openStore });
    const spool = d.daemon.spool;
    const pragma = (name: string) => spool.db.pragma(name, { simple: true }) as number;
    // A drained backlog's pages, kept by its cycle: free when the next cycle starts.
    for (let i = 0; i < 4; i++) spool.appendGroups([rows(i * 5_000, 5_000)], { now: Date.now(), limits: roomy });
    expect((await d.daemon.exporter.flush())[0]?.pruned).toBe(20_000);
    spool.appendGroups([rows(100_000, 5_000)], { now: Date.now(), limits: roomy });
    const uploading = store.hold('exports');
    const flushing = d.daemon.exporter.flush();
    await uploading;
    // During its delivery, the stream takes every free page (and grows the file).
    for (let i = 0; i < 5; i++) spool.appendGroups([rows(200_000 + i * 5_000, 5_000)], { now: Date.now(), limits: roomy });
    expect(pragma('freelist_count')).toBeLessThan(100);
    store.release();
    const [result] = await flushing;
    expect(result?.pruned).toBe(5_000);
    // The 5,000 events' pages (about 1,400) are the next appends': kept.
    expect(pragma('freelist_count')).toBeGreaterThan(1_000);
  });

  it('two exports whose cycles overlap keep the pages the last of them pruned', async () => {
    const store = holdingStore();
    const exports = ['a', 'b'].map((name) => ({ name, destination: `file://${join(tempDir().dir, `out-${name}`)}/` }));
    d = await startTestDaemon({ exports }, undefined, { openStore: store.openStore });
    const spool = d.daemon.spool;
    const pragma = (name: string) => spool.db.pragma(name, { simple: true }) as number;
    // A drained backlog's pages, kept: free when the next cycles start.
    for (let i = 0; i < 4; i++) spool.appendGroups([rows(i * 5_000, 5_000)], { now: Date.now(), limits: roomy });
    expect((await d.daemon.exporter.flush()).map((r) => r.pruned)).toEqual([0, 20_000]);
    spool.appendGroups([rows(100_000, 5_000)], { now: Date.now(), limits: roomy });
    // a's cycle starts and waits in its upload; b's runs whole meanwhile (pruning nothing: a holds
    // the floor) and gives back the backlog's pages; then a delivers and prunes the 5,000 events.
    const uploading = store.hold('out-a');
    const a = d.daemon.exporter.flush({ exportName: 'a' });
    await uploading;
    const [b] = await d.daemon.exporter.flush({ exportName: 'b' });
    expect([b?.error, b?.pruned]).toEqual([undefined, 0]);
    const shrunk = pragma('page_count');
    store.release();
    const [ra] = await a;
    expect([ra?.error, ra?.pruned]).toEqual([undefined, 5_000]);
    expect(pragma('page_count')).toBe(shrunk);
    expect(pragma('freelist_count')).toBeGreaterThan(1_000);
  });

  it('keeps the pages a steady stream reuses: cycles that prune what the stream refilled neither shrink nor grow the file', async () => {
    d = await startTestDaemon();
    const spool = d.daemon.spool;
    const pragma = (name: string) => spool.db.pragma(name, { simple: true }) as number;
    const fill = (round: number) => {
      for (let i = 0; i < 4; i++) spool.appendGroups([rows(round * 20_000 + i * 5_000, 5_000)], { now: Date.now(), limits: roomy });
    };
    fill(0);
    for (let round = 1; round <= 3; round++) {
      const full = pragma('page_count');
      const [result] = await d.daemon.exporter.flush();
      expect(result?.pruned).toBe(20_000);
      // Pages given back here would be taken from the file system again by the refill below.
      expect(pragma('page_count')).toBe(full);
      expect(pragma('freelist_count')).toBeGreaterThan(full / 2);
      fill(round);
      // The refill reused the freed pages (the idempotency window grew by 20,000 ids: a little more).
      expect(pragma('page_count')).toBeLessThan(full * 1.1);
    }
  });

  it('switches a spool made without auto-vacuum to incremental at open while it is small', () => {
    const t = tempDir();
    cleanups.push(t.remove);
    const path = join(t.dir, 'old.db');
    // A spool as an older logbarge made it: WAL, auto_vacuum NONE.
    const old = new Database(path);
    old.pragma('journal_mode = WAL');
    migrate(old);
    old.close();
    expect(new Database(path).pragma('auto_vacuum', { simple: true })).toBe(0);
    const spool = openSpool({ path });
    try {
      expect(spool.db.pragma('auto_vacuum', { simple: true })).toBe(2); // INCREMENTAL
      spool.appendGroups([rows(0, 5_000)], { now: 1, limits: roomy });
      spool.db.prepare('DELETE FROM events').run();
      expect(spool.db.pragma('freelist_count', { simple: true })).toBeGreaterThan(1_000);
      spool.db.pragma('incremental_vacuum');
      expect(spool.db.pragma('freelist_count', { simple: true })).toBe(0);
    } finally {
      spool.close();
    }
  });
});
