/**
 * Test support: an in-process daemon on 127.0.0.1 with a temp spool, and an HTTP client.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { startDaemon, type Daemon } from '../../src/app/daemon.js';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { createLogger } from '../../src/log.js';
import type { ObjectStore } from '../../src/store/store.js';
import { createPreparer } from '../../src/ingest/prepare.js';
import { loadSchema } from '../../src/schema/schema.js';
import type { Logger } from 'pino';
import type { RawSample } from './events.js';
import { withQuietSchedules } from './process.js';

/** A temp directory removed by the returned function. */
export function tempDir(prefix = 'logbarge-test-'): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Deep-merges plain objects (arrays are replaced). */
function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b)
        ? merge(b as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

/** A test config: port 0 on loopback, spool and exports under `dir`, exports on `quietSchedule` unless they name one. */
export function testConfig(dir: string, overrides: Record<string, unknown> = {}): Config {
  const raw = merge(
    {
      writerId: 'test',
      server: { host: '127.0.0.1', port: 0 },
      spool: { path: join(dir, 'spool.db'), minFreeBytes: 0 },
      exports: [{ name: 'default', destination: `file://${join(dir, 'exports')}/` }],
      log: { level: 'silent' },
    },
    overrides,
  );
  return parseConfig(withQuietSchedules(raw), { env: {}, source: 'test' });
}

/** A daemon running in this process, with a client bound to it. */
export interface TestDaemon {
  readonly daemon: Daemon;
  readonly config: Config;
  readonly url: string;
  /** POSTs a body to /v1/events (objects are JSON-encoded). */
  post(body: unknown, options?: PostOptions): Promise<Answer>;
  request(path: string, init?: RequestInit): Promise<Answer>;
  /** Spool figures that must not move when a request is rejected. */
  snapshot(): { depth: number; bytes: number; newestSeq: number; eventIds: number };
  stop(): Promise<void>;
}

/** Options of TestDaemon.post. */
export interface PostOptions {
  readonly contentType?: string | null;
  readonly headers?: Record<string, string>;
  readonly gzip?: boolean;
  /** Send this exact text/bytes instead of JSON-encoding `body`. */
  readonly raw?: boolean;
}

/** An HTTP answer with its JSON body parsed when it is JSON. */
export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: any;
  readonly text: string;
}

async function toAnswer(res: Response): Promise<Answer> {
  const text = await res.text();
  let body: unknown = undefined;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, headers: res.headers, body, text };
}

/** Starts a daemon on a test config under a fresh temp dir. */
export async function startTestDaemon(
  overrides: Record<string, unknown> = {},
  dir?: string,
  options: { openStore?: (destination: string, config: Config) => ObjectStore; logger?: Logger; trimIntervalMs?: number } = {},
): Promise<TestDaemon & { dir: string }> {
  const temp = dir ? { dir, remove: () => {} } : tempDir();
  const config = testConfig(temp.dir, overrides);
  const open = options.openStore;
  const daemon = await startDaemon({
    config,
    logger: options.logger ?? createLogger('silent'),
    ...(open ? { openStore: (destination: string) => open(destination, config) } : {}),
    ...(options.trimIntervalMs !== undefined ? { trimIntervalMs: options.trimIntervalMs } : {}),
  });
  const url = `http://127.0.0.1:${daemon.address.port}`;
  const request = async (path: string, init?: RequestInit) => toAnswer(await fetch(url + path, init));
  return {
    dir: temp.dir,
    daemon,
    config,
    url,
    request,
    post(body, options = {}) {
      let payload: string | Uint8Array = options.raw ? (body as string | Uint8Array) : JSON.stringify(body);
      const headers: Record<string, string> = { ...(options.headers ?? {}) };
      if (options.contentType !== null) headers['content-type'] = options.contentType ?? 'application/json';
      if (options.gzip) {
        payload = gzipSync(payload);
        headers['content-encoding'] = 'gzip';
      }
      return request('/v1/events', { method: 'POST', headers, body: payload });
    },
    snapshot() {
      const s = daemon.spool.stats();
      return { depth: s.depth, bytes: s.bytes, newestSeq: s.newestSeq, eventIds: s.keys };
    },
    async stop() {
      await daemon.stop();
      temp.remove();
    },
  };
}

/**
 * Stores samples with their raw records straight into a daemon's spool, through the ingest
 * preparer (ingest itself fills no raw record yet); returns how many rows were stored.
 */
export function appendWithRaw(d: TestDaemon, items: readonly RawSample[]): number {
  const prepared = createPreparer(loadSchema(), d.config.ingest).prepare(items.map((s) => s.sent));
  if (prepared.errorCount > 0) throw new Error(`appendWithRaw: ${JSON.stringify(prepared.errors)}`);
  const rows = prepared.rows.map((row, i) => ({ ...row, raw: items[i]!.raw }));
  const [outcome] = d.daemon.spool.appendGroups([rows], { now: Date.now(), limits: { maxEvents: 1e9, maxBytes: 1e12 } });
  if (outcome === 'full' || outcome === undefined) throw new Error('appendWithRaw: the spool is full');
  return outcome.accepted;
}

let counter = 0;

/** A valid canonical event; `overrides` replace or add keys. */
export function event(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  counter++;
  return {
    ORGANIZATION_ID: 'org-acme',
    EVENT_ID: `evt-${process.pid}-${Date.now()}-${counter}`,
    EVENT_TIME: '2026-03-14T09:26:53.589Z',
    EVENT_TYPE: 'user_login',
    USER_ID: 'user-1',
    EMAIL: 'ada@example.com',
    ...overrides,
  };
}
