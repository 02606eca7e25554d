/**
 * The monitoring examples (examples/monitoring/) against a real daemon: the series the alert
 * rules and the dashboard name are in /metrics from the start, before any traffic, so an alert on
 * a rate or an age works from the first failure (a counter that appears at 1 has no increase).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { event, startTestDaemon, tempDir } from './support/daemon.js';
import { parseExposition, sampleValue } from './support/prometheus.js';

const temp = tempDir('logbarge-monitoring-');
afterAll(() => temp.remove());

const shapes = ['canonical', 'camelcase', 'eventbridge', 'okta', 'strivacity', 'generic'];

/** Two exports and two sources, so every per-label series is checked for each label value. */
const overrides = (dir: string) => ({
  sources: {
    okta: { profile: 'eventbridge', organizationId: 'acme' },
    billing: { profile: 'generic', organizationId: 'acme', map: { EVENT_ID: 'id', EVENT_TIME: 'at', EVENT_TYPE: 'action' } },
  },
  spool: { maxEvents: 1234, maxBytes: 5_000_000, minFreeBytes: 4096 },
  exports: [
    { name: 'athena', destination: `file://${join(dir, 'parquet')}/`, schedule: '0 0 1 1 *' },
    { name: 'snowflake', format: 'ndjson', destination: `file://${join(dir, 'ndjson')}/`, schedule: '0 0 1 1 *' },
  ],
});

describe('series present from the start', () => {
  it('a fresh daemon reports every per-export, per-source, per-shape and per-reason series at 0, and the spool limits', async () => {
    const dir = join(temp.dir, 'fresh');
    const d = await startTestDaemon(overrides(dir), dir);
    try {
      const m = parseExposition((await d.request('/metrics')).text);
      for (const name of ['athena', 'snowflake']) {
        for (const metric of [
          'logbarge_export_batches_uploaded_total',
          'logbarge_export_batches_failed_total',
          'logbarge_export_key_conflicts_total',
          'logbarge_export_rows_total',
          'logbarge_export_bytes_uploaded_total',
          'logbarge_export_last_success_timestamp_seconds',
          'logbarge_export_oldest_pending_age_seconds',
          'logbarge_destination_verified',
        ]) {
          const value = sampleValue(m, metric, { export: name });
          // Verify runs in the background at start: 0 or 1, but there.
          if (metric === 'logbarge_destination_verified') expect([0, 1], `${metric}{export="${name}"}`).toContain(value);
          else expect(value, `${metric}{export="${name}"}`).toBe(0);
        }
      }
      for (const source of ['okta', 'billing']) expect(sampleValue(m, 'logbarge_events_quarantined_total', { source }), source).toBe(0);
      for (const reason of ['invalid', 'spool_full', 'spool_error']) expect(sampleValue(m, 'logbarge_events_rejected_total', { reason }), reason).toBe(0);
      for (const shape of shapes) {
        for (const metric of ['logbarge_events_accepted_total', 'logbarge_events_duplicate_total', 'logbarge_events_id_conflicts_total']) {
          expect(sampleValue(m, metric, { shape }), `${metric}{shape="${shape}"}`).toBe(0);
        }
      }
      expect(sampleValue(m, 'logbarge_spool_max_events')).toBe(1234);
      expect(sampleValue(m, 'logbarge_spool_max_bytes')).toBe(5_000_000);
      expect(sampleValue(m, 'logbarge_spool_min_free_bytes')).toBe(4096);
      expect(sampleValue(m, 'logbarge_spool_used_bytes')).toBe(0);
      expect(sampleValue(m, 'logbarge_spool_disk_free_bytes')).toBeGreaterThan(0);
    } finally {
      await d.stop();
    }
  });

  it('the last-success time is the one the spool recorded, also after a restart; used bytes count the idempotency keys', async () => {
    const dir = join(temp.dir, 'restart');
    const first = await startTestDaemon(overrides(dir), dir);
    let recorded: number | undefined;
    try {
      expect((await first.post([event(), event()])).status).toBe(202);
      await first.daemon.exporter.flush({ exportName: 'athena' });
      const m = parseExposition((await first.request('/metrics')).text);
      recorded = sampleValue(m, 'logbarge_export_last_success_timestamp_seconds', { export: 'athena' });
      expect(recorded).toBeGreaterThan(Date.now() / 1000 - 600);
      expect(sampleValue(m, 'logbarge_export_last_success_timestamp_seconds', { export: 'snowflake' })).toBe(0);
      const stats = first.daemon.spool.counters();
      expect(stats.keys).toBe(2);
      expect(sampleValue(m, 'logbarge_spool_used_bytes')).toBeGreaterThan(stats.bytes);
    } finally {
      await first.daemon.stop(); // keeps the directory (and the spool) for the second start
    }
    const second = await startTestDaemon(overrides(dir), dir);
    try {
      const m = parseExposition((await second.request('/metrics')).text);
      expect(sampleValue(m, 'logbarge_export_last_success_timestamp_seconds', { export: 'athena' })).toBe(recorded);
    } finally {
      await second.stop();
    }
  });
});
