/**
 * Operator mistakes the CLI allows must not lose or jam events (DESIGN invariant 6), tried with
 * the real binary, a real spool file, fauxqs on 127.0.0.1 and DuckDB reading the files back:
 * a flush with a config that lacks an export, `logbarge exports` / `exports forget`, and two
 * exports on one destination.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './support/daemon.js';
import { readFiles } from './support/duckdb.js';
import { samples } from './support/events.js';
import { downloadData, notExactlyOnce, runCliAsync, spoolDepth, type CliResult } from './support/export-check.js';
import { writeConfig } from './support/process.js';
import { startS3Server, testCredentialEnv, type S3TestServer } from './support/s3.js';

const bucket = 'operator-bucket';
const rarely = '0 0 1 1 *';
let server: S3TestServer;
const temp = tempDir('logbarge-operator-');

beforeAll(async () => {
  server = await startS3Server();
  await server.createBucket(bucket);
});
afterAll(async () => {
  await server?.stop();
  temp.remove();
});

function cli(args: string[]): Promise<CliResult> {
  return runCliAsync(args, { env: testCredentialEnv, timeoutMs: 45_000 });
}

/** Every file under a directory, recursively, with its format from the name. */
function filesUnder(dir: string): { path: string; format: string }[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.includes('.ndjson'))
    .map((e) => ({ path: join(e.parentPath, e.name), format: 'ndjson' }));
}

// The tests go at once: each has its own spool directory (so its working directories are its
// own), destinations and config files.
describe.concurrent('a flush with a config that lacks an export', () => {
  it('keeps every event the missing export has not delivered, and that export delivers all of them later', async () => {
    const spool = join(temp.dir, 'partial', 'spool.db');
    const aDir = join(temp.dir, 'partial-a');
    const s3 = { region: 'us-east-1', endpoint: server.endpoint, forcePathStyle: true };
    const a = { name: 'a', format: 'ndjson', destination: `file://${aDir}/`, schedule: rarely };
    const b = { name: 'b', format: 'ndjson', destination: `s3://${bucket}/partial-b/`, schedule: rarely };
    const base = { writerId: 'op', server: { port: 0 }, spool: { path: spool, minFreeBytes: 0 }, s3, log: { level: 'warn' } };
    const full = writeConfig(temp.dir, { ...base, exports: [a, b] }, 'partial-full.json');
    const onlyA = writeConfig(temp.dir, { ...base, exports: [a] }, 'partial-only-a.json');
    const sent = samples(300, `partial-${Date.now()}`);
    const input = join(temp.dir, 'partial.ndjson');
    writeFileSync(input, sent.map((s) => JSON.stringify(s.sent)).join('\n'));

    const ingest = await cli(['ingest', '-c', full, input]);
    expect(ingest.status, ingest.stderr).toBe(0);
    const flushA = await cli(['flush', '-c', onlyA]);
    expect(flushA.status, flushA.stderr).toBe(0);
    // The process says it keeps events for a cursor its config does not name …
    expect(flushA.stderr).toContain('"cursors":["b"]');
    // … and b's 300 events are still spooled.
    expect(spoolDepth(spool)).toBe(300);
    const listing = await cli(['exports', '-c', onlyA, '--json']);
    expect(listing.status, listing.stderr).toBe(0);
    const cursors = (JSON.parse(listing.stdout) as { cursors: { name: string; named: boolean; pendingRows: number }[] }).cursors;
    expect(cursors.map((c) => [c.name, c.named, c.pendingRows])).toEqual([['a', true, 0], ['b', false, 300]]);
    const status = await cli(['status', '-c', onlyA, '--json']);
    expect(JSON.parse(status.stdout).unnamedCursors).toEqual([{ name: 'b', pendingRows: 300, openBatches: 0, destination: null }]);

    const flushFull = await cli(['flush', '-c', full]);
    expect(flushFull.status, flushFull.stderr).toBe(0);
    const ids = sent.map((s) => s.sent.EVENT_ID as string);
    const inB = await readFiles(await downloadData(server, bucket, 'partial-b/', join(temp.dir, 'partial-b-dl')).then((o) => o.map((x) => ({ path: x.path, format: 'ndjson' }))));
    expect(notExactlyOnce(ids, inB.map((r) => r.EVENT_ID as string))).toEqual({ missing: [], duplicated: [], unexpected: [] });
    const inA = await readFiles(filesUnder(aDir));
    expect(notExactlyOnce(ids, inA.map((r) => r.EVENT_ID as string))).toEqual({ missing: [], duplicated: [], unexpected: [] });
    expect(spoolDepth(spool)).toBe(0);
  });

  it('exports forget retires a cursor on purpose: refused without --yes, for a named or unknown one', async () => {
    const spool = join(temp.dir, 'forget', 'spool.db');
    const exp = (name: string) => ({ name, format: 'ndjson', destination: `file://${join(temp.dir, `forget-${name}`)}/`, schedule: rarely });
    const base = { writerId: 'op', server: { port: 0 }, spool: { path: spool, minFreeBytes: 0 }, log: { level: 'warn' } };
    const full = writeConfig(temp.dir, { ...base, exports: [exp('a'), exp('gone')] }, 'forget-full.json');
    const onlyA = writeConfig(temp.dir, { ...base, exports: [exp('a')] }, 'forget-only-a.json');
    const input = join(temp.dir, 'forget.ndjson');
    writeFileSync(input, samples(10, `forget-${Date.now()}`).map((s) => JSON.stringify(s.sent)).join('\n'));
    expect((await cli(['ingest', '-c', full, input])).status).toBe(0);
    expect((await cli(['flush', '-c', onlyA])).status).toBe(0);
    expect(spoolDepth(spool)).toBe(10);

    const noYes = await cli(['exports', 'forget', 'gone', '-c', onlyA]);
    expect(noYes.status).toBe(2);
    expect(noYes.stderr).toContain('gone has 10 undelivered event(s)');
    const named = await cli(['exports', 'forget', 'a', '--yes', '-c', onlyA]);
    expect(named.status).toBe(2);
    expect(named.stderr).toContain('a is named in this config');
    const unknown = await cli(['exports', 'forget', 'nope', '--yes', '-c', onlyA]);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('no cursor named nope');
    const forgot = await cli(['exports', 'forget', 'gone', '--yes', '-c', onlyA]);
    expect(forgot.status, forgot.stderr).toBe(0);
    expect(forgot.stdout).toContain('forgot export cursor gone');
    // The next cycle prunes what only the retired export was waiting for.
    expect((await cli(['flush', '-c', onlyA])).status).toBe(0);
    expect(spoolDepth(spool)).toBe(0);
  });
});

describe.concurrent('two exports on one destination', () => {
  it('is refused at config load (exit 2), naming both exports', async () => {
    const dest = `file://${join(temp.dir, 'shared')}/`;
    const c = writeConfig(temp.dir, {
      spool: { path: join(temp.dir, 'shared', 'spool.db') },
      exports: [
        { name: 'first', format: 'ndjson', destination: dest },
        { name: 'second', format: 'ndjson', compression: 'none', destination: dest },
      ],
    }, 'shared.json');
    const r = await cli(['flush', '-c', c]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`exports[1].destination: exports "first" and "second" both write ${dest}`);
  });
});
