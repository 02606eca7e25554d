/**
 * The Snowflake deduplication path (`ddl snowflake --dedup`): COPY and Snowpipe load into a landing
 * table, an append-only stream follows it, and a task MERGEs each distinct event into the target.
 * Proved with real objects: two replicas write the same events (plus distinct ones and an EVENT_ID
 * conflict) to one destination; the objects are loaded as the DDL's COPY loads them
 * (ddl-engines.ts), and the task's MERGE text runs in DuckDB, batch after batch, as the stream
 * would deliver them. Mutated MERGE text must fail.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateSnowflakeDdl } from '../src/ddl/snowflake.js';
import { loadSchema } from '../src/schema/schema.js';
import { startTestDaemon, tempDir, type TestDaemon } from './support/daemon.js';
import { readAsSnowflake, snowflakeDuckType } from './support/ddl-engines.js';
import { parseSnowflakeDdl } from './support/ddl-parse.js';
import { columnSpec, duck, ident, renderList, sql, type ObjectFile, type Row } from './support/ddl-read.js';
import { sampleAt, samples, type Sample } from './support/events.js';
import { contentKey } from './support/seal.js';
import { openTestStore, startS3Server, type S3TestServer } from './support/s3.js';

const schema = loadSchema();
const bucket = 'merge-bucket';
const destination = `s3://${bucket}/merge/nd/`;
const table = 'AIRKIT_AUDIT_EVENT';

function withUser(s: Sample, user: string): Sample {
  return { sent: { ...s.sent, USER_ID: user }, expected: { ...s.expected, USER_ID: user } };
}

describe('Snowflake --dedup: the MERGE task keeps each distinct event once', () => {
  const work = tempDir('logbarge-merge-');
  let server: S3TestServer;
  const daemons: TestDaemon[] = [];
  let ddl: string;
  const stamp = `${process.pid}-${Date.now()}`;
  const shared = samples(30, `shared-${stamp}`);
  const conflict = sampleAt(Date.parse('2026-03-14T10:00:00Z'), `conflict-${stamp}`);
  const batch1 = { a: [...shared, ...samples(5, `a-${stamp}`), withUser(conflict, 'from-a')], b: [...shared, ...samples(5, `b-${stamp}`), withUser(conflict, 'from-b')] };
  // Later, a third replica: copies of events already merged, new ones, and a third content of the conflicting id.
  const batch2 = [...shared.slice(0, 10), ...samples(5, `c-${stamp}`), withUser(conflict, 'from-c')];
  const distinct = (list: Sample[]) => [...new Set(list.map((s) => contentKey(s.expected)))].sort();
  let loaded: { first: ObjectFile[]; second: ObjectFile[] };

  async function download(prefixFilter: (key: string) => boolean, dir: string): Promise<ObjectFile[]> {
    const store = openTestStore(destination, server.s3Config());
    mkdirSync(dir, { recursive: true });
    try {
      const listed = (await store.list('dt=')).filter((o) => prefixFilter(o.key));
      return Promise.all(
        listed.map(async (o, i) => {
          const path = join(dir, `${i}.ndjson.gz`);
          writeFileSync(path, await store.get(o.key));
          return { key: o.key, path };
        }),
      );
    } finally {
      store.close();
    }
  }

  /** Rows as the DDL's COPY loads `files` (into the landing table, i.e. what the stream then holds). */
  async function copyRows(files: ObjectFile[], dir: string): Promise<Row[]> {
    return readAsSnowflake(ddl, { destination, files, verifyKeys: ['_verify/logbarge-verify-test-x'], workDir: dir, now: Date.now() });
  }

  /** Runs the merge text over each batch in turn (the stream holding that batch) and returns the target's rows. */
  async function mergeBatches(mergeSql: string, batches: Row[][]): Promise<Row[]> {
    const parsed = parseSnowflakeDdl(ddl);
    const columns = parsed.tables.get(table)!.map((c) => ({ name: c.name, duckType: snowflakeDuckType(c.type) }));
    const stream = [...parsed.streams.keys()][0]!;
    const statements = [`CREATE TABLE ${table} (${columns.map((c) => `${ident(c.name)} ${c.duckType}`).join(', ')})`];
    for (const [i, rows] of batches.entries()) {
      const path = join(work.dir, `stream-${i}.ndjson`);
      writeFileSync(path, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
      const spec = columnSpec(columns.map((c) => [c.name, c.duckType] as const));
      statements.push(`DROP TABLE IF EXISTS ${stream}`, `CREATE TABLE ${stream} AS SELECT * FROM read_json(${sql(path)}, format = 'newline_delimited', records = true, columns = ${spec})`, mergeSql);
    }
    return duck([...statements, `SELECT ${renderList(columns)} FROM ${table}`]);
  }

  beforeAll(async () => {
    server = await startS3Server();
    await server.createBucket(bucket);
    const open = { openStore: (d: string, c: { s3: Parameters<typeof openTestStore>[1] }) => openTestStore(d, c.s3) };
    const start = (writerId: string) =>
      startTestDaemon({ writerId, s3: server.s3Config(), exports: [{ name: 'nd', format: 'ndjson', compression: 'gzip', destination, schedule: '0 0 1 1 *' }] }, undefined, open);
    for (const [writerId, events] of [['pod-a', batch1.a], ['pod-b', batch1.b]] as const) {
      const d = await start(writerId);
      daemons.push(d);
      expect((await d.post(events.map((s) => s.sent))).status).toBe(202);
      expect((await d.request('/v1/flush', { method: 'POST' })).status).toBe(200);
    }
    const first = await download(() => true, join(work.dir, 'first'));
    const c = await start('pod-c');
    daemons.push(c);
    expect((await c.post(batch2.map((s) => s.sent))).status).toBe(202);
    expect((await c.request('/v1/flush', { method: 'POST' })).status).toBe(200);
    const second = await download((key) => key.includes('/pod-c-'), join(work.dir, 'second'));
    loaded = { first, second };
    ddl = generateSnowflakeDdl({ schema, exportConfig: daemons[0]!.config.exports[0]!, options: { table, integration: 'LOGBARGE_S3', dedup: { warehouse: 'LOGBARGE_WH' } } });
  });
  afterAll(async () => {
    for (const d of daemons) await d.stop();
    await server?.stop();
    work.remove();
  });

  it('loads into the landing table, which an append-only stream follows, merged by a task', () => {
    const parsed = parseSnowflakeDdl(ddl);
    expect(parsed.copies.map((c) => c.table)).toEqual([`${table}_LANDING`, `${table}_LANDING`]);
    expect(parsed.tables.get(`${table}_LANDING`)).toEqual(parsed.tables.get(table));
    expect([...parsed.streams]).toEqual([[`${table}_LANDING_STREAM`, { table: `${table}_LANDING`, appendOnly: true }]]);
    expect(parsed.tasks.map((t) => t.name)).toEqual([`${table}_MERGE`]);
    expect(parsed.tasks[0]!.body).toMatch(new RegExp(`^MERGE INTO ${table} t\\nUSING \\(SELECT DISTINCT [^)]* FROM ${table}_LANDING_STREAM\\) s`));
  });

  it('merges two replicas\' copies into one row each, keeps conflicts, and skips copies arriving later', async () => {
    const first = await copyRows(loaded.first, join(work.dir, 'copy-1'));
    expect(first.length).toBe(batch1.a.length + batch1.b.length);
    const second = await copyRows(loaded.second, join(work.dir, 'copy-2'));
    const merge = parseSnowflakeDdl(ddl).tasks[0]!.body;
    const after1 = await mergeBatches(merge, [first]);
    expect(after1.map(contentKey).sort()).toEqual(distinct([...batch1.a, ...batch1.b]));
    const after2 = await mergeBatches(merge, [first, second]);
    expect(after2.map(contentKey).sort()).toEqual(distinct([...batch1.a, ...batch1.b, ...batch2]));
    expect(after2.filter((r) => r.EVENT_ID === conflict.expected.EVENT_ID).map((r) => r.USER_ID).sort()).toEqual(['from-a', 'from-b', 'from-c']);
  });

  it.each([
    { what: 'without DISTINCT, one batch\'s copies are inserted twice', from: 'USING (SELECT DISTINCT ', to: 'USING (SELECT ' },
    { what: 'matching on EVENT_ID alone drops a later conflict', from: /\n {2}AND t\.EVENT_TIME[\s\S]*?(?=\nWHEN)/, to: '' },
  ])('a mutated MERGE fails: $what', async ({ from, to }) => {
    const merge = parseSnowflakeDdl(ddl).tasks[0]!.body;
    const mutated = merge.replace(from, to);
    expect(mutated).not.toBe(merge);
    const rows = await mergeBatches(mutated, [await copyRows(loaded.first, join(work.dir, 'm1')), await copyRows(loaded.second, join(work.dir, 'm2'))]);
    expect(rows.map(contentKey).sort()).not.toEqual(distinct([...batch1.a, ...batch1.b, ...batch2]));
  });
});
