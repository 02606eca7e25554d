/**
 * Sealing across replicas (issue 13): two daemons with different writer ids export to one
 * destination on a loopback S3 (fauxqs behind the 412 proxy, which enforces If-None-Match); the
 * same events go to both (cross-replica duplicates) plus distinct ones and an EVENT_ID conflict.
 * The seal must hold every distinct event exactly once, sorted by EVENT_TIME, in files of about
 * the target size; the generated Athena view, run in DuckDB over the downloaded objects, must
 * return each event once before and after the seal, and after a re-seal that folds in late events.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { sealContextFor } from '../src/app/sealer.js';
import { collectStatus } from '../src/cli/status.js';
import { sealedFileKey, sealRecordKey } from '../src/seal/keys.js';
import { readPending, readRecord } from '../src/seal/record.js';
import { sealExport } from '../src/seal/run.js';
import { lateSummary } from '../src/spool/late.js';
import type { ObjectStore } from '../src/store/store.js';
import { startTestDaemon, tempDir, type TestDaemon } from './support/daemon.js';
import { parquetSchema } from './support/duckdb.js';
import { sampleAt, samples, type Sample } from './support/events.js';
import { writeConfig } from './support/process.js';
import { contentKey, downloadAll, rowsInOrder, sealedAthenaDdl, viewRows } from './support/seal.js';
import { openTestStore, startS3Server, type S3TestServer } from './support/s3.js';
import { enforceIfNoneMatch, startS3Proxy, type S3Proxy } from './support/s3-proxy.js';

const bucket = 'seal-bucket';
const destination = `s3://${bucket}/two/pq/`;
/** The instant the seal runs "at": 2026-03-14 and 2025-12-31 are finished (afterHours 48), both inside the lookback. */
const sealNow = Date.parse('2026-03-17T00:00:00Z');
const sealSection = { afterHours: 48, lookbackDays: 80, targetFileBytes: 1024, leaseSeconds: 60 };

/** A copy of `s` with a column changed in what is sent and what is expected back. */
function withColumn(s: Sample, column: string, value: string): Sample {
  return { sent: { ...s.sent, [column]: value }, expected: { ...s.expected, [column]: value } };
}

describe('seal: two replicas, one destination', () => {
  const work = tempDir('logbarge-seal-');
  let server: S3TestServer;
  let proxy: S3Proxy;
  let a: TestDaemon;
  let b: TestDaemon;
  let store: ObjectStore;
  let ddl: string;
  const stamp = `${process.pid}-${Date.now()}`;
  // Sent to both replicas: tricky values over two days, and 3,000 plain events on 2026-03-14 (enough rows for several sealed files).
  const shared = [...samples(40, `shared-${stamp}`), ...Array.from({ length: 3000 }, (_, i) => sampleAt(Date.parse('2026-03-14T00:00:00Z') + i * 28_000, `bulk-${stamp}-${i}`))];
  const onlyA = samples(12, `a-${stamp}`);
  const onlyB = samples(12, `b-${stamp}`);
  // One EVENT_ID at one EVENT_TIME with two contents: a conflict, both kept.
  const conflict = sampleAt(Date.parse('2026-03-14T10:00:00Z'), `conflict-${stamp}`);
  const conflictA = withColumn(conflict, 'USER_ID', 'user-from-a');
  const conflictB = withColumn(conflict, 'USER_ID', 'user-from-b');
  const distinct = [...shared, ...onlyA, ...onlyB, conflictA, conflictB];
  const expectedKeys = distinct.map((s) => contentKey(s.expected)).sort();

  const daemonConfig = (writerId: string, dir: string) => ({
    writerId,
    s3: server.s3Config({ endpoint: proxy.endpoint }),
    exports: [{ name: 'pq', format: 'parquet', compression: 'zstd', destination, schedule: '0 0 1 1 *', seal: sealSection }],
    spool: { path: join(dir, 'spool.db'), minFreeBytes: 0 },
  });
  const post = async (d: TestDaemon, events: Sample[]): Promise<void> => {
    for (let i = 0; i < events.length; i += 1000) {
      const answer = await d.post(events.slice(i, i + 1000).map((s) => s.sent));
      expect(answer.status).toBe(202);
    }
  };
  const flush = async (d: TestDaemon): Promise<void> => {
    const answer = await d.request('/v1/flush', { method: 'POST' });
    expect(answer.body.exports.map((r: { error?: string }) => r.error)).toEqual([undefined]);
  };
  const seal = (options: { date?: string; now?: number } = {}) =>
    sealExport(
      sealContextFor({ config: a.config, exportConfig: a.config.exports[0]!, store, now: () => options.now ?? sealNow }),
      options.date ? { date: options.date } : {},
    );
  let phase = 0;
  const view = async (keep?: (key: string) => boolean) => viewRows({ store, ddl, destination, dir: join(work.dir, `view-${phase++}`), ...(keep ? { keep } : {}) });

  beforeAll(async () => {
    server = await startS3Server();
    await server.createBucket(bucket);
    proxy = await startS3Proxy({ upstream: server.endpoint, rules: [enforceIfNoneMatch] });
    const dirA = join(work.dir, 'a');
    const dirB = join(work.dir, 'b');
    const open = { openStore: (dest: string, config: { s3: Parameters<typeof openTestStore>[1] }) => openTestStore(dest, config.s3) };
    a = await startTestDaemon(daemonConfig('pod-a', dirA), undefined, open);
    b = await startTestDaemon(daemonConfig('pod-b', dirB), undefined, open);
    store = openTestStore(destination, server.s3Config({ endpoint: proxy.endpoint }));
    ddl = sealedAthenaDdl(a.config, a.config.exports[0]!);
    await post(a, [...shared, ...onlyA, conflictA]);
    await post(b, [...shared, ...onlyB, conflictB]);
    await flush(a);
    await flush(b);
  });
  afterAll(async () => {
    store?.close();
    await a?.stop();
    await b?.stop();
    await proxy?.stop();
    await server?.stop();
    work.remove();
  });

  it('has cross-replica duplicates in the raw objects, from both writers', async () => {
    const raw = (await store.list('dt=')).map((o) => o.key);
    expect(raw.some((k) => /\/pod-a-/.test(k))).toBe(true);
    expect(raw.some((k) => /\/pod-b-/.test(k))).toBe(true);
    const files = await downloadAll(store, join(work.dir, 'raw'));
    const rows = await rowsInOrder(files.filter((f) => f.key.startsWith('dt=')).map((f) => f.path));
    expect(rows.length).toBe(2 * shared.length + onlyA.length + onlyB.length + 2);
  });

  it('the Athena view returns each event once before the seal', async () => {
    const rows = await view();
    expect(rows.map(contentKey).sort()).toEqual(expectedKeys);
    // The proof can fail: without DISTINCT the replicas' copies come through.
    const mutated = ddl.replace('SELECT DISTINCT', 'SELECT');
    expect(mutated).not.toBe(ddl);
    const copies = await viewRows({ store, ddl: mutated, destination, dir: join(work.dir, 'mutated-distinct') });
    expect(copies.length).toBe(expectedKeys.length + shared.length);
  });

  it('seals both days: every distinct event exactly once, sorted by EVENT_TIME, in several files', async () => {
    const result = await seal();
    expect(result.days.map((d) => [d.dt, d.outcome])).toEqual([
      ['2025-12-31', 'sealed'],
      ['2026-03-14', 'sealed'],
    ]);
    const day = result.days[1]!;
    const sentThatDay = distinct.filter((s) => s.expected.EVENT_DATE === '2026-03-14');
    expect(day.rows).toBe(sentThatDay.length);
    expect(day.duplicates).toBe(shared.filter((s) => s.expected.EVENT_DATE === '2026-03-14').length);
    expect(day.conflicts).toBe(1);

    const record = (await readRecord({ store, dt: '2026-03-14' }))!;
    expect(record.files.length).toBeGreaterThan(1);
    expect(record.files.map((f) => f.key)).toEqual(record.files.map((_, i) => sealedFileKey({ dt: '2026-03-14', sealId: record.seal_id, part: i })));
    expect(record.raw.map((r) => r.key).sort()).toEqual((await store.list('dt=2026-03-14/')).map((o) => o.key).sort());
    const files = await downloadAll(store, join(work.dir, 'sealed'));
    const sealedFiles = record.files.map((f) => files.find((x) => x.key === f.key)!.path);
    const rows = await rowsInOrder(sealedFiles);
    expect(rows.map(contentKey).sort()).toEqual(sentThatDay.map((s) => contentKey(s.expected)).sort());
    const times = rows.map((r) => r.EVENT_TIME as string);
    expect(times).toEqual([...times].sort());
    expect(record.files.map((f) => f.rows)).toEqual(record.files.map((f) => rows.filter((r) => r.__file === sealedFiles[record.files.indexOf(f)]).length));
  });

  it('writes sealed files with the types of the raw Parquet objects (TIMESTAMP MILLIS, not adjusted to UTC)', async () => {
    const files = await downloadAll(store, join(work.dir, 'types'));
    const sealed = await parquetSchema(files.find((f) => f.key.startsWith('_sealed/dt=2026-03-14/'))!.path);
    const raw = await parquetSchema(files.find((f) => f.key.startsWith('dt=2026-03-14/'))!.path);
    expect(sealed).toEqual(raw);
    expect(sealed.EVENT_TIME!.logical).toMatch(/TimestampType\(isAdjustedToUTC=0, unit=TimeUnit\(MILLIS/);
  });

  it('the Athena view returns each event once after the seal, from the sealed files', async () => {
    expect((await view()).map(contentKey).sort()).toEqual(expectedKeys);
    // Without the raw objects of the sealed days nothing is missing: those days come from _sealed/.
    const sealedOnly = await view((key) => !key.startsWith('dt='));
    expect(sealedOnly.map(contentKey).sort()).toEqual(expectedKeys);
    // Without the seals listing deciding, sealed days would be read from both sides.
    const mutated = ddl.replace(/WHERE "dt" NOT IN \([^)]*\)\n/, '');
    expect(mutated).not.toBe(ddl);
    const twice = await viewRows({ store, ddl: mutated, destination, dir: join(work.dir, 'mutated-not-in') });
    expect(twice.length).toBe(2 * expectedKeys.length);
  });

  it('a second run finds nothing to seal', async () => {
    expect((await seal()).days).toEqual([]);
  });

  it('reports late objects (status, metrics, the seal run) and re-seals them in with --date', async () => {
    const late = samples(8, `late-${stamp}`).filter((s) => s.expected.EVENT_DATE === '2026-03-14');
    expect(late.length).toBeGreaterThan(0);
    await post(a, late);
    await flush(a);
    const before = (await readRecord({ store, dt: '2026-03-14' }))!;

    // The daemon noted the object it delivered into the sealed day.
    const summary = lateSummary(a.daemon.spool, 'pq');
    expect(summary).toEqual({ objects: 1, rows: late.length, days: ['2026-03-14'] });
    const metrics = (await a.request('/metrics')).text;
    expect(metrics).toContain(`logbarge_seal_late_objects{export="pq"} 1`);
    expect(metrics).toContain(`logbarge_seal_late_rows{export="pq"} ${late.length}`);
    const configPath = writeConfig(work.dir, { ...daemonConfig('pod-a', join(work.dir, 'a')), spool: { path: a.config.spool.path } }, 'a.json');
    const status = collectStatus({ config: configPath });
    expect(status.exports[0]!.sealLate).toEqual({ objects: 1, rows: late.length, days: ['2026-03-14'] });
    // A run without a date reports the day, and leaves it as it is.
    expect((await seal()).days.map((d) => [d.dt, d.outcome, d.newObjects])).toEqual([['2026-03-14', 'late', 1]]);
    // Until the re-seal the view serves the sealed files: the late events are not in it yet.
    expect((await view()).map(contentKey).sort()).toEqual(expectedKeys);

    const resealed = await seal({ date: '2026-03-14' });
    expect(resealed.days.map((d) => [d.dt, d.outcome, d.newObjects])).toEqual([['2026-03-14', 'resealed', 1]]);
    const after = (await readRecord({ store, dt: '2026-03-14' }))!;
    expect(after.replaces).toEqual({ seal_id: before.seal_id, sealed_at: before.sealed_at });
    expect(after.rows).toBe(before.rows + late.length);
    expect(after.raw.length).toBe(before.raw.length + 1);
    // The old seal's files stay until deleteAfterHours (queries may be reading them), listed for deletion.
    for (const f of before.files) expect(await store.head(f.key)).toBeDefined();
    const pending = (await readPending(store, '2026-03-14'))!;
    expect(pending.entries.filter((e) => before.files.some((f) => f.key === e.key)).map((e) => e.kind)).toEqual(before.files.map(() => 'sealed'));
    // Old and new files side by side, and still each event once: the record names the current seal.
    const rows = await view();
    expect(rows.map(contentKey).sort()).toEqual([...distinct, ...late].map((s) => contentKey(s.expected)).sort());
    // Without the seal id, both seals' files of the day would be read.
    const mutated = ddl.replace(/ AND k\."seal_id" = regexp_extract\([^;]*\)/, '');
    expect(mutated).not.toBe(ddl);
    const both = await viewRows({ store, ddl: mutated, destination, dir: join(work.dir, 'mutated-seal-id') });
    expect(both.length).toBe(rows.length + before.rows);
    expect(await store.head(sealRecordKey('2026-03-14'))).toBeDefined();

    // The next cycle of the replica sees the object covered and stops reporting it.
    await flush(a);
    expect(lateSummary(a.daemon.spool, 'pq')).toEqual({ objects: 0, rows: 0, days: [] });
  });

  it('deletes the replaced seal\'s files once deleteAfterHours (24) have passed, and nothing the view needs', async () => {
    const record = (await readRecord({ store, dt: '2026-03-14' }))!;
    const oldFiles = (await store.list('_sealed/dt=2026-03-14/')).map((o) => o.key).filter((k) => !record.files.some((f) => f.key === k));
    expect(oldFiles.length).toBeGreaterThan(0);
    const early = await seal({ now: sealNow + 23 * 3_600_000 });
    expect(early.deleted).toEqual([]);
    const due = await seal({ now: Date.parse(record.sealed_at) + 25 * 3_600_000 });
    expect(due.deleted.sort()).toEqual(oldFiles.sort());
    expect((await store.list('_sealed/dt=2026-03-14/')).map((o) => o.key)).toEqual(record.files.map((f) => f.key));
    // Raw objects stay (seal.deleteRaw is false).
    expect((await store.list('dt=2026-03-14/')).length).toBe(record.raw.length);
    expect(await readPending(store, '2026-03-14')).toBeUndefined();
  });
});
