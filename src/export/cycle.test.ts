/**
 * Export pages are bounded by stored bytes as well as rows: a batch of large raw records is read
 * and encoded in pages no larger than the bound (one row when a single row is larger), and the
 * object holds every row exactly as stored, read back with DuckDB. The real-size case (pages past
 * V8's string limit) is `npm run bench -- --only large-rows`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { createLogger } from '../log.js';
import { createMetrics } from '../metrics.js';
import { createPreparer } from '../ingest/prepare.js';
import { loadSchema } from '../schema/schema.js';
import { registerExports } from '../spool/exports.js';
import { openSpool, type Spool } from '../spool/spool.js';
import { openStore } from '../store/open.js';
import { createParquetEncoder } from './encoders/parquet.js';
import { createNdjsonEncoder } from './encoders/text.js';
import type { Encoder, ExportRow, Format } from './encoders/types.js';
import { createExportRunner } from './cycle.js';
import { tempDir, testConfig } from '../../test/support/daemon.js';
import { readFiles } from '../../test/support/duckdb.js';
import { samples } from '../../test/support/events.js';

const schema = loadSchema();
const pageBytes = 1024 * 1024;
const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** An encoder that records the stored bytes of every page it is given. */
function recording(inner: Encoder, pages: { rows: number; bytes: number }[]): Encoder {
  return {
    format: inner.format,
    ...(inner.takesStoredLines ? { takesStoredLines: true } : {}),
    close: () => inner.close(),
    encode: (input) =>
      inner.encode({
        ...input,
        pages: (async function* () {
          for await (const page of input.pages) {
            // Stored lines: the bodies and the newlines between them.
            if ('lines' in page) pages.push({ rows: page.rows, bytes: page.lines.length - (page.rows - 1) });
            else pages.push({ rows: page.length, bytes: page.reduce((n: number, r: ExportRow) => n + Buffer.byteLength(r.body) + (r.raw === null ? 0 : Buffer.byteLength(r.raw)), 0) });
            yield page;
          }
        })(),
      }),
  };
}

/** A raw record of about `size` bytes with quotes and control characters, which JSON escaping expands. */
function bigRaw(i: number, size: number): string {
  const unit = 'say "hi"\t\u0001 ';
  return JSON.stringify({ n: i, blob: unit.repeat(Math.ceil(size / unit.length)).slice(0, size) });
}

describe('export pages bounded by bytes', () => {
  it.each(['ndjson', 'parquet'] as const)('%s: pages of large rows stay under the byte bound and the object holds every row', async (format) => {
    const temp = tempDir('logbarge-pages-');
    cleanups.push(temp.remove);
    const config = testConfig(temp.dir, { exports: [{ name: 'big', format, destination: `file://${join(temp.dir, 'out')}/` }] });
    const spool: Spool = openSpool({ path: join(temp.dir, 'spool.db'), synchronous: 'NORMAL' });
    cleanups.push(() => spool.close());
    registerExports(spool, ['big']);

    // 24 rows of ~200 KB raw each (~4.8 MB), plus one row larger than the bound by itself.
    const sent = samples(25, `pages-${format}-${Date.now()}`);
    const raws = sent.map((_, i) => bigRaw(i, i === 12 ? pageBytes + 50_000 : 200_000));
    const prepared = createPreparer(schema, config.ingest).prepare(sent.map((s) => s.sent));
    expect(prepared.errorCount).toBe(0);
    const [outcome] = spool.appendGroups([prepared.rows.map((row, i) => ({ ...row, raw: raws[i]! }))], {
      now: Date.now(),
      limits: { maxEvents: 1e9, maxBytes: 1e12 },
    });
    expect(outcome !== 'full' && outcome?.accepted).toBe(25);

    const pages: { rows: number; bytes: number }[] = [];
    const encoders = new Map<Format, Encoder>();
    const store = openStore(config.exports[0]!.destination, config.s3);
    cleanups.push(() => store.close());
    const runner = createExportRunner({
      config: { ...config.exports[0]!, maxRowsPerFile: 1_000 },
      spool,
      writerId: 'pages',
      stagingDir: join(temp.dir, 'work'),
      storeFor: () => store,
      encoderFor: (f) => {
        let e = encoders.get(f);
        if (!e) {
          e = recording(f === 'parquet' ? createParquetEncoder({ schema, memoryLimit: '256MB', threads: 1 }) : createNdjsonEncoder(schema), pages);
          encoders.set(f, e);
        }
        return e;
      },
      gate: () => undefined,
      logger: createLogger('silent'),
      metrics: createMetrics(),
      pageBytes,
    });
    const result = await runner.run('flush', { untilCaughtUp: true });
    expect(result.error).toBeUndefined();
    expect(result.rows).toBe(25);

    // Split at the bound: several pages, each within it unless it is the one oversized row.
    expect(pages.reduce((n, p) => n + p.rows, 0)).toBe(25);
    expect(pages.length).toBeGreaterThanOrEqual(6);
    for (const p of pages) expect(p.bytes <= pageBytes || p.rows === 1, JSON.stringify(p)).toBe(true);
    expect(pages.some((p) => p.rows === 1 && p.bytes > pageBytes)).toBe(true);

    const rows = await readFiles(result.keys.map((key) => ({ path: join(temp.dir, 'out', key), format })));
    const byId = new Map(rows.map((r) => [r.EVENT_ID as string, r.RAW as string]));
    expect(byId.size).toBe(25);
    sent.forEach((s, i) => expect(byId.get(s.expected.EVENT_ID as string) === raws[i], `RAW of row ${i}`).toBe(true));
  });
});
