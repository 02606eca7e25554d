/**
 * A restored or cloned spool keeps its spool id, so it plans the same key names as the original
 * for other rows. The export cycle must tell "this key holds my batch" (an earlier attempt, or a
 * clone holding the same rows) from "this key holds another spool's rows": the first counts as
 * delivered and writes nothing twice, the second is re-keyed, so every acknowledged event reaches
 * the destination exactly once and nobody's object is overwritten.
 *
 * Two daemons run one after the other on two spool files that are byte copies of one spool (the
 * same spool id and writer id), against one destination: a directory, and S3 (fauxqs behind a
 * proxy that answers 412 to `If-None-Match: *` on an existing key, as S3 does).
 */
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/log.js';
import { forgetExport } from '../src/spool/exports.js';
import { openSpool } from '../src/spool/spool.js';
import { createFileStore } from '../src/store/file.js';
import type { ObjectStore } from '../src/store/store.js';
import { startTestDaemon, tempDir, type TestDaemon } from './support/daemon.js';
import { readFiles } from './support/duckdb.js';
import { byEventId, samples, type Sample } from './support/events.js';
import { flushOver, notExactlyOnce, postAll, readBatches, spoolDepth } from './support/export-check.js';
import { openTestStore, startS3Server, type S3TestServer } from './support/s3.js';
import { denyReads, enforceIfNoneMatch, s3Error, startS3Proxy, type S3Proxy } from './support/s3-proxy.js';

const bucket = 'clone-bucket';

let server: S3TestServer;
let proxy: S3Proxy;
const cleanups: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  server = await startS3Server();
  await server.createBucket(bucket);
  proxy = await startS3Proxy({ upstream: server.endpoint, rules: [enforceIfNoneMatch] });
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
afterAll(async () => {
  await proxy?.stop();
  await server?.stop();
});

/** A destination both daemons write to, and a way to read back every data object in it. */
interface Destination {
  readonly url: string;
  /** The store the daemons use (S3: through the 412 proxy). */
  readonly open: (() => ObjectStore) | undefined;
  /** A store reading the destination directly. */
  readonly reader: () => ObjectStore;
  /** The directory of a file destination. */
  readonly dir?: string;
}

let run = 0;
const destinations: Record<string, () => Destination> = {
  file: () => {
    const temp = tempDir('logbarge-clone-dest-');
    cleanups.push(() => temp.remove());
    const url = `${pathToFileURL(join(temp.dir, 'exports')).href}/`;
    return { url, open: undefined, reader: () => createFileStore({ url }), dir: join(temp.dir, 'exports') };
  },
  s3: () => {
    const url = `s3://${bucket}/run-${++run}/`;
    return {
      url,
      open: () => openTestStore(url, server.s3Config({ endpoint: proxy.endpoint })),
      reader: () => openTestStore(url, server.s3Config()),
    };
  },
};

/** Log lines captured as parsed JSON objects. */
function captureLogs(): { lines: Record<string, unknown>[]; logger: ReturnType<typeof createLogger> } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: createLogger('info', stream) };
}

/** Two spool directories whose spool files are byte copies of one (the same spool id), as a restore or a cloned volume leaves them. */
function clonedSpools(seed?: (spoolPath: string) => Promise<void>): Promise<{ a: string; b: string }> {
  const a = tempDir('logbarge-clone-a-');
  const b = tempDir('logbarge-clone-b-');
  cleanups.push(() => a.remove(), () => b.remove());
  return (async () => {
    const path = join(a.dir, 'spool.db');
    if (seed) await seed(path);
    else openSpool({ path }).close();
    copyFileSync(path, join(b.dir, 'spool.db'));
    return { a: a.dir, b: b.dir };
  })();
}

/** Every data object (`dt=` keys) of the destination, downloaded, with its bytes. */
async function readObjects(dest: Destination, dir: string): Promise<{ key: string; path: string; bytes: Buffer }[]> {
  const store = dest.reader();
  try {
    mkdirSync(dir, { recursive: true });
    const listed = (await store.list('')).filter((o) => o.key.startsWith('dt='));
    const out = [];
    for (const [i, o] of listed.entries()) {
      const bytes = await store.get(o.key);
      const path = join(dir, `${i}-${o.key.replace(/[^A-Za-z0-9.=-]/g, '_')}`);
      writeFileSync(path, bytes);
      out.push({ key: o.key, path, bytes });
    }
    return out;
  } finally {
    store.close();
  }
}

/**
 * The rows hash of an uncompressed NDJSON object, from its lines: each line is the stored body with
 * `,"RAW":<raw>` spliced in before its last brace; the hash covers body, tab + raw when present, newline.
 */
function rowsHashOfLines(file: Buffer): string {
  const hash = createHash('sha256');
  for (const line of file.toString('utf8').split('\n').filter(Boolean)) {
    const at = line.lastIndexOf(',"RAW":');
    const body = `${line.slice(0, at)}}`;
    const raw = JSON.parse(line.slice(at + ',"RAW":'.length, -1)) as string | null;
    hash.update(raw === null ? `${body}\n` : `${body}\t${raw}\n`);
  }
  return hash.digest('hex');
}

/** Starts a daemon on `dir`'s spool with one export (`exp` unless named) writing `format` to `destination`. */
async function daemonOn(
  dir: string,
  { dest, format, compression, name = 'exp', logger }: { dest: Pick<Destination, 'url' | 'open'>; format: string; compression?: string; name?: string; logger?: ReturnType<typeof createLogger> },
): Promise<TestDaemon> {
  const open = dest.open;
  const d = await startTestDaemon(
    { writerId: 'pod-a', exports: [{ name, format, ...(compression ? { compression } : {}), destination: dest.url, schedule: '0 0 1 1 *' }] },
    dir,
    { ...(open ? { openStore: () => open() } : {}), ...(logger ? { logger } : {}) },
  );
  cleanups.push(() => d.stop());
  return d;
}

/**
 * Fills a spool at `path` with `sent` (acknowledged over HTTP) without exporting them: the daemon
 * that ingests them has one export, `seed`, whose directory cannot be created (a file is in the
 * way), so it never passes verify and uploads nothing. Returns the acknowledged ids.
 */
async function seedSpool(path: string, sent: readonly Sample[]): Promise<string[]> {
  const seed = tempDir('logbarge-clone-seed-');
  cleanups.push(() => seed.remove());
  writeFileSync(join(seed.dir, 'blocker'), 'a file where the export directory would be');
  const d = await daemonOn(seed.dir, { dest: { url: `${pathToFileURL(join(seed.dir, 'blocker', 'exports')).href}/`, open: undefined }, format: 'ndjson', name: 'seed' });
  const ack = await postAll(d.url, sent.map((x) => x.sent), 10);
  await d.stop();
  expect(spoolDepth(join(seed.dir, 'spool.db'))).toBe(sent.length);
  // The seeding export's cursor would hold pruning for ever (pruning waits for every recorded
  // cursor): retire it, as `logbarge exports forget seed --yes` would.
  const spool = openSpool({ path: join(seed.dir, 'spool.db') });
  try {
    expect(forgetExport(spool, 'seed')).toBe(true);
  } finally {
    spool.close();
  }
  copyFileSync(join(seed.dir, 'spool.db'), path);
  return ack;
}

/** Flushes and returns the one export's result, failing on an error. */
async function flush(d: TestDaemon): Promise<{ keys: string[]; rows: number; batches: number }> {
  const res = await flushOver(d.url);
  expect(res.status).toBe(200);
  expect(res.body.exports).toHaveLength(1);
  expect(res.body.exports[0].error).toBeUndefined();
  return res.body.exports[0];
}

const cases = [
  { backend: 'file', format: 'parquet' },
  { backend: 'file', format: 'csv' },
  { backend: 's3', format: 'ndjson' },
  { backend: 's3', format: 'parquet' },
] as const;

describe.each(cases)('a cloned spool, $backend destination, $format', ({ backend, format }) => {
  it('re-keys a batch whose key holds another spool\'s rows: every acknowledged event exactly once, nothing overwritten', async () => {
    const dest = destinations[backend]!();
    const { a, b } = await clonedSpools();
    const work = tempDir('logbarge-clone-read-');
    cleanups.push(() => work.remove());

    // The original spool acknowledges and delivers its events.
    const dA = await daemonOn(a, { dest, format });
    const sentA = samples(24, `clone-a-${backend}-${format}`);
    const ackA = await postAll(dA.url, sentA.map((x) => x.sent), 8);
    const first = await flush(dA);
    await dA.stop();
    const before = await readObjects(dest, join(work.dir, 'before'));
    expect(before.map((o) => o.key).sort()).toEqual([...first.keys].sort());

    // The clone (same spool id, same sequence numbers) acknowledges other events on the same dates.
    const logs = captureLogs();
    const dB = await daemonOn(b, { dest, format, logger: logs.logger });
    const sentB = samples(24, `clone-b-${backend}-${format}`);
    const ackB = await postAll(dB.url, sentB.map((x) => x.sent), 8);
    expect(readBatches(join(b, 'spool.db'))).toEqual([]);
    const second = await flush(dB);
    const metrics = await dB.request('/metrics');
    await dB.stop();

    // Every acknowledged event of both spools is in the destination exactly once, as sent.
    const after = await readObjects(dest, join(work.dir, 'after'));
    const rows = await readFiles(after.map((o) => ({ path: o.path, format })));
    expect(notExactlyOnce([...ackA, ...ackB], rows.map((r) => r.EVENT_ID as string))).toEqual({ missing: [], duplicated: [], unexpected: [] });
    const got = byEventId(rows);
    for (const x of [...sentA, ...sentB] as Sample[]) expect(got.get(x.sent.EVENT_ID as string)).toEqual(x.expected);

    // The original's objects are untouched; the clone's batches went to keys of their own.
    for (const o of before) expect(after.find((x) => x.key === o.key)?.bytes.equals(o.bytes), o.key).toBe(true);
    expect(second.batches).toBe(first.batches);
    expect(second.keys.filter((k) => first.keys.includes(k))).toEqual([]);
    expect(after.map((o) => o.key).sort()).toEqual([...first.keys, ...second.keys].sort());
    // Re-keyed names keep the planned name and add a tag before the extension.
    for (const [i, key] of second.keys.entries()) {
      const planned = first.keys[i]!;
      const ext = /(\.[a-z]+(?:\.gz)?)$/.exec(planned)![1]!;
      expect(ext).toBe(format === 'parquet' ? '.parquet' : `.${format}.gz`);
      expect(key, `${key} extends ${planned}`).toMatch(new RegExp(`^${planned.slice(0, -ext.length).replace(/\./g, '\\.')}-[0-9a-f]{16}${ext.replace(/\./g, '\\.')}$`));
    }

    // The clone recorded the new keys in its spool, delivered and pruned.
    const batches = readBatches(join(b, 'spool.db'), 'exp');
    expect(batches.map((x) => [x.object_key, x.state])).toEqual(second.keys.map((k) => [k, 'done']));
    expect(spoolDepth(join(b, 'spool.db'))).toBe(0);

    // A warning per conflict names both keys and suggests the cause; the metric counts them.
    const warnings = logs.lines.filter((l) => l.level === 'warn' && l.msg === 'object key holds other rows: re-keyed the batch');
    expect(warnings.map((w) => [w.key, w.newKey])).toEqual(first.keys.map((k, i) => [k, second.keys[i]]));
    expect(String(warnings[0]?.hint)).toMatch(/restored from a backup or cloned/);
    expect(metrics.text).toContain(`logbarge_export_key_conflicts_total{export="exp"} ${first.batches}`);
  });

  it('takes a key holding the same rows (a copy of the spool that exported them) as delivered, and writes nothing twice', async () => {
    const dest = destinations[backend]!();
    const sent = samples(20, `clone-same-${backend}-${format}`);
    let ack: string[] = [];
    // Both copies hold the same acknowledged events: the spool is copied after ingest, before any export.
    const { a, b } = await clonedSpools(async (path) => {
      ack = await seedSpool(path, sent);
    });
    const work = tempDir('logbarge-clone-read-');
    cleanups.push(() => work.remove());

    const dA = await daemonOn(a, { dest, format });
    const first = await flush(dA);
    await dA.stop();
    const before = await readObjects(dest, join(work.dir, 'before'));

    const logs = captureLogs();
    const dB = await daemonOn(b, { dest, format, logger: logs.logger });
    const mark = proxy.requests.length;
    const second = await flush(dB);
    const metrics = await dB.request('/metrics');
    await dB.stop();

    // The same keys, counted delivered; the objects are byte for byte those of the first run.
    expect(second.keys).toEqual(first.keys);
    expect(second.rows).toBe(ack.length);
    const after = await readObjects(dest, join(work.dir, 'after'));
    expect(after.map((o) => [o.key, o.bytes.toString('base64')])).toEqual(before.map((o) => [o.key, o.bytes.toString('base64')]));
    const rows = await readFiles(after.map((o) => ({ path: o.path, format })));
    expect(notExactlyOnce(ack, rows.map((r) => r.EVENT_ID as string))).toEqual({ missing: [], duplicated: [], unexpected: [] });
    expect(spoolDepth(join(b, 'spool.db'))).toBe(0);
    expect(logs.lines.filter((l) => l.level === 'warn')).toEqual([]);
    expect(metrics.text).not.toMatch(/logbarge_export_key_conflicts_total\{export="exp"\} [1-9]/);
    if (backend === 's3') {
      // S3 refused every write (412), and logbarge read the existing objects' metadata (HEAD).
      const seen = proxy.requests.slice(mark).filter((r) => decodeURIComponent(r.path).includes('/dt='));
      expect(seen.filter((r) => r.method === 'PUT' || r.method === 'POST').map((r) => r.answered)).toEqual(first.keys.map(() => 412));
      expect(seen.filter((r) => r.method === 'HEAD').length).toBe(first.keys.length);
    }
  });
});

it('reads the metadata of what it delivered: rows, a SHA-256 over the rows, and provenance', async () => {
  const dest = destinations.file!();
  const temp = tempDir('logbarge-clone-meta-');
  cleanups.push(() => temp.remove());
  const d = await daemonOn(temp.dir, { dest, format: 'ndjson', compression: 'none' });
  const sent = samples(8, 'clone-meta');
  await postAll(d.url, sent.map((x) => x.sent), 8);
  const result = await flush(d);
  await d.stop();
  const spool = openSpool({ path: join(temp.dir, 'spool.db'), readonly: true });
  const spoolId = spool.id;
  spool.close();
  const batches = readBatches(join(temp.dir, 'spool.db'), 'exp');
  expect(batches.map((x) => x.object_key)).toEqual(result.keys);
  const store = dest.reader();
  try {
    for (const batch of batches) {
      const head = await store.head(batch.object_key);
      const body = await store.get(batch.object_key);
      expect(body.toString('utf8').split('\n').filter(Boolean)).toHaveLength(batch.row_count);
      expect(head?.metadata).toEqual({
        'logbarge-rows': String(batch.row_count),
        // The rows' hash: each body, a tab and its raw record when it has one, then \n.
        'logbarge-rows-sha256': rowsHashOfLines(body),
        'logbarge-writer': 'pod-a',
        'logbarge-spool': spoolId,
        'logbarge-seq-from': String(batch.seq_from),
        'logbarge-seq-to': String(batch.seq_to),
        'logbarge-format': 'ndjson',
        'logbarge-compression': 'none',
      });
    }
  } finally {
    store.close();
  }
});

describe('the key of a cloned spool\'s batch is taken', () => {
  it('by an object without metadata (an older logbarge): taken as delivered, with a warning', async () => {
    const dest = destinations.file!();
    const sent = samples(12, 'clone-legacy');
    let ack: string[] = [];
    const { a, b } = await clonedSpools(async (path) => {
      ack = await seedSpool(path, sent);
    });
    const dA = await daemonOn(a, { dest, format: 'ndjson' });
    const first = await flush(dA);
    await dA.stop();
    // What an older logbarge left: the same objects, no metadata.
    rmSync(join(dest.dir!, '.logbarge-meta'), { recursive: true });

    const logs = captureLogs();
    const dB = await daemonOn(b, { dest, format: 'ndjson', logger: logs.logger });
    const second = await flush(dB);
    await dB.stop();
    expect(second.keys).toEqual(first.keys);
    const warnings = logs.lines.filter((l) => l.level === 'warn');
    expect(warnings.map((w) => [w.msg, w.key])).toEqual(
      first.keys.map((k) => ["object already present without a row count or hash (written by an older logbarge): taken as this batch's delivery", k]),
    );
    const work = tempDir('logbarge-clone-read-');
    cleanups.push(() => work.remove());
    const rows = await readFiles((await readObjects(dest, work.dir)).map((o) => ({ path: o.path, format: 'ndjson' })));
    expect(notExactlyOnce(ack, rows.map((r) => r.EVENT_ID as string))).toEqual({ missing: [], duplicated: [], unexpected: [] });
  });

  it('and its metadata cannot be read (S3 denies HEAD): the batch stays spooled, the error says what to allow', async () => {
    const dest = destinations.s3!();
    const { a, b } = await clonedSpools();
    const dA = await daemonOn(a, { dest, format: 'ndjson' });
    await postAll(dA.url, samples(6, 'clone-denied-a').map((x) => x.sent), 6);
    await flush(dA);
    await dA.stop();

    // The clone's identity may write but not read: the policy of an older `logbarge ddl iam`.
    const denied = await startS3Proxy({ upstream: server.endpoint, rules: [enforceIfNoneMatch, denyReads] });
    cleanups.push(() => denied.stop());
    const dB = await daemonOn(b, { dest: { url: dest.url, open: () => openTestStore(dest.url, server.s3Config({ endpoint: denied.endpoint })) }, format: 'ndjson' });
    const ackB = await postAll(dB.url, samples(6, 'clone-denied-b').map((x) => x.sent), 6);
    const res = await flushOver(dB.url);
    await dB.stop();
    expect(res.status).toBe(200);
    const error = String(res.body.exports[0].error);
    expect(error).toMatch(/^check existing object s3:\/\/clone-bucket\/run-\d+\/dt=.*: head object .*: access denied/);
    expect(error).toContain('Try: the key exists already; logbarge reads its metadata to tell its own earlier upload from another spool\'s object: allow s3:GetObject');
    // Nothing was committed or pruned: the clone still holds every event it acknowledged.
    expect(spoolDepth(join(b, 'spool.db'))).toBe(ackB.length);
    expect(readBatches(join(b, 'spool.db'), 'exp').map((x) => x.state)).toEqual(['planned', 'planned']);
  });

  it('by other rows, and the upload to the new key fails: the retry uses the new key recorded before it', async () => {
    const dest = destinations.s3!();
    const { a, b } = await clonedSpools();
    const dA = await daemonOn(a, { dest, format: 'parquet' });
    const ackA = await postAll(dA.url, samples(10, 'clone-retry-a').map((x) => x.sent), 10);
    const first = await flush(dA);
    await dA.stop();

    // Writes to re-keyed names fail (503) until `outage` is lifted.
    let outage = true;
    const flaky = await startS3Proxy({
      upstream: server.endpoint,
      rules: [
        enforceIfNoneMatch,
        (req) => (outage && req.method === 'PUT' && /-[0-9a-f]{16}\.parquet$/.test(decodeURIComponent(req.path)) ? s3Error(503, 'SlowDown', 'Please reduce your request rate.') : undefined),
      ],
    });
    cleanups.push(() => flaky.stop());
    const dB = await daemonOn(b, { dest: { url: dest.url, open: () => openTestStore(dest.url, server.s3Config({ endpoint: flaky.endpoint })) }, format: 'parquet' });
    const ackB = await postAll(dB.url, samples(10, 'clone-retry-b').map((x) => x.sent), 10);
    const failed = await flushOver(dB.url);
    expect(String(failed.body.exports[0].error)).toMatch(/SlowDown/);
    const recorded = readBatches(join(b, 'spool.db'), 'exp');
    expect(recorded.map((x) => x.state)).toEqual(['planned', 'planned']);
    expect(recorded[0]!.object_key).toMatch(/-[0-9a-f]{16}\.parquet$/);
    expect(recorded[0]!.object_key.startsWith(first.keys[0]!.slice(0, -'.parquet'.length))).toBe(true);

    outage = false;
    const mark = flaky.requests.length;
    const second = await flush(dB);
    await dB.stop();
    // The failed cycle stopped at the first batch; the second still had its planned key.
    expect(recorded[1]!.object_key).toBe(first.keys[1]);
    // The retry wrote the first batch straight to its recorded key, never to its planned (taken) key again.
    expect(second.keys).toEqual(readBatches(join(b, 'spool.db'), 'exp').map((x) => x.object_key));
    expect(second.keys[0]).toBe(recorded[0]!.object_key);
    const writes = flaky.requests.slice(mark).filter((r) => r.method === 'PUT').map((r) => decodeURIComponent(r.path));
    expect(writes.filter((p) => p.endsWith(`/${first.keys[0]}`))).toEqual([]);
    expect(writes.filter((p) => p.endsWith(`/${recorded[0]!.object_key}`))).toHaveLength(1);

    const work = tempDir('logbarge-clone-read-');
    cleanups.push(() => work.remove());
    const rows = await readFiles((await readObjects(dest, work.dir)).map((o) => ({ path: o.path, format: 'parquet' })));
    expect(notExactlyOnce([...ackA, ...ackB], rows.map((r) => r.EVENT_ID as string))).toEqual({ missing: [], duplicated: [], unexpected: [] });
  });
});
