/**
 * `logbarge status [-c FILE] [--json]`: spool depth and age. Reads the spool without writing, so
 * it works while the daemon runs.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { newestWrittenDigest, plannedDigest, unlistedSummary } from '../spool/digests.js';
import { exportState, unnamedCursors } from '../spool/exports.js';
import { lateSummary } from '../spool/late.js';
import { keyBytes, openSpool, type Spool } from '../spool/spool.js';
import { commandConfig, type ConfigOption } from './common.js';
import { stuckAdvice } from './exports.js';

/** Options of the status command. */
export interface StatusOptions extends ConfigOption {
  readonly json?: boolean;
}

/** What `status --json` prints. */
export interface StatusReport {
  spool: {
    path: string;
    exists: boolean;
    id: string | null;
    depth: number;
    bytes: number;
    oldestEventAgeSeconds: number | null;
    newestSeq: number;
    /** Idempotency keys remembered (each counts keyBytes against maxBytes). */
    idempotencyKeys: number;
    /** Quarantined records held (not yet delivered by every export under <destination>_quarantine/). */
    quarantined: number;
    maxEvents: number;
    maxBytes: number;
  };
  exports: ExportStatus[];
  /** Cursors recorded in the spool that this config does not name: pruning waits for them too. */
  unnamedCursors: { name: string; pendingRows: number; openBatches: number; destination: string | null }[];
}

/** One export in the status report. */
export interface ExportStatus {
  name: string;
  format: string;
  compression: string;
  destination: string;
  /** Events this export has not delivered yet. */
  pendingRows: number;
  oldestPendingAgeSeconds: number | null;
  /** Objects planned but not delivered yet (a failure or crash left them; retried with the same keys). */
  openBatches: number;
  /** Of those, how many have failed at least once, and the failed attempts in all. */
  failedBatches: number;
  failedAttempts: number;
  lastUpload: { key: string; destination: string; at: string; bytes: number; rows: number } | null;
  lastError: { message: string; at: string | null } | null;
  /**
   * Sealed exports: objects this spool delivered into days that were already sealed and that
   * their seal does not cover (re-seal with `logbarge seal --date`); null for an export without a
   * `seal` section.
   */
  sealLate: { objects: number; rows: number; days: string[] } | null;
  /**
   * Exports with `integrity`: the last digest written (null before the first), objects delivered
   * that no digest lists yet, and whether a planned digest waits to be written (a failure or crash
   * left it; it is written again with the same bytes). null for an export without integrity.
   */
  integrity: {
    lastDigest: { key: string; periodStart: string; periodEnd: string; objects: number; at: string | null } | null;
    unlistedObjects: number;
    pendingDigest: string | null;
  } | null;
  /** Set while paused by `logbarge exports pause` (nothing uploaded; its events hold pruning). */
  paused: { at: string; reason: string | null } | null;
  /** The open batch that failed most often: what a stuck export is stuck on (`exports skip-batch --batch ID`), or null. */
  stuckBatch: { id: number; key: string; dt: string; rows: number; attempts: number; lastError: string | null } | null;
  /** Batches skipped into dead-letter files by `exports skip-batch`, and their events (not delivered). */
  skipped: { batches: number; rows: number };
}

function integrityStatus(spool: Spool, name: string): NonNullable<ExportStatus['integrity']> {
  const last = newestWrittenDigest(spool, name);
  const iso = (ms: number): string => new Date(ms).toISOString();
  return {
    lastDigest: last
      ? { key: last.object_key, periodStart: iso(last.period_start), periodEnd: iso(last.period_end), objects: last.objects, at: last.written_at === null ? null : iso(last.written_at) }
      : null,
    unlistedObjects: unlistedSummary(spool, name).objects,
    pendingDigest: plannedDigest(spool, name)?.object_key ?? null,
  };
}

/** Collects the status report for a config. */
export function collectStatus(options: ConfigOption): StatusReport {
  const config = commandConfig(options);
  const path = resolve(config.spool.path);
  const now = Date.now();
  const age = (at: number | null): number | null => (at === null ? null : Math.max(0, Math.round((now - at) / 1000)));
  const base = { path, maxEvents: config.spool.maxEvents, maxBytes: config.spool.maxBytes };
  const describe = (e: (typeof config.exports)[number]) => ({ name: e.name, format: e.format, compression: e.compression, destination: e.destination });
  if (!existsSync(path)) {
    const exports = config.exports.map((e) => ({
      ...describe(e), pendingRows: 0, oldestPendingAgeSeconds: null, openBatches: 0, failedBatches: 0, failedAttempts: 0, lastUpload: null, lastError: null,
      sealLate: e.seal ? { objects: 0, rows: 0, days: [] } : null,
      integrity: e.integrity ? { lastDigest: null, unlistedObjects: 0, pendingDigest: null } : null,
      paused: null, stuckBatch: null, skipped: { batches: 0, rows: 0 },
    }));
    return { spool: { ...base, exists: false, id: null, depth: 0, bytes: 0, oldestEventAgeSeconds: null, newestSeq: 0, idempotencyKeys: 0, quarantined: 0 }, exports, unnamedCursors: [] };
  }
  const spool = openSpool({ path, readonly: true });
  try {
    const s = spool.stats();
    const exports = config.exports.map((e): ExportStatus => {
      const st = exportState(spool, e.name);
      return {
        ...describe(e),
        pendingRows: st.pendingRows,
        oldestPendingAgeSeconds: age(st.oldestPendingAt),
        openBatches: st.openBatches,
        failedBatches: st.failingBatches,
        failedAttempts: st.failedAttempts,
        lastUpload: st.lastUpload ? { ...st.lastUpload, at: new Date(st.lastUpload.at).toISOString() } : null,
        lastError: st.lastError ? { message: st.lastError, at: st.lastErrorAt === null ? null : new Date(st.lastErrorAt).toISOString() } : null,
        sealLate: e.seal ? lateSummary(spool, e.name) : null,
        integrity: e.integrity ? integrityStatus(spool, e.name) : null,
        paused: st.paused ? { at: new Date(st.paused.at).toISOString(), reason: st.paused.reason } : null,
        stuckBatch: st.stuckBatch,
        skipped: st.skipped,
      };
    });
    return {
      spool: {
        ...base,
        exists: true,
        id: spool.id,
        depth: s.depth,
        bytes: s.bytes,
        oldestEventAgeSeconds: age(s.oldestReceivedAt),
        newestSeq: s.newestSeq,
        idempotencyKeys: s.keys,
        quarantined: spool.sql.quarantineHeld.get() as number,
      },
      exports,
      unnamedCursors: unnamedCursors(spool, config.exports.map((e) => e.name)).map((name) => {
        const st = exportState(spool, name);
        return { name, pendingRows: st.pendingRows, openBatches: st.openBatches, destination: st.lastDestination };
      }),
    };
  } finally {
    spool.close();
  }
}

/** Prints the status report. */
export function statusCommand(options: StatusOptions): void {
  const report = collectStatus(options);
  if (options.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  const s = report.spool;
  const rows: [string, string][] = [
    ['spool', s.exists ? s.path : `${s.path} (not created yet)`],
    ['depth', `${s.depth.toLocaleString('en-US')} events (limit ${s.maxEvents.toLocaleString('en-US')})`],
    ['bytes', `${s.bytes.toLocaleString('en-US')} (limit ${s.maxBytes.toLocaleString('en-US')})`],
    ['oldest event', s.oldestEventAgeSeconds === null ? '-' : `${s.oldestEventAgeSeconds} s ago`],
    ['newest seq', String(s.newestSeq)],
    ['quarantined', `${s.quarantined.toLocaleString('en-US')} record(s) held (exported under <destination>_quarantine/)`],
    ['id keys', `${s.idempotencyKeys.toLocaleString('en-US')} remembered (${(s.idempotencyKeys * keyBytes).toLocaleString('en-US')} bytes of spool.maxBytes)`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  let out = rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n') + '\n';
  const table: string[][] = [['export', 'format', 'state', 'pending', 'oldest', 'open', 'failed', 'last upload', 'last error']];
  for (const e of report.exports) {
    table.push([
      e.name,
      `${e.format}/${e.compression}`,
      e.paused ? 'PAUSED' : e.stuckBatch ? 'failing' : 'ok',
      e.pendingRows.toLocaleString('en-US'),
      e.oldestPendingAgeSeconds === null ? '-' : `${e.oldestPendingAgeSeconds}s`,
      String(e.openBatches),
      String(e.failedBatches),
      e.lastUpload ? `${e.lastUpload.at} (${e.lastUpload.rows} rows)` : '-',
      e.lastError ? e.lastError.message.split('\n')[0]!.slice(0, 80) : '-',
    ]);
  }
  const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  out += '\n' + table.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n';
  for (const e of report.exports) out += `${e.name}: ${e.destination}\n`;
  out += stuckAdvice(report.exports.map((e) => ({ name: e.name, paused: e.paused, stuckBatch: e.stuckBatch, skipped: e.skipped })));
  for (const e of report.exports) {
    if (!e.integrity) continue;
    const d = e.integrity.lastDigest;
    out += `${e.name}: last digest ${d ? `${d.key} (${d.objects} object(s), written ${d.at ?? '?'})` : '- (none yet)'}; ${e.integrity.unlistedObjects} object(s) awaiting a digest${e.integrity.pendingDigest ? `; NOT YET WRITTEN: ${e.integrity.pendingDigest}` : ''}\n`;
  }
  for (const e of report.exports) {
    if (!e.sealLate || e.sealLate.objects === 0) continue;
    out += `\nWARNING: export ${e.name} delivered ${e.sealLate.objects} object(s) (${e.sealLate.rows.toLocaleString('en-US')} events) into sealed days that their seal does not cover: ${e.sealLate.days.map((d) => `dt=${d}`).join(', ')}.\n`;
    out += `  Readers of the sealed view do not see them until the day is re-sealed: ${e.sealLate.days.map((d) => `logbarge seal --export ${e.name} --date ${d}`).join('; ')}\n`;
  }
  for (const u of report.unnamedCursors) {
    out += `\nWARNING: cursor ${u.name} is recorded in the spool but not in this config (${u.pendingRows.toLocaleString('en-US')} pending, ${u.openBatches} open batches${u.destination ? `, last wrote ${u.destination}` : ''}).\n`;
    out += `  Events stay spooled until it delivers them. See \`logbarge exports\`; retire it with \`logbarge exports forget ${u.name} --yes\`.\n`;
  }
  process.stdout.write(out);
}

/** Registers the command. */
export function register(program: Command): void {
  program
    .command('status')
    .description('show spool depth and export state (safe while the daemon runs)')
    .option('-c, --config <file>', 'config file (default: $LOGBARGE_CONFIG, else built-in defaults)')
    .option('--json', 'print {"spool": {...}, "exports": [...]} as JSON')
    .addHelpText(
      'after',
      `
Examples:
  logbarge status
  logbarge status --json | jq .spool.depth`,
    )
    .action(statusCommand);
}
