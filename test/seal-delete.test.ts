/**
 * `seal.deleteRaw`: the raw objects of a sealed day are deleted `deleteAfterHours` after the seal
 * (the record says when), not before; a later re-seal reads the sealed files in their place, so
 * nothing is lost. On the file:// backend, with the seal's clock injected.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { sealContextFor } from '../src/app/sealer.js';
import { readPending, readRecord } from '../src/seal/record.js';
import { sealExport } from '../src/seal/run.js';
import { createFileStore } from '../src/store/file.js';
import type { ObjectStore } from '../src/store/store.js';
import { startTestDaemon, tempDir, type TestDaemon } from './support/daemon.js';
import { samples } from './support/events.js';
import { contentKey, downloadAll, rowsInOrder } from './support/seal.js';

const dt = '2026-03-14';
const t0 = Date.parse('2026-03-20T00:00:00Z');
const hour = 3_600_000;

describe('seal.deleteRaw', () => {
  const work = tempDir('logbarge-seal-delete-');
  let daemon: TestDaemon;
  let store: ObjectStore;
  const stamp = `${process.pid}-${Date.now()}`;
  const first = samples(24, `first-${stamp}`).filter((s) => s.expected.EVENT_DATE === dt);
  const late = samples(8, `late-${stamp}`).filter((s) => s.expected.EVENT_DATE === dt);
  const seal = (now: number) =>
    sealExport(sealContextFor({ config: daemon.config, exportConfig: daemon.config.exports[0]!, store, now: () => now }), { date: dt });
  const sealedRows = async (dir: string) => {
    const record = (await readRecord({ store, dt: dt }))!;
    const files = await downloadAll(store, join(work.dir, dir));
    return (await rowsInOrder(record.files.map((f) => files.find((o) => o.key === f.key)!.path))).map(contentKey).sort();
  };

  beforeAll(async () => {
    daemon = await startTestDaemon({
      exports: [{ name: 'pq', destination: `file://${join(work.dir, 'dest')}/`, schedule: '0 0 1 1 *', seal: { deleteRaw: true, deleteAfterHours: 2 } }],
      spool: { path: join(work.dir, 'spool.db'), minFreeBytes: 0 },
    });
    store = createFileStore({ url: daemon.config.exports[0]!.destination });
    expect((await daemon.post(first.map((s) => s.sent))).status).toBe(202);
    expect((await daemon.request('/v1/flush', { method: 'POST' })).status).toBe(200);
  });
  afterAll(async () => {
    store?.close();
    await daemon?.stop();
    work.remove();
  });

  it('records when the raw objects go, and keeps them until then', async () => {
    const raw = (await store.list(`dt=${dt}/`)).map((o) => o.key);
    expect(raw.length).toBeGreaterThan(0);
    expect((await seal(t0)).days[0]!.outcome).toBe('sealed');
    const record = (await readRecord({ store, dt: dt }))!;
    expect(record.raw_delete_after).toBe(new Date(t0 + 2 * hour).toISOString());
    expect((await readPending(store, dt))!.entries.filter((e) => e.kind === 'raw').map((e) => e.key).sort()).toEqual(raw.sort());
    expect((await seal(t0 + hour)).deleted).toEqual([]);
    expect((await store.list(`dt=${dt}/`)).map((o) => o.key)).toEqual(raw);
  });

  it('deletes them once the delay has passed; the sealed files still hold every event', async () => {
    const raw = (await store.list(`dt=${dt}/`)).map((o) => o.key);
    const result = await seal(t0 + 3 * hour);
    expect(result.days[0]!.outcome).toBe('unchanged');
    expect(result.deleted.sort()).toEqual(raw.sort());
    expect(await store.list(`dt=${dt}/`)).toEqual([]);
    expect(await readPending(store, dt)).toBeUndefined();
    expect(await sealedRows('after-delete')).toEqual(first.map((s) => contentKey(s.expected)).sort());
  });

  it('re-seals late events from the sealed files, since the raw objects are gone', async () => {
    expect((await daemon.post(late.map((s) => s.sent))).status).toBe(202);
    expect((await daemon.request('/v1/flush', { method: 'POST' })).status).toBe(200);
    const result = await seal(t0 + 4 * hour);
    expect(result.days.map((d) => [d.outcome, d.newObjects])).toEqual([['resealed', 1]]);
    expect(await sealedRows('after-reseal')).toEqual([...first, ...late].map((s) => contentKey(s.expected)).sort());
    const record = (await readRecord({ store, dt: dt }))!;
    expect(record.raw_delete_after).toBe(new Date(t0 + 6 * hour).toISOString());
    expect((await seal(t0 + 7 * hour)).deleted.filter((k) => k.startsWith('dt='))).toHaveLength(1);
  });
});
