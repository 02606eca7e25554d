/**
 * The ingest lines of issue 11 (sections of `npm run bench`, run by main.ts with its harness):
 *   single  one event per request (EventBridge API destinations, Strivacity), 64 connections,
 *           logbarge against the bare server with the same bodies
 *   keys    ingest with 5M ids in the idempotency window against an empty spool, and what
 *           time-ordered keys are worth (event times in arrival order vs spread over three days)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

type Json = Record<string, any>;

/** What main.ts lends a section. */
export interface Harness {
  readonly here: string;
  readonly root: string;
  readonly reps: number;
  readonly scale: number;
  child(script: string, args: string[]): Promise<Json>;
  server(args: string[], urlFrom: (out: string) => string | undefined): Promise<{ url: string; stop: () => Promise<void> }>;
  record(name: string, unit: string, ours: number[], base: number[] | null, baselineName: string | null, goal: string, check: ((ratio: number, value: number) => boolean) | null, note?: string): void;
}

/** Writes a daemon config (export scheduled never) for a spool in `dir` and starts logbarge on it. */
async function startLogbarge(h: Harness, dir: string, name: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const config = join(dir, `${name}.json`);
  writeFileSync(
    config,
    JSON.stringify({
      writerId: 'bench',
      server: { port: 0 },
      spool: { path: join(dir, `${name}.db`), minFreeBytes: 0, maxBytes: 1e12, maxEvents: 50_000_000 },
      exports: [{ name: 'off', destination: `file://${dir}/out-${name}/`, schedule: '0 0 1 1 *', maxRowsPerFile: 50_000_000 }],
      log: { level: 'info' },
    }),
  );
  return h.server([join(h.root, 'dist/cli/main.js'), 'run', '-c', config], (out) => {
    const m = /"address":"([^"]+)"/.exec(out);
    return m ? `http://${m[1]}/v1/events` : undefined;
  });
}

const bareUrl = (out: string): string | undefined => out.split('\n').find((l) => l.startsWith('http'));

/** Checks that every request of a load run got 202. */
function all202(r: Json, requests: number, what: string): number {
  if (r.statuses['202'] !== requests) throw new Error(`bench ${what}: not every request got 202: ${JSON.stringify(r.statuses)}`);
  return r.eventsPerSecond as number;
}

export async function benchSingle(h: Harness): Promise<void> {
  process.stderr.write('single: one event per request (a JSON object), 64 connections, 127.0.0.1\n');
  const requests = Math.round(20_000 * h.scale);
  const dir = mkdtempSync(join(tmpdir(), 'logbarge-bench-single-'));
  try {
    const bare = await h.server([join(h.here, 'bare-server.js')], bareUrl);
    const ours = await startLogbarge(h, dir, 'single');
    const load = (url: string, seed: string, startMs: number, n = requests) =>
      h.child('load.js', ['--url', url, '--requests', String(n), '--events', '1', '--single', '--concurrency', '64', '--seed', seed, '--start-ms', String(startMs)]);
    await load(bare.url, 'warm-single-bare', Date.now(), 2_000);
    await load(ours.url, 'warm-single-ours', Date.now(), 2_000);
    const b: number[] = [];
    const o: number[] = [];
    for (let i = 0; i < h.reps; i++) {
      const startMs = Date.now(); // same seed and start: byte-identical bodies for both
      b.push((await load(bare.url, `single-${i}`, startMs)).eventsPerSecond);
      o.push(all202(await load(ours.url, `single-${i}`, startMs), requests, 'single'));
    }
    await bare.stop();
    await ours.stop();
    h.record('ingest, one event per request, 64 connections', 'events/s', o, b, 'bare node:http + JSON.parse, no storage', '≥ 0.3', (r) => r >= 0.3);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchKeys(h: Harness): Promise<void> {
  const keys = Math.round(5_000_000 * h.scale);
  process.stderr.write(`keys: ingest with ${keys.toLocaleString('en-US')} ids in the idempotency window vs an empty spool; time-ordered keys\n`);
  const requests = Math.round(1500 * h.scale);
  const dir = mkdtempSync(join(tmpdir(), 'logbarge-bench-keys-'));
  try {
    const filled = await h.child('key-window.js', ['--fill', join(dir, 'window.db'), '--keys', String(keys), '--end-ms', String(Date.now()), '--days', '7']);
    process.stderr.write(`  (${filled.keys.toLocaleString('en-US')} keys generated in ${filled.seconds.toFixed(1)} s)\n`);
    const empty = await startLogbarge(h, dir, 'empty');
    const window = await startLogbarge(h, dir, 'window');
    const load = (url: string, seed: string, startMs: number, extra: string[] = [], n = requests) =>
      h.child('load.js', ['--url', url, '--requests', String(n), '--concurrency', '16', '--seed', seed, '--start-ms', String(startMs), ...extra]);
    await load(empty.url, 'warm-keys-empty', Date.now(), [], 200);
    await load(window.url, 'warm-keys-window', Date.now(), [], 200);
    const e: number[] = [];
    const w: number[] = [];
    const scattered: number[] = [];
    for (let i = 0; i < h.reps; i++) {
      const startMs = Date.now();
      e.push(all202(await load(empty.url, `keys-${i}`, startMs), requests, 'keys'));
      w.push(all202(await load(window.url, `keys-${i}`, startMs), requests, 'keys'));
      // New ids (another seed), times spread over the three days before the start, in no order.
      scattered.push(all202(await load(window.url, `keys-scattered-${i}`, startMs - 3 * 86_400_000, ['--scatter-days', '3']), requests, 'keys'));
    }
    await empty.stop();
    await window.stop();
    const n = keys.toLocaleString('en-US');
    h.record(`ingest with ${n} ids in the idempotency window`, 'events/s', w, e, 'the same ingest against an empty spool', '≥ 0.9', (r) => r >= 0.9);
    h.record(
      `ingest with ${n} ids: event times in arrival order vs spread over three days`,
      'events/s',
      w,
      scattered,
      `the same spool, event times spread over three days in no order`,
      '(reported)',
      null,
      'the idempotency key leads with EVENT_TIME (migrations/000003.sql): arrival order inserts at the B-tree\'s right edge',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
