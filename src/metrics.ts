/**
 * Prometheus metrics (prom-client), one registry per daemon. Labels are bounded sets (shape,
 * status, export name); nothing secret and no free-form input ever becomes a label.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Shape } from './sources/profile.js';

/** Every input shape, so each `shape` series is reported (at 0) from the start. */
const shapes = ['canonical', 'camelcase', 'eventbridge', 'okta', 'strivacity', 'generic'] as const satisfies readonly Shape[];
/** Fails to compile when a Shape is missing from `shapes`. */
const everyShape: Exclude<Shape, (typeof shapes)[number]> extends never ? true : never = true;
void everyShape;
/** Every reason of logbarge_events_rejected_total. */
const rejectReasons = ['invalid', 'spool_full', 'spool_error'] as const;

/** Live figures read at scrape time. */
export interface MetricSources {
  /** Spool depth, bytes and remembered idempotency keys now. */
  readonly spool?: () => { depth: number; bytes: number; keys: number };
  /** 1 while ingest is refused for lack of capacity. */
  readonly full?: () => boolean;
  /** Per export: age in seconds of the oldest event it has not delivered (0 when caught up). */
  readonly exportLag?: () => { export: string; seconds: number }[];
  /** Per export: 1 when its destination passed verify, 0 otherwise. */
  readonly verified?: () => { export: string; ok: boolean }[];
  /** Per export: epoch ms of the last delivered object as the spool recorded it (survives restarts), or null when none was. */
  readonly lastSuccess?: () => { export: string; at: number | null }[];
  /** What ingest is admitted against: bytes counted against spool.maxBytes, the limits, and free disk space (undefined until checked). */
  readonly capacity?: () => { usedBytes: number; maxEvents: number; maxBytes: number; minFreeBytes: number; freeDiskBytes: number | undefined };
  /** Per sealed export: objects this spool delivered into sealed days that their seal does not cover, and their events. */
  /** Per export: paused, the open batch that failed most (id and attempts), rows skipped into dead-letter files. */
  readonly exportHealth?: () => { export: string; paused: boolean; stuckBatch: { id: number; attempts: number } | null; skippedRows: number }[];
  readonly sealLate?: () => { export: string; objects: number; rows: number }[];
}

/**
 * Creates the registry and every metric logbarge reports. Each counter labelled by export, source,
 * shape or reason starts at 0 for every value in `labels` and the fixed sets, so alerts on its
 * increase see the first event (a series that appears at 1 has no increase).
 */
export function createMetrics(options: { defaultMetrics?: boolean; sources?: MetricSources; labels?: { exports?: readonly string[]; sources?: readonly string[] } } = {}) {
  const sources = options.sources ?? {};
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'logbarge_' });
  const registers = [registry];
  const metrics = {
    registry,
    eventsAccepted: new Counter({
      name: 'logbarge_events_accepted_total',
      help: 'Events stored in the spool, by input shape.',
      labelNames: ['shape'] as const,
      registers,
    }),
    eventsDuplicate: new Counter({
      name: 'logbarge_events_duplicate_total',
      help: 'Events answered as duplicates (same EVENT_ID, EVENT_TIME and content already stored within the idempotency window), by input shape.',
      labelNames: ['shape'] as const,
      registers,
    }),
    eventsConflict: new Counter({
      name: 'logbarge_events_id_conflicts_total',
      help: 'Events stored although their EVENT_ID was already stored at the same EVENT_TIME with other content (both are kept), by input shape.',
      labelNames: ['shape'] as const,
      registers,
    }),
    eventsQuarantined: new Counter({
      name: 'logbarge_events_quarantined_total',
      help: 'Invalid records kept in quarantine (exported under <destination>_quarantine/) instead of refusing their request, by source.',
      labelNames: ['source'] as const,
      registers,
    }),
    eventsRejected: new Counter({
      name: 'logbarge_events_rejected_total',
      help: 'Records in requests refused with 4xx (nothing of such a request is stored), by reason.',
      labelNames: ['reason'] as const,
      registers,
    }),
    requests: new Counter({
      name: 'logbarge_http_requests_total',
      help: 'HTTP requests answered, by route and status code.',
      labelNames: ['route', 'status'] as const,
      registers,
    }),
    inflightBytes: new Gauge({
      name: 'logbarge_ingest_inflight_bytes',
      help: 'Request body bytes held by requests in flight (as received, and again after gunzip); bounded by server.maxInflightBytes.',
      registers,
    }),
    flushesInFlight: new Gauge({
      name: 'logbarge_flush_requests_in_flight',
      help: 'POST /v1/flush requests running now (each bounded by server.flushTimeoutMs, cut short on drain).',
      registers,
    }),
    inflightRefused: new Counter({
      name: 'logbarge_ingest_inflight_refused_total',
      help: 'Requests answered 503 because their bodies would exceed server.maxInflightBytes.',
      registers,
    }),
    unknownEventTypes: new Counter({
      name: 'logbarge_unknown_event_types_total',
      help: 'Accepted events whose EVENT_TYPE is not in the published list.',
      registers,
    }),
    unknownFields: new Counter({
      name: 'logbarge_unknown_fields_total',
      help: 'Input keys that matched no column and were dropped.',
      registers,
    }),
    groupCommit: new Histogram({
      name: 'logbarge_spool_commit_seconds',
      help: 'Duration of one spool group-commit transaction (including fsync and, in the daemon, handing its rows to the append worker).',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    }),
    groupCommitRows: new Histogram({
      name: 'logbarge_spool_commit_rows',
      help: 'Rows written by one spool group-commit transaction.',
      buckets: [1, 10, 100, 1000, 5000, 10000, 20000],
      registers,
    }),
    spoolDepth: new Gauge({
      name: 'logbarge_spool_depth',
      help: 'Events held in the spool.',
      registers,
      collect() {
        if (sources.spool) this.set(sources.spool().depth);
      },
    }),
    spoolBytes: new Gauge({
      name: 'logbarge_spool_bytes',
      help: 'Bytes of event data held in the spool.',
      registers,
      collect() {
        if (sources.spool) this.set(sources.spool().bytes);
      },
    }),
    spoolKeys: new Gauge({
      name: 'logbarge_spool_idempotency_keys',
      help: 'Idempotency keys remembered: events held, and delivered events inside spool.idempotencyWindowDays (each counts keyBytes against spool.maxBytes).',
      registers,
      collect() {
        if (sources.spool) this.set(sources.spool().keys);
      },
    }),
    spoolFull: new Gauge({
      name: 'logbarge_spool_full',
      help: '1 while ingest is refused for lack of spool capacity or disk space.',
      registers,
      collect() {
        if (sources.full) this.set(sources.full() ? 1 : 0);
      },
    }),
    spoolUsedBytes: new Gauge({
      name: 'logbarge_spool_used_bytes',
      help: 'Bytes counted against spool.maxBytes: event bytes plus ~100 bytes per remembered idempotency key.',
      registers,
      collect() {
        if (sources.capacity) this.set(sources.capacity().usedBytes);
      },
    }),
    spoolMaxBytes: new Gauge({
      name: 'logbarge_spool_max_bytes',
      help: 'spool.maxBytes: ingest is refused (503) once logbarge_spool_used_bytes reaches it.',
      registers,
      collect() {
        if (sources.capacity) this.set(sources.capacity().maxBytes);
      },
    }),
    spoolMaxEvents: new Gauge({
      name: 'logbarge_spool_max_events',
      help: 'spool.maxEvents: ingest is refused (503) once logbarge_spool_depth reaches it.',
      registers,
      collect() {
        if (sources.capacity) this.set(sources.capacity().maxEvents);
      },
    }),
    diskFreeBytes: new Gauge({
      name: 'logbarge_spool_disk_free_bytes',
      help: 'Bytes free to logbarge on the file system of the spool, checked every 2 seconds.',
      registers,
      collect() {
        const free = sources.capacity?.().freeDiskBytes;
        if (free !== undefined) this.set(free);
      },
    }),
    minFreeBytes: new Gauge({
      name: 'logbarge_spool_min_free_bytes',
      help: 'spool.minFreeBytes: ingest is refused (503) while logbarge_spool_disk_free_bytes is below it.',
      registers,
      collect() {
        if (sources.capacity) this.set(sources.capacity().minFreeBytes);
      },
    }),
    batchesUploaded: new Counter({
      name: 'logbarge_export_batches_uploaded_total',
      help: 'Objects delivered (uploaded and committed), by export.',
      labelNames: ['export'] as const,
      registers,
    }),
    ticksCoalesced: new Counter({
      name: 'logbarge_export_ticks_coalesced_total',
      help: 'Scheduled or size-triggered runs not started because a run of the export was already running and another already queued, by export.',
      labelNames: ['export'] as const,
      registers,
    }),
    batchesFailed: new Counter({
      name: 'logbarge_export_batches_failed_total',
      help: 'Failed attempts to deliver an object (retried later with the same key), by export.',
      labelNames: ['export'] as const,
      registers,
    }),
    keyConflicts: new Counter({
      name: 'logbarge_export_key_conflicts_total',
      help: 'Batches whose planned key already held other rows (a restored or cloned spool) and were moved to a key of their own, by export.',
      labelNames: ['export'] as const,
      registers,
    }),
    rowsExported: new Counter({
      name: 'logbarge_export_rows_total',
      help: 'Events delivered in objects, by export.',
      labelNames: ['export'] as const,
      registers,
    }),
    bytesUploaded: new Counter({
      name: 'logbarge_export_bytes_uploaded_total',
      help: 'Bytes of delivered objects, by export.',
      labelNames: ['export'] as const,
      registers,
    }),
    uploadSeconds: new Histogram({
      name: 'logbarge_export_batch_seconds',
      help: 'Time to encode and upload one object, by export.',
      labelNames: ['export'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    }),
    lastSuccess: new Gauge({
      name: 'logbarge_export_last_success_timestamp_seconds',
      help: 'Unix time of the last delivered object, by export, as recorded in the spool (so it survives restarts); 0 when this spool never delivered one.',
      labelNames: ['export'] as const,
      registers,
      collect() {
        for (const s of sources.lastSuccess?.() ?? []) this.set({ export: s.export }, (s.at ?? 0) / 1000);
      },
    }),
    exportLag: new Gauge({
      name: 'logbarge_export_oldest_pending_age_seconds',
      help: 'Age of the oldest spooled event an export has not delivered yet (0 when caught up).',
      labelNames: ['export'] as const,
      registers,
      collect() {
        for (const lag of sources.exportLag?.() ?? []) this.set({ export: lag.export }, lag.seconds);
      },
    }),
    digestsWritten: new Counter({
      name: 'logbarge_digests_written_total',
      help: 'Signed digests written under <destination>_digest/ (export option integrity), by export.',
      labelNames: ['export'] as const,
      registers,
    }),
    digestFailures: new Counter({
      name: 'logbarge_digest_failures_total',
      help: 'Failed attempts to write a digest (retried with the same bytes and key; a key holding other bytes is never overwritten), by export.',
      labelNames: ['export'] as const,
      registers,
    }),
    digestLastSuccess: new Gauge({
      name: 'logbarge_digest_last_success_timestamp_seconds',
      help: 'Unix time the export\'s last digest was written (0 before the first), by export with integrity.',
      labelNames: ['export'] as const,
      registers,
    }),
    sealDays: new Counter({
      name: 'logbarge_seal_days_total',
      help: 'Days handled by scheduled seal runs, by export and outcome (sealed, resealed, late, busy, failed).',
      labelNames: ['export', 'outcome'] as const,
      registers,
    }),
    sealLastRun: new Gauge({
      name: 'logbarge_seal_last_run_timestamp_seconds',
      help: 'Unix time a scheduled seal run of the export last finished without a failed day.',
      labelNames: ['export'] as const,
      registers,
    }),
    sealLateObjects: new Gauge({
      name: 'logbarge_seal_late_objects',
      help: 'Objects this replica delivered into already sealed days that the day\'s seal does not cover (re-seal with `logbarge seal --date`).',
      labelNames: ['export'] as const,
      registers,
      collect() {
        for (const l of sources.sealLate?.() ?? []) this.set({ export: l.export }, l.objects);
      },
    }),
    sealLateRows: new Gauge({
      name: 'logbarge_seal_late_rows',
      help: 'Events in the late objects of logbarge_seal_late_objects: in the raw objects, not yet in the sealed files.',
      labelNames: ['export'] as const,
      registers,
      collect() {
        for (const l of sources.sealLate?.() ?? []) this.set({ export: l.export }, l.rows);
      },
    }),
    exportPaused: new Gauge({
      name: 'logbarge_export_paused',
      help: '1 while an export is paused by `logbarge exports pause` (it uploads nothing; its events hold pruning), by export.',
      labelNames: ['export'] as const,
      registers,
      collect() {
        for (const h of sources.exportHealth?.() ?? []) this.set({ export: h.export }, h.paused ? 1 : 0);
      },
    }),
    exportConsecutiveFailures: new Gauge({
      name: 'logbarge_export_consecutive_failures',
      help: 'Failed attempts of the open batch that failed most often (0 when none is failing): a batch failing on every attempt is stuck, by export.',
      labelNames: ['export'] as const,
      registers,
      collect() {
        for (const h of sources.exportHealth?.() ?? []) this.set({ export: h.export }, h.stuckBatch?.attempts ?? 0);
      },
    }),
    exportStuckBatch: new Gauge({
      name: 'logbarge_export_stuck_batch_id',
      help: 'Id of the open batch that failed most often (the id `logbarge exports skip-batch --batch` takes), 0 when none is failing, by export.',
      labelNames: ['export'] as const,
      registers,
      collect() {
        for (const h of sources.exportHealth?.() ?? []) this.set({ export: h.export }, h.stuckBatch?.id ?? 0);
      },
    }),
    exportSkippedRows: new Gauge({
      name: 'logbarge_export_skipped_rows',
      help: 'Events of batches skipped by `logbarge exports skip-batch` (kept in dead-letter files next to the spool, not delivered), by export.',
      labelNames: ['export'] as const,
      registers,
      collect() {
        for (const h of sources.exportHealth?.() ?? []) this.set({ export: h.export }, h.skippedRows);
      },
    }),
    verified: new Gauge({
      name: 'logbarge_destination_verified',
      help: '1 when the export\'s destination passed verify (uploads allowed), else 0.',
      labelNames: ['export'] as const,
      registers,
      collect() {
        for (const v of sources.verified?.() ?? []) this.set({ export: v.export }, v.ok ? 1 : 0);
      },
    }),
  };
  for (const name of options.labels?.exports ?? []) {
    for (const counter of [metrics.batchesUploaded, metrics.batchesFailed, metrics.keyConflicts, metrics.rowsExported, metrics.bytesUploaded]) counter.inc({ export: name }, 0);
  }
  for (const source of options.labels?.sources ?? []) metrics.eventsQuarantined.inc({ source }, 0);
  for (const shape of shapes) for (const counter of [metrics.eventsAccepted, metrics.eventsDuplicate, metrics.eventsConflict]) counter.inc({ shape }, 0);
  for (const reason of rejectReasons) metrics.eventsRejected.inc({ reason }, 0);
  return metrics;
}

/** The metrics of one daemon. */
export type Metrics = ReturnType<typeof createMetrics>;
