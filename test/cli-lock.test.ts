/**
 * A CLI process writing the spool (`logbarge ingest`, `flush`) holds SQLite's write lock for a
 * while. The daemon must neither block its event loop in SQLite's busy handler nor answer 503:
 * requests wait (asynchronously) for the lock and are then answered 202, and /healthz answers
 * meanwhile. The lock is held by a real second process until the test releases it, so every
 * assertion is about order (what was answered before the release), not about time.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../src/log.js';
import { event, startTestDaemon, type Answer, type TestDaemon } from './support/daemon.js';
import { within } from './support/export-check.js';

/** A child process that takes the spool's write lock (BEGIN IMMEDIATE), says "locked", and commits on "release". */
const holder = `
import Database from 'better-sqlite3';
const db = new Database(process.argv[1]);
db.pragma('busy_timeout = 5000');
db.exec('BEGIN IMMEDIATE');
db.prepare("INSERT INTO spool_meta (key, value) VALUES ('cli_lock_test', 'held') ON CONFLICT (key) DO UPDATE SET value = excluded.value").run();
process.stdout.write('locked\\n');
process.stdin.setEncoding('utf8').on('data', (c) => {
  if (!c.includes('release')) return;
  db.exec('COMMIT');
  db.close();
  process.stdout.write('released\\n');
  process.exit(0);
});
`;

function holdLock(path: string): Promise<{ child: ChildProcessWithoutNullStreams; release: () => Promise<void> }> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', holder, path], { cwd: process.cwd(), stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
  return new Promise((resolve, reject) => {
    child.on('exit', (code) => code !== 0 && reject(new Error(`lock holder exited ${code}: ${err}`)));
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      out += c;
      if (out.includes('locked\n')) {
        resolve({
          child,
          release: () =>
            new Promise<void>((done) => {
              child.on('exit', () => done());
              child.stdin.write('release\n');
            }),
        });
      }
    });
  });
}

describe('a CLI process holding the spool write lock', () => {
  let d: TestDaemon | undefined;
  let child: ChildProcessWithoutNullStreams | undefined;
  afterEach(async () => {
    child?.kill('SIGKILL');
    await d?.stop();
  });

  it('makes requests wait, not fail: /healthz answers during the hold, every POST is answered 202 after it', async () => {
    d = await startTestDaemon();
    const before = d.snapshot().depth;
    const lock = await holdLock(d.config.spool.path);
    child = lock.child;
    const order: string[] = [];
    const posts: Promise<Answer>[] = Array.from({ length: 5 }, (_, i) =>
      d!.post([event(), event()]).then((a) => {
        order.push(`post ${a.status}`);
        return a;
      }),
    );
    // Let the requests reach the spool and find it locked (a wait, not an assertion on time).
    await new Promise((resolve) => setTimeout(resolve, 300));
    const health = await d.request('/healthz');
    order.push(`healthz ${health.status}`);
    // Nothing was answered while the lock was held except /healthz: no 503, no 202 before commit.
    expect(order).toEqual(['healthz 200']);
    order.push('releasing');
    await lock.release();
    const answers = await Promise.all(posts);
    expect(answers.map((a) => a.status)).toEqual([202, 202, 202, 202, 202]);
    expect(answers.map((a) => a.body)).toEqual(Array(5).fill({ accepted: 2, duplicates: 0 }));
    expect(order.slice(0, 2)).toEqual(['healthz 200', 'releasing']);
    expect(d.snapshot().depth).toBe(before + 10);
  });

  it('does not hold the drain past shutdownTimeoutMs: a trim of the idempotency window waiting for the lock ends on the deadline', async () => {
    const lines: string[] = [];
    const shutdownTimeoutMs = 300;
    // The window is trimmed every 10 ms here (every minute in production), so a trim is waiting
    // for the lock when the drain begins.
    d = await startTestDaemon({ shutdownTimeoutMs }, undefined, { logger: createLogger('info', { write: (l: string) => void lines.push(l) }), trimIntervalMs: 10 });
    const lock = await holdLock(d.config.spool.path);
    child = lock.child;
    // Let a trim start and find the spool locked (a wait, not an assertion on time).
    await new Promise((resolve) => setTimeout(resolve, 300));
    // The old drain awaited the trim's retries for up to busyGiveUpMs (60 s); the bound here is
    // a generous test timeout, far below that.
    await within(20_000, 'the daemon to stop while another process holds the lock', d.daemon.stop());
    const logged = lines.map((l) => JSON.parse(l) as { msg: string; err?: string });
    const trim = logged.find((l) => l.msg.startsWith('trim of the idempotency window stopped'));
    expect(trim, lines.join('')).toBeDefined();
    expect(trim!.err).toContain(`shutdownTimeoutMs (${shutdownTimeoutMs} ms) elapsed`);
    expect(logged.at(-1)?.msg).toBe('stopped');
    // Stopped with the lock still held; the holder commits afterwards.
    await lock.release();
  }, 30_000);

  it('does not hold the drain past shutdownTimeoutMs: requests waiting for the lock are given up at the deadline, storing nothing', async () => {
    const shutdownTimeoutMs = 300;
    d = await startTestDaemon({ shutdownTimeoutMs });
    const before = d.snapshot().depth;
    const lock = await holdLock(d.config.spool.path);
    child = lock.child;
    let answered = 0;
    const posts = Array.from({ length: 3 }, () => d!.post([event(), event()]).then((a) => a.status, () => 'closed').finally(() => answered++));
    // Let the requests reach group commit and find the spool locked (a wait, not an assertion on time).
    await new Promise((resolve) => setTimeout(resolve, 300));
    // None answered yet: they passed admission (which answers at once) and wait for the lock.
    expect(answered).toBe(0);
    // The old drain awaited group commit's retries for up to busyGiveUpMs (60 s); the bound here
    // is a generous test timeout, far below that.
    await within(20_000, 'the daemon to stop while another process holds the lock', d.daemon.stop());
    // Their connections were cut at the deadline (or they were answered 503): never a 202.
    for (const status of await Promise.all(posts)) expect([503, 'closed']).toContain(status);
    await lock.release();
    // Nothing of them was stored.
    const { openSpool } = await import('../src/spool/spool.js');
    const spool = openSpool({ path: d.config.spool.path, readonly: true });
    expect(spool.counters().depth).toBe(before);
    spool.close();
  }, 30_000);
});
