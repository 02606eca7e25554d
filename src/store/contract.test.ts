/**
 * The shared ObjectStore contract suite, run against every backend: the file backend in a temp
 * directory and the s3 backend against fauxqs on 127.0.0.1. fauxqs ignores `If-None-Match`, so
 * the s3 harness's `conditional` store goes through a loopback proxy that enforces it (412).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { enforceIfNoneMatch, startS3Proxy, type S3Proxy } from '../../test/support/s3-proxy.js';
import { openTestStore, startS3Server, type S3TestServer } from '../../test/support/s3.js';
import { createFileStore } from './file.js';
import { StoreError, type ListedObject, type ObjectStore } from './store.js';

/** One fresh, empty destination for a test. */
interface Harness {
  readonly store: ObjectStore;
  /** The same destination where `ifAbsent` is enforced (S3: through the 412 proxy). */
  readonly conditional: ObjectStore;
  close(): Promise<void>;
}

/** A scratch directory for staged files, removed after the suite. */
const staging = mkdtempSync(join(tmpdir(), 'logbarge-contract-'));
afterAll(() => rmSync(staging, { recursive: true, force: true }));

/** Writes `bytes` to a staged file and returns its path. */
function stage(bytes: Uint8Array): string {
  const path = join(staging, `staged-${randomBytes(4).toString('hex')}`);
  writeFileSync(path, bytes);
  return path;
}

/** Expects `promise` to reject with a StoreError of `reason`. */
async function expectFailure(promise: Promise<unknown>, reason: StoreError['reason']): Promise<StoreError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StoreError);
  expect((err as StoreError).reason).toBe(reason);
  return err as StoreError;
}

/** The key and size of a listed object (lastModified differs run to run). */
function keyAndSize(o: ListedObject): { key: string; size: number } {
  return { key: o.key, size: o.size };
}

/** Every byte of a stream. */
async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

const parquet = { contentType: 'application/vnd.apache.parquet' } as const;

/** Metadata as a data object carries it, and another writer's. */
const meta = { 'logbarge-rows': '1200', 'logbarge-rows-sha256': 'a'.repeat(64), 'logbarge-writer': 'pod-a', 'logbarge-seq-from': '1' } as const;
const other = { 'logbarge-rows': '7', 'logbarge-rows-sha256': 'b'.repeat(64), 'logbarge-writer': 'pod-a' } as const;

/** A bit over one 8 MiB part, so the s3 backend takes the multipart path. */
const largeSize = 8 * 1024 * 1024 + 12_345;

/** Runs the contract cases against stores made by `makeHarness`. */
function storeContract(name: string, makeHarness: () => Promise<Harness>): void {
  describe(`ObjectStore contract: ${name}`, () => {
    let h: Harness;
    beforeEach(async () => {
      h = await makeHarness();
    });
    afterEach(async () => {
      await h.close();
    });

    it('round-trips binary bytes through putBytes, head, get and list', async () => {
      const body = Uint8Array.from({ length: 256 * 4 }, (_, i) => i % 256);
      const result = await h.store.putBytes('dt=2026-03-14/bytes.bin', body, { contentType: 'application/octet-stream' });
      expect(result).toEqual({ bytes: body.length, alreadyExisted: false });
      expect(await h.store.head('dt=2026-03-14/bytes.bin')).toEqual({ size: body.length, metadata: {} });
      expect((await h.store.get('dt=2026-03-14/bytes.bin')).equals(Buffer.from(body))).toBe(true);
      expect((await h.store.list('')).map(keyAndSize)).toEqual([{ key: 'dt=2026-03-14/bytes.bin', size: body.length }]);
    });

    it('uploads a small and a >8 MiB staged file byte for byte', async () => {
      const small = randomBytes(1500);
      const large = randomBytes(largeSize);
      const key = 'dt=2026-03-14/pod-a-00000000000000000001-00000000000000200000.parquet';
      expect(await h.store.putFile('dt=2026-03-14/small.ndjson', stage(small), { contentType: 'application/x-ndjson' })).toEqual({
        bytes: small.length,
        alreadyExisted: false,
      });
      expect(await h.store.putFile(key, stage(large), parquet)).toEqual({ bytes: large.length, alreadyExisted: false });
      expect((await h.store.get('dt=2026-03-14/small.ndjson')).equals(small)).toBe(true);
      const got = await h.store.get(key);
      expect(got.length).toBe(large.length);
      expect(got.equals(large)).toBe(true);
      expect(await h.store.head(key)).toEqual({ size: large.length, metadata: {} });
    });

    it('stores empty objects', async () => {
      await h.store.putBytes('empty/bytes', new Uint8Array(0), { contentType: 'text/plain' });
      await h.store.putFile('empty/file', stage(new Uint8Array(0)), { contentType: 'text/plain' });
      expect(await h.store.head('empty/bytes')).toEqual({ size: 0, metadata: {} });
      expect((await h.store.get('empty/file')).length).toBe(0);
    });

    it('keeps keys with dt= segments, spaces, punctuation and unicode exactly', async () => {
      const keys = [
        'dt=2026-03-14/pod-a-1-100.csv.gz',
        'dt=2026-03-14/ünïcödé ✓ 日本語/a b+c&d=e;f,g(h)~.ndjson.gz',
        'dt=2026-03-15/emoji-😀.ndjson',
        "dt=2026-03-15/quote'and%percent#hash.csv",
      ];
      for (const [i, key] of keys.entries()) {
        await h.store.putBytes(key, Buffer.from(`object ${i}: ${key}`), { contentType: 'text/plain', contentEncoding: 'gzip' });
      }
      for (const [i, key] of keys.entries()) expect((await h.store.get(key)).toString()).toBe(`object ${i}: ${key}`);
      expect((await h.store.list('')).map((o) => o.key)).toEqual([...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));
    });

    it('replaces an object when re-put without ifAbsent', async () => {
      await h.store.putBytes('dt=2026-03-14/x.ndjson', Buffer.from('first version'), { contentType: 'application/x-ndjson' });
      await h.store.putFile('dt=2026-03-14/x.ndjson', stage(Buffer.from('second')), { contentType: 'application/x-ndjson' });
      expect((await h.store.get('dt=2026-03-14/x.ndjson')).toString()).toBe('second');
      expect((await h.store.list('dt=2026-03-14/')).map(keyAndSize)).toEqual([{ key: 'dt=2026-03-14/x.ndjson', size: 6 }]);
    });

    it('stores metadata with an object (putBytes, putFile, multipart) and returns it from head', async () => {
      const small = randomBytes(300);
      const large = randomBytes(largeSize);
      await h.store.putBytes('dt=2026-03-14/a.ndjson', small, { contentType: 'application/x-ndjson', metadata: meta });
      await h.store.putFile('dt=2026-03-14/b.parquet', stage(small), { ...parquet, metadata: { ...meta, 'logbarge-rows': '2' } });
      await h.store.putFile('dt=2026-03-14/c.parquet', stage(large), { ...parquet, metadata: { 'logbarge-rows': '3' } });
      await h.store.putBytes('dt=2026-03-14/none.ndjson', small, { contentType: 'application/x-ndjson' });
      expect(await h.store.head('dt=2026-03-14/a.ndjson')).toEqual({ size: small.length, metadata: meta });
      expect(await h.store.head('dt=2026-03-14/b.parquet')).toEqual({ size: small.length, metadata: { ...meta, 'logbarge-rows': '2' } });
      expect(await h.store.head('dt=2026-03-14/c.parquet')).toEqual({ size: large.length, metadata: { 'logbarge-rows': '3' } });
      expect(await h.store.head('dt=2026-03-14/none.ndjson')).toEqual({ size: small.length, metadata: {} });
      // Metadata is not an object of its own: list shows the four keys only, get the bytes only.
      expect((await h.store.list('')).map((o) => o.key)).toEqual(['dt=2026-03-14/a.ndjson', 'dt=2026-03-14/b.parquet', 'dt=2026-03-14/c.parquet', 'dt=2026-03-14/none.ndjson']);
      expect((await h.store.get('dt=2026-03-14/a.ndjson')).equals(small)).toBe(true);
    });

    it('replaces metadata with the object on a re-put without ifAbsent, and deletes it with the object', async () => {
      const key = 'dt=2026-03-14/x.ndjson';
      await h.store.putBytes(key, Buffer.from('same bytes'), { contentType: 'application/x-ndjson', metadata: meta });
      await h.store.putBytes(key, Buffer.from('same bytes'), { contentType: 'application/x-ndjson', metadata: { 'logbarge-rows': '9' } });
      expect((await h.store.head(key))?.metadata).toEqual({ 'logbarge-rows': '9' });
      await h.store.putFile(key, stage(Buffer.from('same bytes')), { contentType: 'application/x-ndjson' });
      expect((await h.store.head(key))?.metadata).toEqual({});
      await h.store.putBytes(key, Buffer.from('same bytes'), { contentType: 'application/x-ndjson', metadata: meta });
      await h.store.delete(key);
      await h.store.putBytes(key, Buffer.from('same bytes'), { contentType: 'application/x-ndjson' });
      expect(await h.store.head(key)).toEqual({ size: 10, metadata: {} });
    });

    it('rejects metadata S3 would not keep as sent, naming the field, and writes nothing', async () => {
      const bad: [Record<string, string>, RegExp][] = [
        [{ 'Logbarge-Rows': '1' }, /name "Logbarge-Rows"/],
        [{ 'logbarge_rows': '1' }, /name "logbarge_rows"/],
        [{ '-rows': '1' }, /name "-rows"/],
        [{ 'logbarge-writer': 'pöd' }, /value of "logbarge-writer"/],
        [{ 'logbarge-writer': ' padded' }, /value of "logbarge-writer"/],
        [{ 'logbarge-writer': '' }, /value of "logbarge-writer"/],
        [{ 'logbarge-writer': 'a\nb' }, /value of "logbarge-writer"/],
        [{ 'logbarge-big': 'x'.repeat(2048) }, /over S3's limit of 2048/],
      ];
      for (const [metadata, message] of bad) {
        const key = 'dt=2026-03-14/bad.ndjson';
        await expect(h.store.putBytes(key, Buffer.from('x'), { contentType: 'text/plain', metadata }), JSON.stringify(metadata)).rejects.toThrow(message);
        const err = await expectFailure(h.conditional.putFile(key, stage(Buffer.from('x')), { contentType: 'text/plain', metadata, ifAbsent: true }), 'other');
        expect(err.message).toMatch(/^check metadata of "dt=2026-03-14\/bad.ndjson": /);
        expect(err.retryable).toBe(false);
      }
      expect(await h.store.list('')).toEqual([]);
    });

    it('ifAbsent writes a new key and leaves an existing one untouched', async () => {
      const key = 'dt=2026-03-14/batch.parquet';
      expect(await h.conditional.putBytes(key, Buffer.from('original'), { ...parquet, ifAbsent: true, metadata: meta })).toEqual({
        bytes: 8,
        alreadyExisted: false,
      });
      const again = await h.conditional.putBytes(key, Buffer.from('a retry with other bytes'), { ...parquet, ifAbsent: true, metadata: other });
      expect(again.alreadyExisted).toBe(true);
      const file = await h.conditional.putFile(key, stage(Buffer.from('staged retry')), { ...parquet, ifAbsent: true, metadata: other });
      expect(file.alreadyExisted).toBe(true);
      expect((await h.store.get(key)).toString()).toBe('original');
      // The existing object keeps its own metadata: head tells an earlier attempt from another writer's object.
      expect(await h.store.head(key)).toEqual({ size: 8, metadata: meta });
    });

    it('ifAbsent holds for a multipart upload of an existing key', async () => {
      const key = 'dt=2026-03-14/large.parquet';
      const first = randomBytes(largeSize);
      expect((await h.conditional.putFile(key, stage(first), { ...parquet, ifAbsent: true, metadata: meta })).alreadyExisted).toBe(false);
      expect((await h.conditional.putFile(key, stage(randomBytes(largeSize)), { ...parquet, ifAbsent: true, metadata: other })).alreadyExisted).toBe(true);
      expect((await h.store.get(key)).equals(first)).toBe(true);
      expect(await h.store.head(key)).toEqual({ size: largeSize, metadata: meta });
    });

    it('streams an object with getStream: small, empty and multipart-sized, byte for byte', async () => {
      const small = randomBytes(1500);
      const large = randomBytes(largeSize);
      await h.store.putBytes('dt=2026-03-14/small.bin', small, { contentType: 'application/octet-stream' });
      await h.store.putBytes('dt=2026-03-14/empty.bin', new Uint8Array(0), { contentType: 'application/octet-stream' });
      await h.store.putFile('dt=2026-03-14/large.parquet', stage(large), parquet);
      expect((await readAll(await h.store.getStream('dt=2026-03-14/small.bin'))).equals(small)).toBe(true);
      expect((await readAll(await h.store.getStream('dt=2026-03-14/empty.bin'))).length).toBe(0);
      const hash = createHash('sha256');
      await pipeline(await h.store.getStream('dt=2026-03-14/large.parquet'), hash);
      expect(hash.digest('hex')).toBe(createHash('sha256').update(large).digest('hex'));
    });

    it('getStream rejects a missing key with not_found, and an aborted signal with aborted', async () => {
      await expectFailure(h.store.getStream('dt=2026-03-14/missing.parquet'), 'not_found');
      await expectFailure(h.store.getStream('dt=2026-03-14/missing.parquet', { signal: AbortSignal.abort() }), 'aborted');
      await expect(h.store.getStream('../outside')).rejects.toThrow(/check key/);
    });

    it('lists each object with its lastModified time', async () => {
      const before = Date.now();
      await h.store.putBytes('dt=2026-03-14/a.bin', Buffer.from('a'), { contentType: 'text/plain' });
      await h.store.putFile('dt=2026-03-14/b.bin', stage(Buffer.from('b')), { contentType: 'text/plain' });
      const listed = await h.store.list('dt=2026-03-14/');
      expect(listed.map((o) => o.key)).toEqual(['dt=2026-03-14/a.bin', 'dt=2026-03-14/b.bin']);
      for (const o of listed) {
        expect(o.lastModified).toBeInstanceOf(Date);
        // S3 gives whole seconds: allow the second the write started in, and a clock a minute off.
        expect(o.lastModified!.getTime()).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 - 60_000);
        expect(o.lastModified!.getTime()).toBeLessThanOrEqual(Date.now() + 60_000);
      }
    });

    it('reports missing keys: get throws not_found, head is undefined, delete succeeds', async () => {
      await expectFailure(h.store.get('dt=2026-03-14/missing.parquet'), 'not_found');
      expect(await h.store.head('dt=2026-03-14/missing.parquet')).toBeUndefined();
      await h.store.delete('dt=2026-03-14/missing.parquet');
      expect(await h.store.list('dt=2026-03-14/')).toEqual([]);
    });

    it('deletes an object', async () => {
      await h.store.putBytes('_verify/logbarge-verify-test-20260314T092653Z', Buffer.from('v'), { contentType: 'text/plain' });
      await h.store.delete('_verify/logbarge-verify-test-20260314T092653Z');
      expect(await h.store.head('_verify/logbarge-verify-test-20260314T092653Z')).toBeUndefined();
      await expectFailure(h.store.get('_verify/logbarge-verify-test-20260314T092653Z'), 'not_found');
    });

    it('lists in key (UTF-8 byte) order, filtered by prefix', async () => {
      const keys = ['b', 'a/b', 'a-b', 'a/a', 'dt=2026-03-15/y', 'dt=2026-03-14/x', 'dt=2026-03-14/z/deep', 'u/\u{FFFD}', 'u/\u{1F600}'];
      for (const key of keys) await h.store.putBytes(key, Buffer.from(key), { contentType: 'text/plain' });
      const all = (await h.store.list('')).map((o) => o.key);
      // UTF-8 order puts U+FFFD (EF BF BD) before U+1F600 (F0 9F 98 80); UTF-16 order would not.
      expect(all).toEqual(['a-b', 'a/a', 'a/b', 'b', 'dt=2026-03-14/x', 'dt=2026-03-14/z/deep', 'dt=2026-03-15/y', 'u/\u{FFFD}', 'u/\u{1F600}']);
      expect((await h.store.list('dt=2026-03-14/')).map((o) => o.key)).toEqual(['dt=2026-03-14/x', 'dt=2026-03-14/z/deep']);
      expect((await h.store.list('dt=2026-03-1')).map((o) => o.key)).toEqual(['dt=2026-03-14/x', 'dt=2026-03-14/z/deep', 'dt=2026-03-15/y']);
      expect((await h.store.list('a')).map((o) => o.key)).toEqual(['a-b', 'a/a', 'a/b']);
      expect(await h.store.list('nothing/')).toEqual([]);
      expect(keyAndSize((await h.store.list('b'))[0]!)).toEqual({ key: 'b', size: 1 });
    });

    it('lists past one page (S3 pages hold 1,000 keys)', async () => {
      const keys = Array.from({ length: 1010 }, (_, i) => `many/${String(i).padStart(5, '0')}`);
      for (let i = 0; i < keys.length; i += 50) {
        await Promise.all(keys.slice(i, i + 50).map((key) => h.store.putBytes(key, Buffer.from('x'), { contentType: 'text/plain' })));
      }
      const listed = await h.store.list('many/');
      expect(listed.length).toBe(keys.length);
      expect(listed.map((o) => o.key)).toEqual(keys);
    });

    it('rejects keys that could escape the destination', async () => {
      for (const key of ['../outside', 'a/../../outside', '/etc/passwd', '', 'a//b', 'a/./b', 'trailing/', '.logbarge-meta/x']) {
        await expect(h.store.putBytes(key, Buffer.from('x'), { contentType: 'text/plain' }), key).rejects.toThrow(/check key/);
        await expect(h.store.get(key), key).rejects.toThrow(/check key/);
      }
      await expect(h.store.list('../')).rejects.toThrow(/check prefix/);
      expect(await h.store.list('')).toEqual([]);
    });

    it('stops on an AbortSignal with reason aborted', async () => {
      const aborted = AbortSignal.abort();
      await expectFailure(h.store.putBytes('a', Buffer.from('x'), { contentType: 'text/plain', signal: aborted }), 'aborted');
      await expectFailure(h.store.putFile('a', stage(Buffer.from('x')), { contentType: 'text/plain', signal: aborted }), 'aborted');
      await expectFailure(h.store.get('a', { signal: aborted }), 'aborted');
      await expectFailure(h.store.head('a', { signal: aborted }), 'aborted');
      await expectFailure(h.store.list('', { signal: aborted }), 'aborted');
      await expectFailure(h.store.delete('a', { signal: aborted }), 'aborted');

      // Aborted while the upload is under way (the call has started before the signal fires).
      const controller = new AbortController();
      const put = h.store.putFile('dt=2026-03-14/big.parquet', stage(randomBytes(largeSize)), { ...parquet, signal: controller.signal });
      controller.abort();
      await expectFailure(put, 'aborted');
      expect(await h.store.list('')).toEqual([]);
    });
  });
}

storeContract('file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'logbarge-file-store-'));
  const store = createFileStore({ url: pathToFileURL(join(dir, 'exports')).href + '/' });
  return {
    store,
    conditional: store,
    close: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

describe('with fauxqs on 127.0.0.1', () => {
  let server: S3TestServer;
  let proxy: S3Proxy;
  let run = 0;
  beforeAll(async () => {
    server = await startS3Server();
    await server.createBucket('contract');
    proxy = await startS3Proxy({ upstream: server.endpoint, rules: [enforceIfNoneMatch] });
  });
  afterAll(async () => {
    await proxy?.stop();
    await server?.stop();
  });

  storeContract('s3', async () => {
    // Each test gets its own prefix in the one bucket.
    const destination = `s3://contract/run-${++run}/`;
    const store = openTestStore(destination, server.s3Config());
    const conditional = openTestStore(destination, server.s3Config({ endpoint: proxy.endpoint }));
    return {
      store,
      conditional,
      close: async () => {
        store.close();
        conditional.close();
      },
    };
  });
});
