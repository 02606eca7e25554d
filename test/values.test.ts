/**
 * Odd value shapes and reused ids through the real daemon (HTTP → SQLite spool → NDJSON, CSV and
 * Parquet files read back with DuckDB): 64-bit numeric ids and other number literals kept digit
 * for digit, the duplicate / conflict rule (same EVENT_ID, EVENT_TIME and content is one event;
 * other content is kept too, and counted), and EventBridge re-deliveries.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startTestDaemon, tempDir, type TestDaemon } from './support/daemon.js';
import { readFiles } from './support/duckdb.js';

const formats = [
  { name: 'nd', format: 'ndjson', compression: 'none' },
  { name: 'csv', format: 'csv', compression: 'gzip' },
  { name: 'pq', format: 'parquet', compression: 'zstd' },
];

let d: TestDaemon & { dir: string };
const temp = tempDir('logbarge-values-');
beforeAll(async () => {
  d = await startTestDaemon(
    { exports: formats.map((f) => ({ ...f, destination: `file://${join(temp.dir, f.name)}/`, schedule: '0 0 1 1 *' })) },
    temp.dir,
  );
});
afterAll(async () => {
  await d?.stop();
  temp.remove();
});

const base = '"ORGANIZATION_ID":"org-v","EVENT_TIME":"2026-03-14T09:26:53.589Z","EVENT_TYPE":"user_login"';
const postText = (text: string) => d.post(text, { raw: true });

/** Every row of one export's files, read with the schema's explicit types. */
async function rowsOf(name: string): Promise<Record<string, unknown>[]> {
  const f = formats.find((x) => x.name === name)!;
  const dir = d.config.exports.find((e) => e.name === name)!.destination.slice('file://'.length);
  const files = readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.startsWith('test-'))
    .map((e) => ({ path: join(e.parentPath, e.name), format: f.format }));
  return readFiles(files);
}

describe('number literals for text columns', () => {
  it('keeps 64-bit ids apart and digit for digit; 1.0 stays 1.0', async () => {
    const a = await postText(`[{${base},"EVENT_ID":1234567890123456789,"USER_ID":1.0,"APP_ID":1e3},{${base},"EVENT_ID":1234567890123456790,"USER_ID":-0}]`);
    expect(a.status, a.text).toBe(202);
    expect(a.body).toEqual({ accepted: 2, duplicates: 0 });
    // The same literal again is a retry.
    const again = await postText(`{${base},"EVENT_ID":1234567890123456790,"USER_ID":-0}`);
    expect(again.body).toEqual({ accepted: 0, duplicates: 1 });
  });

  it('refuses a literal that does not fit an integer column, naming the field, and stores nothing', async () => {
    const before = d.snapshot();
    const a = await postText(`{${base},"EVENT_ID":"n-big","EVENT_YEAR":12345678901234567890}`);
    expect(a.status).toBe(400);
    expect(a.body.details).toEqual([{ index: 0, field: 'EVENT_YEAR', message: '12345678901234567000 does not fit a 32-bit integer' }]);
    expect(d.snapshot()).toEqual(before);
    // 2026.0 is the integer 2026 for the NUMBER column; 7.0 for a VARCHAR column stays "7.0".
    const ok = await postText(`{${base},"EVENT_ID":"n-int","EVENT_YEAR":2026.0,"SAVEPOINT_REVISION":7.0}`);
    expect(ok.body).toEqual({ accepted: 1, duplicates: 0 });
  });
});

describe('reused ids', () => {
  it('stores the same EVENT_ID with other content too, counts the conflict, and answers a repeat of either as a duplicate', async () => {
    const first = { ORGANIZATION_ID: 'org-v', EVENT_ID: 'reused-1', EVENT_TIME: '2026-03-14T10:00:00Z', EVENT_TYPE: 'user_login', USER_ID: 'alice' };
    const second = { ...first, USER_ID: 'bob' };
    expect((await d.post(first)).body).toEqual({ accepted: 1, duplicates: 0 });
    expect((await d.post(second)).body).toEqual({ accepted: 1, duplicates: 0, conflicts: 1 });
    expect((await d.post([first, second])).body).toEqual({ accepted: 0, duplicates: 2 });
    const metrics = (await d.request('/metrics')).text;
    expect(metrics).toMatch(/^logbarge_events_id_conflicts_total\{shape="canonical"\} 1$/m);
  });

  it('an Okta sample reusing a uuid at another time is another event: both stored', async () => {
    const okta = (published: string, result: string) => ({
      uuid: 'dc9fd3c0-598c-11ef-8478-2b7584bf8d5a', published, eventType: 'user.session.start',
      actor: { id: '00u1', type: 'User', alternateId: 'ada@example.com' }, outcome: { result },
    });
    const envelope = (detail: unknown, id: string) => ({
      version: '0', id, 'detail-type': 'SystemLog', source: 'aws.partner/okta.com/acme/stream', account: '123456789012',
      time: '2026-03-14T11:00:05Z', region: 'us-east-1', resources: [], detail,
    });
    const a = await d.post([envelope(okta('2026-03-14T11:00:00.000Z', 'SUCCESS'), 'env-1'), envelope(okta('2026-03-14T11:00:01.000Z', 'FAILURE'), 'env-2')]);
    expect(a.body).toEqual({ accepted: 2, duplicates: 0 });
    // EventBridge delivers the first again in a new envelope: still a duplicate.
    const redelivered = await d.post(envelope(okta('2026-03-14T11:00:00.000Z', 'SUCCESS'), 'env-3'));
    expect(redelivered.body).toEqual({ accepted: 0, duplicates: 1 });
  });

  it('an EventBridge detail without an id keeps one id across a PutEvents retry (new envelope id)', async () => {
    const detail = { ORGANIZATION_ID: 'org-v', EVENT_TYPE: 'app_created', USER_ID: 'no-id' };
    const envelope = (id: string) => ({
      version: '0', id, 'detail-type': 'Audit', source: 'com.example.app', account: '1', time: '2026-03-14T12:00:00Z', region: 'us-east-1', resources: [], detail,
    });
    expect((await d.post(envelope('first-attempt'))).body).toEqual({ accepted: 1, duplicates: 0 });
    expect((await d.post(envelope('retry-attempt'))).body).toEqual({ accepted: 0, duplicates: 1 });
  });
});

describe('in the files', () => {
  beforeAll(async () => {
    const flush = await d.request('/v1/flush', { method: 'POST' });
    expect(flush.status, flush.text).toBe(200);
  });

  it.each(formats.map((f) => f.name))('%s: every value digit for digit, both contents of a reused id', async (name) => {
    const rows = await rowsOf(name);
    const byUser = (u: string) => rows.filter((r) => r.USER_ID === u);
    expect(rows.filter((r) => String(r.EVENT_ID).startsWith('12345678901234567')).map((r) => [r.EVENT_ID, r.USER_ID, r.APP_ID]).sort()).toEqual([
      ['1234567890123456789', '1.0', '1e3'],
      ['1234567890123456790', '-0', null],
    ]);
    expect(rows.find((r) => r.EVENT_ID === 'n-int')).toMatchObject({ EVENT_YEAR: 2026, SAVEPOINT_REVISION: '7.0' });
    expect([...byUser('alice'), ...byUser('bob')].map((r) => [r.EVENT_ID, r.USER_ID])).toEqual([
      ['reused-1', 'alice'],
      ['reused-1', 'bob'],
    ]);
    expect(rows.filter((r) => r.EVENT_ID === 'dc9fd3c0-598c-11ef-8478-2b7584bf8d5a').map((r) => r.EVENT_TYPE).sort()).toEqual(['invalid_login', 'user_login']);
    expect(byUser('no-id')).toHaveLength(1);
    expect(rows).toHaveLength(8);
  });
});
