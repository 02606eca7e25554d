/**
 * A daemon whose start fails (its port taken, its digest key unreadable, the spool locked by
 * another process) leaves nothing open: not the spool, not the append worker (whose port would
 * keep the process alive), not its work directory; and the same spool then starts, with what it
 * held.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:net';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { createExporter } from '../src/app/exporter.js';
import { createMetrics } from '../src/metrics.js';
import { openSpool } from '../src/spool/spool.js';
import { join } from 'node:path';
import { startDaemon } from '../src/app/daemon.js';
import { createLogger } from '../src/log.js';
import { event, startTestDaemon, tempDir, testConfig } from './support/daemon.js';
import { runCli, writeConfig } from './support/process.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/**
 * The handles a daemon opens that keep a process alive, counted: a worker's port (the append
 * worker), a listening server. (Its timers are unref'd; other kinds come and go with the test
 * runner.)
 */
function handles(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) if (kind === 'MessagePort' || kind === 'TCPServerWrap') counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

/** Spools `n` events into `dir`'s spool without delivering them (`logbarge ingest` spools only). */
function spoolUndelivered(dir: string, exports: Record<string, unknown>[], n: number): void {
  const input = join(dir, 'events.ndjson');
  writeFileSync(input, Array.from({ length: n }, () => `${JSON.stringify(event())}\n`).join(''));
  const ingest = runCli(['ingest', '-c', writeConfig(dir, { spool: { path: join(dir, 'spool.db') }, exports }), input]);
  expect(ingest.status, ingest.stderr).toBe(0);
}

const settle = () => new Promise((r) => setTimeout(r, 50));

describe('a start that fails', () => {
  it('on a port already taken: refuses with EADDRINUSE, leaves no handle open, and the spool starts again with its events', async () => {
    const temp = tempDir('logbarge-startfail-');
    cleanups.push(() => temp.remove());
    const exports = [{ name: 'nd', format: 'ndjson', destination: `file://${temp.dir}/out/` }];
    spoolUndelivered(temp.dir, exports, 2);

    const taken: Server = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => taken.close(() => r())));
    const port = (taken.address() as { port: number }).port;
    await settle();
    const before = handles();
    const config = testConfig(temp.dir, { server: { port }, exports });
    await expect(startDaemon({ config, logger: createLogger('silent') })).rejects.toMatchObject({
      code: 'EADDRINUSE',
      message: `server: listen on 127.0.0.1:${port}: the address is in use (EADDRINUSE): another process listens there; stop it, or set server.port`,
    });
    await settle();
    expect(handles()).toEqual(before);

    // No final cycle ran as it released: the events wait in the spool for the next start.
    expect(existsSync(join(temp.dir, 'out'))).toBe(false);
    const again = await startTestDaemon({ exports }, temp.dir);
    cleanups.push(() => again.daemon.stop());
    expect(again.snapshot().depth).toBe(2);
  });

  it('on an unreadable digest key: refuses naming the field, leaves no handle open', async () => {
    const temp = tempDir('logbarge-startfail-key-');
    cleanups.push(() => temp.remove());
    await settle();
    const before = handles();
    const config = testConfig(temp.dir, {
      exports: [{ name: 'nd', format: 'ndjson', destination: `file://${temp.dir}/out/`, integrity: { privateKeyFile: join(temp.dir, 'missing.key') } }],
    });
    await expect(startDaemon({ config, logger: createLogger('silent') })).rejects.toThrow(/exports\[0\]\.integrity\.privateKeyFile/);
    await settle();
    expect(handles()).toEqual(before);
  });

  it('after the server listens (here the log line saying so fails): no final cycle, the server closed, no handle open', async () => {
    const temp = tempDir('logbarge-startfail-late-');
    cleanups.push(() => temp.remove());
    const exports = [{ name: 'nd', format: 'ndjson', destination: `file://${temp.dir}/out/` }];
    spoolUndelivered(temp.dir, exports, 1);
    await settle();
    const before = handles();
    const logger = createLogger('info', {
      write(line: string) {
        if (line.includes('"logbarge listening"')) throw new Error('injected: the log destination failed');
      },
    });
    await expect(startDaemon({ config: testConfig(temp.dir, { exports }), logger })).rejects.toThrow('injected: the log destination failed');
    await settle();
    expect(handles()).toEqual(before);
    expect(existsSync(join(temp.dir, 'out'))).toBe(false);
  });

  it('with the spool locked by another process as the exporter registers its cursors: SQLITE_BUSY, and its work directory given back', async () => {
    const temp = tempDir('logbarge-startfail-busy-');
    cleanups.push(() => temp.remove());
    const config = testConfig(temp.dir, { exports: [{ name: 'nd', format: 'ndjson', destination: `file://${temp.dir}/out/` }] });
    const spool = openSpool({ path: config.spool.path, busyTimeoutMs: 50 });
    cleanups.push(() => spool.close());
    const other = new Database(config.spool.path);
    other.exec('BEGIN IMMEDIATE');
    cleanups.push(() => {
      other.exec('ROLLBACK');
      other.close();
    });
    expect(() => createExporter({ config, spool, logger: createLogger('silent'), metrics: createMetrics({ defaultMetrics: false }) })).toThrow(/locked|busy/i);
    expect(readdirSync(join(temp.dir, 'work'))).toEqual([]);
  });
});
