/**
 * One stuck export, end to end: a real daemon with two exports on a real S3-compatible server
 * (fauxqs behind a proxy that refuses every upload of one day for one export, a poison batch),
 * and the real CLI. The other export keeps delivering; status and /metrics name the stuck batch;
 * the operator pauses the export, skips the batch into a dead-letter file (its rows all there,
 * counted) and resumes; the rest flows, and the spool prunes everything.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gunzipSync } from 'node:zlib';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { event, startTestDaemon, tempDir, type TestDaemon } from './support/daemon.js';
import { openTestStore, startS3Server, type S3TestServer } from './support/s3.js';
import { s3Error, startS3Proxy, type S3Proxy } from './support/s3-proxy.js';
import { downloadData, notExactlyOnce, runCliAsync } from './support/export-check.js';
import { writeConfig } from './support/process.js';
import { readFiles } from './support/duckdb.js';
import { collectStatus } from '../src/cli/status.js';
import { collectCursors, resumeCommand, skipBatchCommand, stuckAdvice } from '../src/cli/exports.js';

const bucket = 'stuck';
const poisonDay = '2026-03-15';

describe('a stuck export', () => {
  let server: S3TestServer;
  let proxy: S3Proxy;
  let d: TestDaemon;
  const work = tempDir('logbarge-stuck-');
  let configPath: string;

  beforeAll(async () => {
    server = await startS3Server();
    await server.createBucket(bucket);
    // Every upload of the poison day by export "bad" fails, attempt after attempt.
    proxy = await startS3Proxy({
      upstream: server.endpoint,
      rules: [(req) => (req.method === 'PUT' && decodeURIComponent(req.path).startsWith(`/${bucket}/bad/dt=${poisonDay}/`) ? s3Error(403, 'AccessDenied', 'poison') : undefined)],
    });
    const exports = [
      { name: 'good', format: 'ndjson', compression: 'gzip', destination: `s3://${bucket}/good/`, schedule: '0 0 1 1 *' },
      { name: 'bad', format: 'ndjson', compression: 'gzip', destination: `s3://${bucket}/bad/`, schedule: '0 0 1 1 *' },
    ];
    d = await startTestDaemon({ s3: server.s3Config(), exports }, work.dir, {
      openStore: (destination, config) => openTestStore(destination, destination.includes('/bad/') ? { ...config.s3, endpoint: proxy.endpoint } : config.s3),
    });
    configPath = writeConfig(work.dir, { writerId: 'test', spool: { path: d.config.spool.path }, exports, log: { level: 'silent' } });
  });
  afterAll(async () => {
    await d?.stop();
    await proxy?.stop();
    await server?.stop();
    work.remove();
  });

  const cli = (...args: string[]) => runCliAsync([...args, '-c', configPath], { timeoutMs: 30_000 });
  // What `status --json` prints, collected in this process (the CLI runs below are the levers).
  const status = async () => collectStatus({ config: configPath });
  const metric = async (name: string, exportName: string): Promise<number> => {
    const text = (await d.request('/metrics')).text;
    const line = text.split('\n').find((l) => l.startsWith(`${name}{export="${exportName}"}`));
    return Number(line?.split(' ')[1] ?? NaN);
  };
  const deliveredIds = async (prefix: string): Promise<string[]> => {
    const objects = await downloadData(server, bucket, prefix, join(work.dir, `dl-${prefix.replace(/\W/g, '')}-${Date.now()}`));
    return (await readFiles(objects.map((o) => ({ path: o.path, format: 'ndjson' })))).map((r) => r.EVENT_ID as string);
  };

  it('is named with its poison batch; pause, skip-batch (rows kept in a dead-letter file) and resume let the rest flow', async () => {
    const first = [...Array.from({ length: 5 }, () => event()), ...Array.from({ length: 4 }, () => event({ EVENT_TIME: `${poisonDay}T10:00:00Z` }))];
    expect((await d.post(first)).status).toBe(202);
    const poisonIds = first.slice(5).map((e) => e.EVENT_ID as string);

    const [good, bad] = await d.daemon.exporter.flush();
    expect(good?.error).toBeUndefined();
    expect(bad?.error, JSON.stringify(proxy.requests.map((q) => [q.method, q.path]))).toMatch(/poison|AccessDenied|403/);
    // The stuck export holds pruning: every event stays spooled.
    let s = await status();
    expect(s.spool.depth).toBe(9);
    const stuck = s.exports.find((e) => e.name === 'bad')!.stuckBatch!;
    expect(stuck).toMatchObject({ dt: poisonDay });
    expect(stuck.attempts).toBeGreaterThanOrEqual(1);
    expect(s.exports.find((e) => e.name === 'good')!.stuckBatch).toBeNull();
    expect(await metric('logbarge_export_stuck_batch_id', 'bad')).toBe(stuck.id);
    expect(await metric('logbarge_export_consecutive_failures', 'bad')).toBe(stuck.attempts);
    expect(await metric('logbarge_export_paused', 'bad')).toBe(0);
    const advice = stuckAdvice(collectCursors({ config: configPath }).cursors);
    expect(advice).toContain(`bad is stuck on batch ${stuck.id}`);
    expect(advice).toContain(`logbarge exports skip-batch bad --batch ${stuck.id} --yes`);

    // Skipping needs a paused export and --yes.
    let r = await cli('exports', 'skip-batch', 'bad', '--batch', String(stuck.id), '--yes');
    expect([r.status, r.stderr]).toEqual([2, expect.stringContaining('is not paused')]);
    r = await cli('exports', 'pause', 'bad', '--reason', 'poison batch');
    expect(r.status, r.stderr).toBe(0);
    expect(await metric('logbarge_export_paused', 'bad')).toBe(1);
    const [, pausedRun] = await d.daemon.exporter.flush();
    expect(pausedRun?.paused).toMatchObject({ reason: 'poison batch' });
    expect(pausedRun?.batches).toBe(0);
    await expect(skipBatchCommand('bad', { config: configPath, batch: String(stuck.id) })).rejects.toThrow(/Run again with --yes/);
    await expect(skipBatchCommand('bad', { config: configPath, batch: 'x', yes: true })).rejects.toThrow(/--batch must be a batch id/);
    const lastSuccess = () => d.daemon.spool.sql.readCursor.get('bad')?.last_success ?? null;
    const beforeSkip = lastSuccess();
    await new Promise((resolve) => setTimeout(resolve, 5));
    r = await cli('exports', 'skip-batch', 'bad', '--batch', String(stuck.id), '--yes');
    expect(r.status, r.stderr).toBe(0);
    // A skip is not a delivery: the last success (and its metric, which alerts watch) stays.
    expect(lastSuccess()).toBe(beforeSkip);
    const deadLetter = /written to (\S+) \(not delivered\)/.exec(r.stdout)?.[1];
    expect(deadLetter && existsSync(deadLetter)).toBeTruthy();
    const lines = gunzipSync(readFileSync(deadLetter!)).toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as { dt: string; event: { EVENT_ID: string } });
    expect(lines.map((l) => l.event.EVENT_ID).sort()).toEqual([...poisonIds].sort());
    expect(lines.every((l) => l.dt === poisonDay)).toBe(true);
    // Skipped, the batch is no longer what the export is stuck on: status, `logbarge exports` and
    // /metrics report it as skipped, and none keeps its error as the export's last error.
    s = await status();
    expect(s.exports.find((e) => e.name === 'bad')).toMatchObject({ stuckBatch: null, lastError: null, skipped: { batches: 1, rows: 4 } });
    expect(collectCursors({ config: configPath }).cursors.find((c) => c.name === 'bad')).toMatchObject({ stuckBatch: null, lastError: null, skipped: { batches: 1, rows: 4 } });
    expect(await metric('logbarge_export_stuck_batch_id', 'bad')).toBe(0);
    expect(await metric('logbarge_export_consecutive_failures', 'bad')).toBe(0);
    resumeCommand('bad', { config: configPath });

    // The rest flows: new events reach both exports, and the spool prunes everything.
    const second = Array.from({ length: 3 }, () => event());
    expect((await d.post(second)).status).toBe(202);
    const results = await d.daemon.exporter.flush();
    expect(results.map((x) => x.error)).toEqual([undefined, undefined]);
    s = await status();
    expect(s.spool.depth).toBe(0);
    const badState = s.exports.find((e) => e.name === 'bad')!;
    expect(badState).toMatchObject({ paused: null, stuckBatch: null, skipped: { batches: 1, rows: 4 } });
    expect(await metric('logbarge_export_skipped_rows', 'bad')).toBe(4);
    expect(await metric('logbarge_export_stuck_batch_id', 'bad')).toBe(0);

    const all = [...first, ...second].map((e) => e.EVENT_ID as string);
    expect(notExactlyOnce(all, await deliveredIds('good/'))).toEqual({ missing: [], duplicated: [], unexpected: [] });
    expect(notExactlyOnce(all.filter((id) => !poisonIds.includes(id)), await deliveredIds('bad/'))).toEqual({ missing: [], duplicated: [], unexpected: [] });
  });
});
