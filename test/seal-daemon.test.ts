/**
 * The daemon's `seal.schedule`: a cron task per sealed export, which runs the same seal as
 * `logbarge seal` over the finished days of the lookback window and reports it in /metrics.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import cron from 'node-cron';
import { join } from 'node:path';
import { readRecord } from '../src/seal/record.js';
import { createFileStore } from '../src/store/file.js';
import { startTestDaemon, tempDir, type TestDaemon } from './support/daemon.js';
import { waitFor } from './support/export-check.js';
import { sampleAt } from './support/events.js';

describe('seal.schedule in the daemon', () => {
  const work = tempDir('logbarge-seal-daemon-');
  let daemon: TestDaemon;
  // Three days ago is finished (afterHours 48) and inside the default lookback (7 days).
  const day = new Date(Date.now() - 3 * 86_400_000).toISOString().slice(0, 10);
  const events = Array.from({ length: 20 }, (_, i) => sampleAt(Date.parse(`${day}T12:00:00Z`) + i * 1000, `sched-${process.pid}-${i}`));

  beforeAll(async () => {
    daemon = await startTestDaemon({
      exports: [
        { name: 'sealed', destination: `file://${join(work.dir, 'sealed')}/`, schedule: '0 0 1 1 *', seal: { schedule: '30 3 * * *' } },
        { name: 'plain', destination: `file://${join(work.dir, 'plain')}/`, schedule: '0 0 1 1 *' },
      ],
      spool: { path: join(work.dir, 'spool.db'), minFreeBytes: 0 },
    });
    expect((await daemon.post(events.map((s) => s.sent))).status).toBe(202);
    expect((await daemon.request('/v1/flush', { method: 'POST' })).status).toBe(200);
  });
  afterAll(async () => {
    await daemon?.stop();
    work.remove();
  });

  it('schedules a seal task for the sealed export only, and the task seals the finished day', async () => {
    const task = await waitFor('the seal task', () => [...cron.getTasks().values()].find((t) => t.name === 'seal:sealed'));
    expect([...cron.getTasks().values()].some((t) => t.name === 'seal:plain')).toBe(false);
    expect(task.getNextRun()?.toISOString()).toMatch(/T03:30:00\.000Z$/);
    await task.execute();
    const store = createFileStore({ url: daemon.config.exports[0]!.destination });
    const record = await readRecord({ store, dt: day });
    store.close();
    expect(record?.rows).toBe(events.length);
    const metrics = (await daemon.request('/metrics')).text;
    expect(metrics).toContain('logbarge_seal_days_total{export="sealed",outcome="sealed"} 1');
    expect(metrics).toMatch(/logbarge_seal_last_run_timestamp_seconds\{export="sealed"\} \d+/);
    expect(metrics).toContain('logbarge_seal_late_objects{export="sealed"} 0');
    expect(metrics).not.toContain('logbarge_seal_late_objects{export="plain"}');
  });

  it('a second run finds the day sealed and counts nothing', async () => {
    const result = await daemon.daemon.sealer.run('sealed');
    expect(result.days).toEqual([]);
    expect((await daemon.request('/metrics')).text).toContain('logbarge_seal_days_total{export="sealed",outcome="sealed"} 1');
  });
});
