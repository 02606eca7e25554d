/**
 * File modes of what logbarge creates that holds events: the spool and its -wal/-shm, the export
 * work directory and its staged files, and the temp files of `logbarge ingest` are private to the
 * user running logbarge (files 0600, directories 0700). Exported objects in a file:// destination
 * keep the mode any new file gets (0666 minus the umask), since they are meant to be read.
 * (Tests run as root, which ignores mode bits when opening; stat still reports them.)
 */
import { readdirSync, statSync, writeFileSync, chmodSync, closeSync, openSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { ingestFile } from '../src/app/ingest-file.js';
import { createPreparer } from '../src/ingest/prepare.js';
import { loadSchema } from '../src/schema/schema.js';
import { contentKey, openSpool } from '../src/spool/spool.js';
import { openStore } from '../src/store/open.js';
import type { ObjectStore } from '../src/store/store.js';
import { event, startTestDaemon, tempDir, testConfig } from './support/daemon.js';

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Permission bits of `path`, as an octal string (`'600'`). */
const mode = (path: string): string => (statSync(path).mode & 0o777).toString(8);

/** The mode a new file gets in `dir` from this process (0666 minus the umask). */
function newFileMode(dir: string): string {
  const probe = join(dir, 'mode-probe');
  closeSync(openSync(probe, 'wx'));
  return mode(probe);
}

describe('the spool', () => {
  it('creates the file, its -wal and -shm 0600 and the directories it makes 0700', () => {
    const temp = tempDir();
    cleanups.push(temp.remove);
    const path = join(temp.dir, 'a', 'b', 'spool.db');
    const spool = openSpool({ path });
    cleanups.push(() => spool.close());
    spool.appendGroups([[{ eventId: 'e-1', eventMs: Date.UTC(2026, 2, 14), dt: '2026-03-14', body: '{}', raw: null, content: contentKey('{}') }]], { now: Date.now(), limits: { maxEvents: 10, maxBytes: 1e6 } });
    expect(mode(join(temp.dir, 'a'))).toBe('700');
    expect(mode(join(temp.dir, 'a', 'b'))).toBe('700');
    for (const file of [path, `${path}-wal`, `${path}-shm`]) expect([file, mode(file)]).toEqual([file, '600']);
  });

  it('leaves the mode of an existing spool file as the operator set it', () => {
    const temp = tempDir();
    cleanups.push(temp.remove);
    const path = join(temp.dir, 'spool.db');
    writeFileSync(path, '');
    chmodSync(path, 0o640);
    const spool = openSpool({ path });
    cleanups.push(() => spool.close());
    expect(mode(path)).toBe('640');
  });
});

describe('export staging', () => {
  it('stages every format 0600 inside 0700 work directories; exported files keep the default mode', async () => {
    const temp = tempDir();
    cleanups.push(temp.remove);
    const seen: { path: string; file: string; dirs: string[] }[] = [];
    const wrap = (store: ObjectStore): ObjectStore => ({
      ...store,
      putFile: (key, path, options) => {
        seen.push({ path, file: mode(path), dirs: [mode(dirname(path)), mode(dirname(dirname(path)))] });
        return store.putFile(key, path, options);
      },
    });
    const exports = [
      { name: 'nd', format: 'ndjson', compression: 'none' },
      { name: 'csv', format: 'csv', compression: 'gzip' },
      { name: 'pq', format: 'parquet', compression: 'zstd' },
    ].map((e) => ({ ...e, schedule: '0 0 1 1 *', destination: `file://${join(temp.dir, 'out', e.name)}/` }));
    const d = await startTestDaemon({ exports }, temp.dir, { openStore: (destination, config) => wrap(openStore(destination, config.s3)) });
    cleanups.push(() => d.daemon.stop());
    expect((await d.post([event(), event()])).status).toBe(202);
    const flush = await d.request('/v1/flush', { method: 'POST' });
    expect(flush.status).toBe(200);
    expect(flush.body.exports.map((e: { rows: number }) => e.rows)).toEqual([2, 2, 2]);
    expect(seen.map((s) => s.path.slice(temp.dir.length))).toEqual(
      exports.map(() => expect.stringMatching(/^\/work\/work-[0-9a-f]{16}\//)),
    );
    for (const s of seen) expect(s).toMatchObject({ file: '600', dirs: ['700', '700'] });
    const expected = newFileMode(temp.dir);
    for (const e of exports) {
      const dir = join(temp.dir, 'out', e.name, 'dt=2026-03-14');
      const files = readdirSync(dir);
      expect(files).toHaveLength(1);
      expect([e.name, mode(join(dir, files[0]!))]).toEqual([e.name, expected]);
    }
  });
});

describe('logbarge ingest', () => {
  it('stages rows in a 0700 .ingest-* directory, in a 0600 file', async () => {
    const temp = tempDir();
    cleanups.push(temp.remove);
    const config = testConfig(temp.dir);
    const spool = openSpool({ path: config.spool.path });
    cleanups.push(() => spool.close());
    const staged: string[][] = [];
    const result = await ingestFile({
      input: Readable.from([`${JSON.stringify(event())}\n${JSON.stringify(event())}\n`]),
      spool,
      preparer: createPreparer(loadSchema(), config.ingest),
      limits: { maxEvents: 100, maxBytes: 1e6 },
      onProgress: (p) => {
        if (p.phase !== 'store') return;
        for (const name of readdirSync(temp.dir).filter((n) => n.startsWith('.ingest-'))) {
          const dir = join(temp.dir, name);
          staged.push([name.slice(0, 8), mode(dir), ...readdirSync(dir).map((f) => `${f} ${mode(join(dir, f))}`)]);
        }
      },
    });
    expect(result.accepted).toBe(2);
    expect(staged).toEqual([['.ingest-', '700', 'owner.json 600', 'rows.tsv 600']]);
  });
});
