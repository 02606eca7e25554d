/**
 * Test support for export tests that span processes: an async CLI runner (runCli's spawnSync
 * would block the in-process S3 server the child talks to), posting events and recording the
 * acknowledged ids, downloading every data object of a destination, reading the spool's batch
 * table, and bounded polling.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openSpool } from '../../src/spool/spool.js';
import type { BatchRow } from '../../src/spool/sql.js';
import { cliPath } from './process.js';
import { openTestStore, type S3TestServer } from './s3.js';

/** The outcome of a CLI run. */
export interface CliResult {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the built CLI without blocking this process's event loop; killed after `timeoutMs`. */
export function runCliAsync(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string; input?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], {
      cwd: options.cwd,
      env: { ...process.env, LOGBARGE_CONFIG: '', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** Polls `check` every `intervalMs` until it returns a truthy value or `timeoutMs` passes (then throws `what`). */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, { timeoutMs = 10_000, intervalMs = 50 } = {}): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; ; i++) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Rejects when `promise` takes longer than `ms`. */
export function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]);
}

/**
 * POSTs `events` to `url`/v1/events in requests of `perRequest`; returns the EVENT_IDs acknowledged
 * with 202 (accepted, not duplicates). Throws on any other answer.
 */
export async function postAll(url: string, events: readonly Record<string, unknown>[], perRequest: number): Promise<string[]> {
  const acknowledged: string[] = [];
  for (let i = 0; i < events.length; i += perRequest) {
    const batch = events.slice(i, i + perRequest);
    const res = await fetch(`${url}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(batch),
      signal: AbortSignal.timeout(20_000),
    });
    const body = (await res.json()) as { accepted?: number; duplicates?: number };
    if (res.status !== 202 || body.accepted !== batch.length) {
      throw new Error(`POST /v1/events answered ${res.status} ${JSON.stringify(body)} for ${batch.length} new events`);
    }
    acknowledged.push(...batch.map((e) => e.EVENT_ID as string));
  }
  return acknowledged;
}

/** POSTs /v1/flush and returns status and body; gives up after `timeoutMs`. */
export async function flushOver(url: string, timeoutMs = 40_000): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}/v1/flush`, { method: 'POST', signal: AbortSignal.timeout(timeoutMs) });
  return { status: res.status, body: await res.json() };
}

/** A data object downloaded to a local file. */
export interface DownloadedObject {
  readonly key: string;
  readonly path: string;
  readonly size: number;
}

/** GETs in flight at once in downloadData: enough to hide the loopback round trips, few enough for fauxqs. */
const downloadConcurrency = 8;

/** Downloads every data object (keys under dt=) of `s3://bucket/prefix` into `dir`. */
export async function downloadData(server: S3TestServer, bucket: string, prefix: string, dir: string): Promise<DownloadedObject[]> {
  mkdirSync(dir, { recursive: true });
  const store = openTestStore(`s3://${bucket}/${prefix}`, server.s3Config());
  try {
    const listed = (await store.list('')).filter((o) => o.key.startsWith('dt='));
    const out: DownloadedObject[] = listed.map((o, i) => ({ key: o.key, path: join(dir, `${i}-${o.key.replace(/[^A-Za-z0-9.=-]/g, '_')}`), size: o.size }));
    // A few GETs in flight at a time (a crash test leaves hundreds of small objects); listing order is kept.
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < out.length; i = next++) writeFileSync(out[i]!.path, await store.get(out[i]!.key));
    };
    await Promise.all(Array.from({ length: Math.min(downloadConcurrency, out.length) }, worker));
    return out;
  } finally {
    store.close();
  }
}

/** Every key under `s3://bucket/prefix` + `under` (relative to the prefix). */
export async function listKeys(server: S3TestServer, bucket: string, prefix: string, under = ''): Promise<string[]> {
  const store = openTestStore(`s3://${bucket}/${prefix}`, server.s3Config());
  try {
    return (await store.list(under)).map((o) => o.key);
  } finally {
    store.close();
  }
}

/** The export_batches rows of a spool file (opened read-only; works while a daemon runs). */
export function readBatches(spoolPath: string, exportName?: string): BatchRow[] {
  const spool = openSpool({ path: spoolPath, readonly: true });
  try {
    const rows = spool.db.prepare('SELECT * FROM export_batches ORDER BY id').all() as BatchRow[];
    return exportName === undefined ? rows : rows.filter((r) => r.export === exportName);
  } finally {
    spool.close();
  }
}

/** Spool depth of a spool file (read-only). */
export function spoolDepth(spoolPath: string): number {
  const spool = openSpool({ path: spoolPath, readonly: true });
  try {
    return spool.stats().depth;
  } finally {
    spool.close();
  }
}

/** Counts of each value; the entries whose count is not 1. */
export function notExactlyOnce(expected: readonly string[], got: readonly string[]): { missing: string[]; duplicated: string[]; unexpected: string[] } {
  const counts = new Map<string, number>();
  for (const id of got) counts.set(id, (counts.get(id) ?? 0) + 1);
  const want = new Set(expected);
  return {
    missing: expected.filter((id) => !counts.has(id)),
    duplicated: [...counts].filter(([, n]) => n > 1).map(([id]) => id),
    unexpected: [...counts.keys()].filter((id) => !want.has(id)),
  };
}

/** A small seeded PRNG (mulberry32), so random kill points are reproducible from the logged seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
