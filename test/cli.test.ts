/**
 * The CLI as a user runs it: exit codes, messages naming the bad field, `ingest` all-or-nothing,
 * `status --json` while a daemon runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadNamedSchema } from '../src/schema/schema.js';
import { openSpool } from '../src/spool/spool.js';
import { event, tempDir } from './support/daemon.js';
import { runCliAsync } from './support/export-check.js';
import { spawnDaemon, writeConfig } from './support/process.js';

// The runs go at once, except those on the shared spool, which check its depth and run in order.
describe.concurrent('logbarge CLI', () => {
  const temp = tempDir();
  let configPath: string;
  let spoolPath: string;
  beforeAll(() => {
    spoolPath = join(temp.dir, 'spool.db');
    configPath = writeConfig(temp.dir, {
      writerId: 'cli',
      server: { port: 0 },
      spool: { path: spoolPath, minFreeBytes: 0 },
      exports: [{ name: 'default', destination: `file://${temp.dir}/exports/` }],
    });
  });
  afterAll(() => temp.remove());

  const depth = (): number => {
    const s = openSpool({ path: spoolPath, readonly: true });
    try {
      return s.stats().depth;
    } finally {
      s.close();
    }
  };

  it('prints help and the version with exit 0', async () => {
    const help = await runCliAsync(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/run .*ingest .*status/s);
    expect((await runCliAsync(['--version'])).status).toBe(0);
  });

  it('exits 2 on an unknown command or option', async () => {
    expect((await runCliAsync(['frobnicate'])).status).toBe(2);
    expect((await runCliAsync(['status', '--bogus'])).status).toBe(2);
  });

  it('exits 2 naming the bad field of a config file', async () => {
    const bad = writeConfig(temp.dir, { server: { port: 'eighty' }, spool: { maxEvnts: 1 } }, 'bad.json');
    const r = await runCliAsync(['status', '-c', bad]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('server.port: Invalid input: expected number, received string');
    expect(r.stderr).toContain('spool.maxEvnts: unknown key');
    expect(r.stderr).toContain('Try: see docs/config.md');
  });

  it('exits 2 when $LOGBARGE_CONFIG names a missing file', async () => {
    const r = await runCliAsync(['status'], { env: { LOGBARGE_CONFIG: join(temp.dir, 'missing.json') } });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('missing.json: ENOENT');
  });

  it('exits 2 naming server.tls.cert when the certificate file is missing', async () => {
    const cfg = writeConfig(temp.dir, { server: { port: 0, tls: { cert: join(temp.dir, 'nope.pem'), key: join(temp.dir, 'nope.key') } }, spool: { path: join(temp.dir, 'tls', 'spool.db') } }, 'tls.json');
    const r = await runCliAsync(['run', '-c', cfg]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('read server.tls.cert');
    expect(r.stderr).toContain('ENOENT');
  });

  it('stops an ingest at the spool limit with exit 1 and says how far it got', async () => {
    const dir = join(temp.dir, 'full');
    const cfg = writeConfig(temp.dir, { spool: { path: join(dir, 'spool.db'), maxEvents: 15_000 } }, 'full.json');
    const file = join(temp.dir, 'many.ndjson');
    writeFileSync(file, Array.from({ length: 25_000 }, (_, i) => JSON.stringify(event({ EVENT_ID: `many-${i}` }))).join('\n'));
    const r = await runCliAsync(['ingest', '-c', cfg, file]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('the spool is full after 14000 accepted events (of 25000)');
    expect(r.stderr).toContain('run the same command again');
    const s = openSpool({ path: join(dir, 'spool.db'), readonly: true });
    expect(s.stats().depth).toBe(14_000); // whole 2,000-row transactions only
    s.close();
  });

  it('reports a spool that does not exist yet', async () => {
    const cfg = writeConfig(temp.dir, { spool: { path: join(temp.dir, 'none', 'spool.db') } }, 'empty.json');
    const r = await runCliAsync(['status', '-c', cfg, '--json']);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).spool).toMatchObject({ exists: false, depth: 0 });
  });

  describe('on the shared spool, in order', () => {
    it.sequential('ingests an NDJSON file and reports counts', async () => {
      const file = join(temp.dir, 'events.ndjson');
      const events = Array.from({ length: 1200 }, (_, i) => event({ EVENT_ID: `file-${i}` }));
      writeFileSync(file, events.map((e) => JSON.stringify(e)).join('\n') + '\n');
      const r = await runCliAsync(['ingest', '-c', configPath, '--json', file]);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ records: 1200, accepted: 1200, duplicates: 0 });
      expect(depth()).toBe(1200);
      const again = await runCliAsync(['ingest', '-c', configPath, file]);
      expect(again.status).toBe(0);
      expect(again.stdout).toContain('1200 records: 0 accepted, 1200 duplicates');
      expect(depth()).toBe(1200);
    });

    it.sequential('ingests a pretty-printed JSON array and an object from stdin', async () => {
      const file = join(temp.dir, 'events.json');
      writeFileSync(file, JSON.stringify([event(), event({ eventId: undefined })], null, 2));
      expect((await runCliAsync(['ingest', '-c', configPath, file])).status).toBe(0);
      const stdin = await runCliAsync(['ingest', '-c', configPath, '-'], { input: JSON.stringify(event(), null, 2) });
      expect(stdin.status).toBe(0);
      expect(stdin.stdout).toContain('1 records: 1 accepted');
      expect(depth()).toBe(1203);
    });

    it.sequential('rejects a file with any bad record (exit 4), naming record and field, storing nothing', async () => {
      const file = join(temp.dir, 'bad.ndjson');
      const lines = [event(), event(), event({ EVENT_TIME: '2026-13-01T00:00:00Z' }), event()].map((e) => JSON.stringify(e));
      lines.push('{"broken": ');
      writeFileSync(file, lines.join('\n'));
      const before = depth();
      const r = await runCliAsync(['ingest', '-c', configPath, file]);
      expect(r.status).toBe(4);
      expect(r.stderr).toContain('record 2: EVENT_TIME:');
      expect(r.stderr).toContain('record 4: (record): invalid JSON');
      expect(r.stderr).toContain('nothing was stored');
      expect(depth()).toBe(before);
    });

    it.sequential('exits 1 for a missing input file', async () => {
      const r = await runCliAsync(['ingest', '-c', configPath, join(temp.dir, 'nope.ndjson')]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('ENOENT');
    });

    it.sequential('shows status as JSON while the daemon runs', async () => {
      const d = await spawnDaemon(configPath);
      try {
        const res = await fetch(`${d.url}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(event()) });
        expect(res.status).toBe(202);
        const r = await runCliAsync(['status', '-c', configPath, '--json']);
        expect(r.status).toBe(0);
        const report = JSON.parse(r.stdout);
        expect(report.spool.depth).toBe(1204);
        expect(report.spool.exists).toBe(true);
        expect(report.exports.map((e: { name: string }) => e.name)).toEqual(['default']);
        const human = await runCliAsync(['status', '-c', configPath]);
        expect(human.stdout).toMatch(/depth\s+1,204 events/);
      } finally {
        d.child.kill('SIGTERM');
        expect(await d.exited).toBe(0);
      }
    });
  });
});

describe.concurrent('logbarge with config "schema"', () => {
  const temp = tempDir();
  afterAll(() => temp.remove());

  it.each([['run'], ['ingest', '-'], ['flush'], ['status'], ['ddl', 'athena']])('%s exits 2 naming schema when it names no schema', async (...args) => {
    const name = args.join('-');
    const cfg = writeConfig(temp.dir, { schema: 'okta-security.v7', spool: { path: join(temp.dir, 'bad', name, 'spool.db') } }, `bad-schema-${name}.json`);
    const r = await runCliAsync([...args, '-c', cfg]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('schema: find schema "okta-security.v7": no shipped schema has that name');
    expect(r.stderr).toContain('Try: use one of airkit-audit-event.v1, okta-security.v1');
  });

  it('ingest and flush carry the extension columns of okta-security.v1 into the files', async () => {
    const out = join(temp.dir, 'out');
    const cfg = writeConfig(temp.dir, {
      schema: 'okta-security.v1',
      spool: { path: join(temp.dir, 'okta', 'spool.db'), minFreeBytes: 0 },
      exports: [{ name: 'nd', format: 'ndjson', compression: 'none', destination: `file://${out}/` }],
    }, 'okta.json');
    const file = join(temp.dir, 'okta.ndjson');
    writeFileSync(file, `${JSON.stringify(event({ EVENT_ID: 'okta-cli-1', CLIENT_IP: '192.0.2.1', OUTCOME_RESULT: 'FAILURE', TARGETS: '[{"id":"00u1"}]' }))}\n`);
    const ingested = await runCliAsync(['ingest', '-c', cfg, file]);
    expect(ingested.stderr).toBe('');
    expect(ingested.stdout).toContain('1 records: 1 accepted');
    const flushed = await runCliAsync(['flush', '-c', cfg]);
    expect(flushed.status).toBe(0);
    const key = flushed.stdout.split('\n').map((l) => l.trim()).find((l) => l.startsWith('dt='))!;
    const row = JSON.parse(readFileSync(join(out, key), 'utf8')) as Record<string, unknown>;
    expect(Object.keys(row)).toEqual(loadNamedSchema('okta-security.v1').columns.map((c) => c.name).concat('RAW'));
    expect(row).toMatchObject({ EVENT_ID: 'okta-cli-1', CLIENT_IP: '192.0.2.1', OUTCOME_RESULT: 'FAILURE', TARGETS: '[{"id":"00u1"}]', CLIENT_CITY: null });
  });
});
