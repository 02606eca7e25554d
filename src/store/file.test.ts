/**
 * file-backend behaviour beyond the shared contract: URL forms, temp files, concurrent
 * `ifAbsent` writers, metadata sidecars, and the backend choice in openStore.
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { s3TestConfig } from '../../test/support/s3.js';
import { createFileStore, fileUrlToDirectory } from './file.js';
import { metadataFolder, tempFilePrefix } from './key.js';
import { openStore } from './open.js';
import { StoreError } from './store.js';
import type { S3ObjectStore } from './s3.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'logbarge-file-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** Every file name under `root`, recursively. */
function allFiles(root: string): string[] {
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => e.name);
}

describe('fileUrlToDirectory', () => {
  it.each([
    ['file:///var/lib/logbarge/exports/', '/var/lib/logbarge/exports'],
    ['file:///tmp/with%20space/', '/tmp/with space'],
    ['file://./data/exports/', resolve(process.cwd(), 'data/exports')],
    ['file://./', process.cwd()],
  ])('%s → %s', (url, path) => {
    expect(fileUrlToDirectory(url)).toBe(path);
  });

  it.each(['file://host/share/', 'file:relative/', 'file://../up/', '/plain/path'])('rejects %s', (url) => {
    expect(() => fileUrlToDirectory(url)).toThrow(/not a file:\/\/\/absolute\/dir\/ or file:\/\/\.\/relative\/dir\/ URL/);
  });
});

describe('createFileStore', () => {
  const url = (): string => `${pathToFileURL(dir).href}/exports/`;

  it('describes keys as paths under the directory', () => {
    expect(createFileStore({ url: url() }).describe('dt=2026-03-14/a.parquet')).toBe(join(dir, 'exports', 'dt=2026-03-14', 'a.parquet'));
  });

  it('leaves no temp files behind and keeps the staged source', async () => {
    const store = createFileStore({ url: url() });
    const staged = join(dir, 'staged.ndjson');
    writeFileSync(staged, '{"a":1}\n');
    await store.putFile('dt=2026-03-14/a.ndjson', staged, { contentType: 'application/x-ndjson' });
    await store.putFile('dt=2026-03-14/a.ndjson', staged, { contentType: 'application/x-ndjson', ifAbsent: true });
    await store.putBytes('dt=2026-03-14/b.ndjson', Buffer.from('b'), { contentType: 'application/x-ndjson' });
    await store.putBytes('dt=2026-03-14/c.ndjson', Buffer.from('c'), { contentType: 'application/x-ndjson', signal: AbortSignal.abort() }).catch(() => undefined);
    expect(readFileSync(staged, 'utf8')).toBe('{"a":1}\n');
    expect(allFiles(join(dir, 'exports')).sort()).toEqual(['a.ndjson', 'b.ndjson']);
  });

  it('ignores temp files (a crash mid-write) when listing', async () => {
    const store = createFileStore({ url: url() });
    await store.putBytes('dt=2026-03-14/a.csv', Buffer.from('a'), { contentType: 'text/csv' });
    writeFileSync(join(dir, 'exports', 'dt=2026-03-14', `${tempFilePrefix}123-abcdef`), 'half a file');
    expect((await store.list('')).map((o) => o.key)).toEqual(['dt=2026-03-14/a.csv']);
    await expect(store.get(`dt=2026-03-14/${tempFilePrefix}123-abcdef`)).rejects.toThrow(/reserved for temp files/);
  });

  it('lets exactly one of many concurrent ifAbsent writers win', async () => {
    const store = createFileStore({ url: url() });
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        store.putBytes('dt=2026-03-14/batch.parquet', Buffer.from(`writer ${i}`), { contentType: 'application/vnd.apache.parquet', ifAbsent: true }),
      ),
    );
    const winners = results.flatMap((r, i) => (r.alreadyExisted ? [] : [i]));
    expect(winners).toHaveLength(1);
    expect((await store.get('dt=2026-03-14/batch.parquet')).toString()).toBe(`writer ${winners[0]}`);
    expect(allFiles(join(dir, 'exports'))).toEqual(['batch.parquet']);
  });

  it('lets exactly one of many concurrent ifAbsent writers with metadata win, and head returns the winner\'s', async () => {
    const store = createFileStore({ url: url() });
    const key = 'dt=2026-03-14/batch.parquet';
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        store.putBytes(key, Buffer.from(`writer ${i}`), { contentType: 'application/vnd.apache.parquet', ifAbsent: true, metadata: { 'logbarge-writer': `w${i}` } }),
      ),
    );
    const winners = results.flatMap((r, i) => (r.alreadyExisted ? [] : [i]));
    expect(winners).toHaveLength(1);
    expect((await store.get(key)).toString()).toBe(`writer ${winners[0]}`);
    expect(await store.head(key)).toEqual({ size: `writer ${winners[0]}`.length, metadata: { 'logbarge-writer': `w${winners[0]}` } });
    // Writers that lost after writing their sidecar removed it; those that saw the key first wrote none.
    expect(readdirSync(join(dir, 'exports', metadataFolder, 'dt=2026-03-14', 'batch.parquet.meta'))).toHaveLength(1);
  });

  it('keeps metadata in a sidecar named by the bytes, under a dot folder outside every partition', async () => {
    const store = createFileStore({ url: url() });
    const body = Buffer.from('{"a":1}\n');
    await store.putBytes('dt=2026-03-14/a.ndjson', body, { contentType: 'application/x-ndjson', metadata: { 'logbarge-rows': '1' } });
    const sha = createHash('sha256').update(body).digest('hex');
    const sidecar = join(dir, 'exports', metadataFolder, 'dt=2026-03-14', 'a.ndjson.meta', `${sha}.json`);
    expect(JSON.parse(readFileSync(sidecar, 'utf8'))).toEqual({ key: 'dt=2026-03-14/a.ndjson', bytes: body.length, sha256: sha, metadata: { 'logbarge-rows': '1' } });
    expect(readdirSync(join(dir, 'exports', 'dt=2026-03-14'))).toEqual(['a.ndjson']);
    // Nothing under the metadata folder looks like a data file.
    expect(readdirSync(join(dir, 'exports'), { recursive: true }).map(String).filter((f) => f.endsWith('.ndjson'))).toEqual(['dt=2026-03-14/a.ndjson']);
  });

  it('deletes a key\'s sidecars without touching those of a key below `<key>.meta/`', async () => {
    const store = createFileStore({ url: url() });
    const put = (key: string, rows: string) => store.putBytes(key, Buffer.from(key), { contentType: 'text/plain', metadata: { 'logbarge-rows': rows } });
    await put('a', '1');
    await put('a.meta/b', '2');
    await store.delete('a');
    expect(await store.head('a')).toBeUndefined();
    expect(await store.head('a.meta/b')).toEqual({ size: 8, metadata: { 'logbarge-rows': '2' } });
    await store.delete('a.meta/b');
    await put('a', '3');
    expect((await store.head('a'))?.metadata).toEqual({ 'logbarge-rows': '3' });
  });

  it('ignores a sidecar that describes other bytes (a put that crashed before linking its object)', async () => {
    const store = createFileStore({ url: url() });
    const key = 'dt=2026-03-14/a.ndjson';
    // The crashed put: its sidecar is in place, its object never was.
    await store.putBytes(key, Buffer.from('crashed attempt'), { contentType: 'application/x-ndjson', metadata: { 'logbarge-writer': 'crashed' } });
    rmSync(join(dir, 'exports', 'dt=2026-03-14', 'a.ndjson'));
    expect(await store.head(key)).toBeUndefined();
    // Another put (older logbarge: no metadata) wins the key.
    await store.putBytes(key, Buffer.from('other bytes'), { contentType: 'application/x-ndjson', ifAbsent: true });
    expect(await store.head(key)).toEqual({ size: 11, metadata: {} });
    // A put of the crashed attempt's bytes finds the key taken and leaves the object as it is.
    const again = await store.putBytes(key, Buffer.from('crashed attempt'), { contentType: 'application/x-ndjson', ifAbsent: true, metadata: { 'logbarge-writer': 'crashed' } });
    expect(again.alreadyExisted).toBe(true);
    expect(await store.head(key)).toEqual({ size: 11, metadata: {} });
  });

  it('lists an empty or missing directory as empty, and a directory key as missing', async () => {
    const store = createFileStore({ url: url() });
    expect(await store.list('')).toEqual([]);
    mkdirSync(join(dir, 'exports', 'dt=2026-03-14'), { recursive: true });
    expect(await store.head('dt=2026-03-14')).toBeUndefined();
    await expect(store.get('dt=2026-03-14')).rejects.toMatchObject({ reason: 'not_found' });
    expect(existsSync(join(dir, 'exports'))).toBe(true);
  });
});

describe('symbolic links inside the destination', () => {
  const put = { contentType: 'text/plain' } as const;
  /** The destination `exports/` with `dt=2026-03-14/a.txt` in place, and `outside/` beside it holding `secret.txt`. */
  function layout(): { store: ReturnType<typeof createFileStore>; dest: string; outside: string } {
    const dest = join(dir, 'exports');
    const outside = join(dir, 'outside');
    mkdirSync(join(dest, 'dt=2026-03-14'), { recursive: true });
    writeFileSync(join(dest, 'dt=2026-03-14', 'a.txt'), 'a');
    mkdirSync(outside);
    writeFileSync(join(outside, 'secret.txt'), 'secret');
    return { store: createFileStore({ url: `${pathToFileURL(dest).href}/` }), dest, outside };
  }
  /** Expects a non-retryable StoreError naming the link, with a hint. */
  async function refused(promise: Promise<unknown>, link: string): Promise<void> {
    const err = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StoreError);
    expect(err).toMatchObject({ reason: 'other', retryable: false });
    expect((err as StoreError).message).toContain(`${link} is a symbolic link`);
    expect((err as StoreError).hint).toMatch(/symbolic link/);
  }

  it('refuses every operation through a linked directory, and touches nothing behind it', async () => {
    const { store, dest, outside } = layout();
    symlinkSync(outside, join(dest, 'dt=2026-03-15'));
    const link = join(dest, 'dt=2026-03-15');
    await refused(store.putBytes('dt=2026-03-15/new.txt', Buffer.from('x'), put), link);
    await refused(store.putBytes('dt=2026-03-15/new.txt', Buffer.from('x'), { ...put, ifAbsent: true }), link);
    const staged = join(dir, 'staged.txt');
    writeFileSync(staged, 'staged');
    await refused(store.putFile('dt=2026-03-15/new.txt', staged, put), link);
    await refused(store.putBytes('dt=2026-03-15/deeper/new.txt', Buffer.from('x'), put), link);
    await refused(store.get('dt=2026-03-15/secret.txt'), link);
    await refused(store.head('dt=2026-03-15/secret.txt'), link);
    await refused(store.delete('dt=2026-03-15/secret.txt'), link);
    await refused(store.list('dt=2026-03-15/'), link);
    await refused(store.list('dt=2026-03-15/sec'), link);
    await refused(store.list(''), link);
    await refused(store.list('dt='), link);
    expect(readdirSync(outside)).toEqual(['secret.txt']);
    expect(readFileSync(join(outside, 'secret.txt'), 'utf8')).toBe('secret');
    // Keys elsewhere still work.
    expect((await store.get('dt=2026-03-14/a.txt')).toString()).toBe('a');
    expect((await store.list('dt=2026-03-14/')).map((o) => o.key)).toEqual(['dt=2026-03-14/a.txt']);
  });

  it('refuses a key that is itself a link, to a file or to nothing', async () => {
    const { store, dest, outside } = layout();
    const link = join(dest, 'dt=2026-03-14', 'b.txt');
    symlinkSync(join(outside, 'secret.txt'), link);
    await refused(store.get('dt=2026-03-14/b.txt'), link);
    await refused(store.head('dt=2026-03-14/b.txt'), link);
    await refused(store.delete('dt=2026-03-14/b.txt'), link);
    await refused(store.putBytes('dt=2026-03-14/b.txt', Buffer.from('x'), put), link);
    await refused(store.putBytes('dt=2026-03-14/b.txt', Buffer.from('x'), { ...put, ifAbsent: true }), link);
    await refused(store.list('dt=2026-03-14/'), link);
    const dangling = join(dest, 'dt=2026-03-14', 'c.txt');
    symlinkSync(join(outside, 'planted.txt'), dangling);
    await refused(store.putBytes('dt=2026-03-14/c.txt', Buffer.from('x'), { ...put, ifAbsent: true }), dangling);
    expect(readdirSync(outside)).toEqual(['secret.txt']);
    expect(readFileSync(join(outside, 'secret.txt'), 'utf8')).toBe('secret');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
  });

  it('follows a destination directory that is itself a link (the operator chose it)', async () => {
    const real = join(dir, 'real');
    mkdirSync(real);
    symlinkSync(real, join(dir, 'linked'));
    const store = createFileStore({ url: `${pathToFileURL(join(dir, 'linked')).href}/` });
    await store.putBytes('dt=2026-03-14/a.txt', Buffer.from('a'), put);
    expect(readFileSync(join(real, 'dt=2026-03-14', 'a.txt'), 'utf8')).toBe('a');
    expect(await store.head('dt=2026-03-14/a.txt')).toEqual({ size: 1, metadata: {} });
    expect((await store.list('')).map((o) => o.key)).toEqual(['dt=2026-03-14/a.txt']);
    await store.delete('dt=2026-03-14/a.txt');
    expect(await store.head('dt=2026-03-14/a.txt')).toBeUndefined();
  });
});

describe('openStore', () => {
  it('picks the backend from the scheme', () => {
    const s3 = openStore('s3://bucket/prefix/', s3TestConfig('http://127.0.0.1:9')) as S3ObjectStore;
    expect(s3.describe('k')).toBe('s3://bucket/prefix/k');
    expect(s3.conditionalWrites).toBeUndefined();
    expect(createFileStore({ url: `${pathToFileURL(dir).href}/` }).conditionalWrites).toBe(true);
    s3.close();
    expect(openStore(`${pathToFileURL(dir).href}/`, s3TestConfig('http://127.0.0.1:9')).describe('k')).toBe(join(dir, 'k'));
  });

  it.each(['gs://bucket/prefix/', 'https://example.com/x', 'bucket/prefix'])('rejects %s', (destination) => {
    expect(() => openStore(destination, s3TestConfig('http://127.0.0.1:9'))).toThrow(/^open destination/);
  });
});
