/**
 * What dead processes leave behind is swept, and only that: working directories (liveness by
 * owner record, not by PID alone), `logbarge ingest` staging, file-destination temp files, and
 * old verify-test objects of this writer on a real S3-compatible server (fauxqs).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './support/daemon.js';
import { openTestStore, startS3Server, type S3TestServer } from './support/s3.js';
import { claimWorkDir, currentOwner, ownerAlive, ownerFile, staleAfterMs, sweepWorkDirs, type WorkOwner } from '../src/app/workdir.js';
import { sweepOnce, tempFileMaxAgeMs } from '../src/app/sweep.js';
import { createFileStore } from '../src/store/file.js';
import { sweepVerifyObjects, verifyBody, verifyKey, verifyKeepNewest } from '../src/store/verify.js';

const temps: (() => void)[] = [];
afterAll(() => {
  for (const t of temps) t();
});
function dir(): string {
  const t = tempDir('logbarge-sweep-');
  temps.push(t.remove);
  return t.dir;
}
/** A working directory as another process would have left it. */
function crafted(root: string, name: string, owner: WorkOwner | undefined, ageMs = 0): string {
  const path = join(root, name);
  mkdirSync(join(path, 'sub'), { recursive: true });
  writeFileSync(join(path, 'sub', 'staged'), 'x');
  if (owner) writeFileSync(join(path, ownerFile), JSON.stringify(owner));
  const at = new Date(Date.now() - ageMs);
  for (const p of [join(path, 'sub', 'staged'), join(path, 'sub'), ...(owner ? [join(path, ownerFile)] : []), path]) utimesSync(p, at, at);
  return path;
}

describe('work directory liveness', () => {
  const self = currentOwner();
  const now = Date.now();

  it('a dead owner with this very PID (another process, earlier) is dead: the start time differs', () => {
    // What a PID-keyed scheme got wrong: `work-1` of a dead PID 1 looked alive to the new PID 1.
    const dead: WorkOwner = { ...self, startTicks: String(Number(self.startTicks ?? 0) + 12345) };
    expect(ownerAlive({ owner: dead, self, heartbeatAt: now, now })).toBe(false);
    expect(ownerAlive({ owner: self, self, heartbeatAt: now - 10 * staleAfterMs, now })).toBe(true); // this process: alive whatever its heartbeat
  });

  it('an owner in another PID namespace or boot is judged by its heartbeat, not by a local PID', () => {
    const elsewhere: WorkOwner = { ...self, pidNs: 'pid:[1]', pid: 1 };
    expect(ownerAlive({ owner: elsewhere, self, heartbeatAt: now - 60_000, now })).toBe(true);
    expect(ownerAlive({ owner: elsewhere, self, heartbeatAt: now - staleAfterMs - 1, now })).toBe(false);
    const otherBoot: WorkOwner = { ...self, bootId: 'another-boot' };
    expect(ownerAlive({ owner: otherBoot, self, heartbeatAt: now - staleAfterMs - 1, now })).toBe(false);
    expect(ownerAlive({ owner: otherBoot, self, heartbeatAt: now, now })).toBe(true);
  });

  it('two claims in one process get two directories; the sweep removes only dead owners', () => {
    const root = dir();
    const a = claimWorkDir(root);
    const b = claimWorkDir(root);
    expect(a.path).not.toBe(b.path);
    const samePidDead = crafted(root, 'work-deadbeef00000001', { ...self, startTicks: String(Number(self.startTicks ?? 0) + 1) });
    const otherNsFresh = crafted(root, 'work-deadbeef00000002', { ...self, pid: 1, pidNs: 'pid:[1]' }, 60_000);
    const otherNsStale = crafted(root, 'work-deadbeef00000003', { ...self, pid: 1, pidNs: 'pid:[1]' }, staleAfterMs + 60_000);
    const legacyFresh = crafted(root, 'work-1', undefined, 60_000);
    const legacyStale = crafted(root, 'work-2', undefined, staleAfterMs + 60_000);
    const notOurs = crafted(root, 'other-thing', undefined, staleAfterMs + 60_000);
    const removed = sweepWorkDirs(root, { keep: a.path }).sort();
    expect(removed).toEqual(['work-2', 'work-deadbeef00000001', 'work-deadbeef00000003']);
    for (const p of [a.path, b.path, otherNsFresh, legacyFresh, notOurs]) expect(existsSync(p)).toBe(true);
    for (const p of [samePidDead, otherNsStale, legacyStale]) expect(existsSync(p)).toBe(false);
    // A heartbeat recreates a directory something removed.
    a.release();
    a.heartbeat();
    expect(JSON.parse(readFileSync(join(a.path, ownerFile), 'utf8'))).toMatchObject({ pid: process.pid });
    a.release();
    b.release();
    expect(existsSync(a.path) || existsSync(b.path)).toBe(false);
  });
});

describe('sweep of leftovers next to the spool and in file destinations', () => {
  it('removes dead ingest staging and old temp files, keeps live ones and every object', async () => {
    const spoolDir = dir();
    const destDir = dir();
    const self = currentOwner();
    const work = claimWorkDir(join(spoolDir, 'work'));
    const liveIngest = claimWorkDir(spoolDir, '.ingest-');
    const deadIngest = crafted(spoolDir, '.ingest-0000000000000001', { ...self, startTicks: 'not-a-start-time' });
    const legacyIngest = crafted(spoolDir, '.ingest-AbC123', undefined, staleAfterMs + 60_000);
    const store = createFileStore({ url: `file://${destDir}/` });
    const file = join(destDir, 'dt=2026-03-14');
    mkdirSync(join(destDir, '_meta', 'dt=2026-03-14'), { recursive: true });
    mkdirSync(file, { recursive: true });
    const old = new Date(Date.now() - tempFileMaxAgeMs - 60_000);
    const paths = {
      object: join(file, 'w-1-2.ndjson'),
      oldTemp: join(file, '.logbarge-tmp-1-aaaa'),
      oldSidecarTemp: join(destDir, '_meta', 'dt=2026-03-14', '.logbarge-tmp-1-bbbb'),
      newTemp: join(file, '.logbarge-tmp-1-cccc'),
      oldNotTemp: join(file, 'keep-me'),
    };
    for (const p of Object.values(paths)) writeFileSync(p, 'x');
    for (const p of [paths.object, paths.oldTemp, paths.oldSidecarTemp, paths.oldNotTemp]) utimesSync(p, old, old);

    const result = await sweepOnce({ spoolPath: join(spoolDir, 'spool.db'), work, stores: [store], temps: true });
    expect(result).toEqual({ workDirs: [], ingestDirs: expect.arrayContaining(['.ingest-0000000000000001', '.ingest-AbC123']), tempFiles: 2 });
    expect(result.ingestDirs).toHaveLength(2);
    expect(existsSync(deadIngest) || existsSync(legacyIngest)).toBe(false);
    expect(existsSync(liveIngest.path)).toBe(true);
    expect(existsSync(work.path)).toBe(true);
    expect(readdirSync(file).sort()).toEqual(['.logbarge-tmp-1-cccc', 'keep-me', 'w-1-2.ndjson']);
    expect(existsSync(paths.oldSidecarTemp)).toBe(false);
    liveIngest.release();
    work.release();
  });
});

describe('sweep of old verify-test objects (fauxqs)', () => {
  let server: S3TestServer;
  beforeAll(async () => {
    server = await startS3Server();
    await server.createBucket('verify-sweep');
  });
  afterAll(async () => {
    await server.stop();
  });

  it("deletes this writer's verify objects older than a day beyond the newest few, under the export's prefix only", async () => {
    const store = openTestStore('s3://verify-sweep/app/exp/', server.s3Config());
    const sibling = openTestStore('s3://verify-sweep/app/other/', server.s3Config());
    try {
      const now = new Date(Date.UTC(2026, 2, 20, 12));
      const day = 86_400_000;
      const put = async (s: typeof store, at: Date, writerId: string) => {
        const key = verifyKey(at);
        await s.putBytes(key, verifyBody({ writerId, now: at }), { contentType: 'text/plain' });
        return key;
      };
      const mineOld: string[] = [];
      for (let i = 0; i < 8; i++) mineOld.push(await put(store, new Date(now.getTime() - (10 - i) * day), 'pod-a')); // 10..3 days old
      const foreignOld = await put(store, new Date(now.getTime() - 20 * day + 1000), 'pod-b');
      const mineRecent: string[] = [];
      for (let i = 0; i < 2; i++) mineRecent.push(await put(store, new Date(now.getTime() - 3_600_000 * (i + 1)), 'pod-a'));
      const siblingOld = await put(sibling, new Date(now.getTime() - 30 * day), 'pod-a');
      const data = 'dt=2026-03-01/pod-a-x-1-2.ndjson';
      await store.putBytes(data, Buffer.from('{}\n'), { contentType: 'application/x-ndjson' });
      const notVerify = '_verify/something-else';
      await store.putBytes(notVerify, Buffer.from('x'), { contentType: 'text/plain' });

      const swept = await sweepVerifyObjects({ store, writerId: 'pod-a', now });
      // 11 verify objects: the newest 5 stay (2 recent + 3 of mine); of the 6 older ones, pod-b's is not ours.
      expect(verifyKeepNewest).toBe(5);
      expect(swept.deleted.sort()).toEqual(mineOld.slice(0, 5).sort());
      expect(swept.foreign).toBe(1);
      const left = (await store.list('')).map((o) => o.key).sort();
      expect(left).toEqual([data, notVerify, foreignOld, ...mineOld.slice(5), ...mineRecent].sort());
      expect((await sibling.list('')).map((o) => o.key)).toEqual([siblingOld]);
      // Idempotent: a second sweep finds nothing more of ours to delete.
      expect((await sweepVerifyObjects({ store, writerId: 'pod-a', now })).deleted).toEqual([]);
    } finally {
      store.close();
      sibling.close();
    }
  });

  it("reaches this writer's old verify objects behind more than 100 of another writer's, and deletes every one in one sweep", async () => {
    const store = openTestStore('s3://verify-sweep/app/many/', server.s3Config());
    try {
      const now = new Date(Date.UTC(2026, 2, 20, 12));
      const put = async (at: Date, writerId: string) => {
        const key = verifyKey(at);
        await store.putBytes(key, verifyBody({ writerId, now: at }), { contentType: 'text/plain' });
        return key;
      };
      // The oldest: 105 of a writer that is gone (a replica scaled away), which nobody else deletes.
      const gone: string[] = [];
      for (let i = 0; i < 105; i++) gone.push(await put(new Date(now.getTime() - 60 * 86_400_000 + i * 60_000), 'pod-gone'));
      // Then 110 of this writer's, all older than a day, and the folder's newest five.
      const mineOld: string[] = [];
      for (let i = 0; i < 110; i++) mineOld.push(await put(new Date(now.getTime() - 30 * 86_400_000 + i * 60_000), 'pod-a'));
      const newest: string[] = [];
      for (let i = 0; i < verifyKeepNewest; i++) newest.push(await put(new Date(now.getTime() - 2 * 86_400_000 + i * 60_000), 'pod-a'));

      const swept = await sweepVerifyObjects({ store, writerId: 'pod-a', now });
      expect(swept.deleted.sort()).toEqual([...mineOld].sort());
      expect(swept.foreign).toBe(105);
      expect((await store.list('_verify/')).map((o) => o.key).sort()).toEqual([...gone, ...newest].sort());
    } finally {
      store.close();
    }
  });
});
