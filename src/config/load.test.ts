import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isCode, type LogbargeError } from '../errors.js';
import { interpolate, isLoopback, loadConfig, parseConfig } from './load.js';

const env = { LOGBARGE_API_KEY: 'k-123', BUCKET: 'audit-bucket' };
const parse = (raw: unknown, e: Record<string, string> = env) => parseConfig(raw, { env: e, source: 'test.json', hostname: 'pod-a' });

describe('config defaults', () => {
  it('runs on built-in defaults: loopback, ./data/spool.db, one Parquet export to ./data/exports/', () => {
    const c = loadConfig({ env: {}, hostname: 'my-host' });
    expect(c.server).toMatchObject({ host: '127.0.0.1', port: 8080, apiKeyHeader: 'x-api-key', apiKeys: [], maxBodyBytes: 5242880 });
    expect(c.spool).toMatchObject({ path: './data/spool.db', maxEvents: 5_000_000, synchronous: 'FULL', idempotencyWindowDays: 7 });
    expect(c.exports).toEqual([
      { name: 'default', format: 'parquet', compression: 'zstd', destination: 'file://./data/exports/', schedule: '*/5 * * * *', maxRowsPerFile: 1_000_000, raw: true, seal: null, integrity: null },
    ]);
    expect(c.writerId).toBe('my-host');
    expect(c.s3).toEqual({ region: null, endpoint: null, forcePathStyle: false, serverSideEncryption: null, kmsKeyId: null, storageClass: null });
    expect(c.ingest.eventTime).toEqual({ min: '2000-01-01T00:00:00Z', maxAheadMs: 86_400_000 });
  });

  it('reads the DESIGN.md example config', () => {
    const c = parse({
      writerId: 'pod-a',
      server: { host: '0.0.0.0', port: 8080, apiKeyHeader: 'x-api-key', apiKeys: ['${LOGBARGE_API_KEY}'], maxBodyBytes: 5242880 },
      spool: { path: './data/spool.db', maxEvents: 5000000 },
      s3: { region: 'us-east-1', endpoint: null, forcePathStyle: false, serverSideEncryption: null, kmsKeyId: null },
      exports: [
        { name: 'athena', format: 'parquet', compression: 'zstd', destination: 's3://audit-bucket/airkit/parquet/', schedule: '*/5 * * * *', maxRowsPerFile: 1000000 },
      ],
    });
    expect(c.server.apiKeys).toEqual(['k-123']);
    expect(c.exports[0]?.destination).toBe('s3://audit-bucket/airkit/parquet/');
  });

  it('fills a seal section with its defaults', () => {
    expect(parse({ exports: [{ name: 'a', destination: 'file:///x/', seal: {} }] }).exports[0]!.seal).toEqual({
      afterHours: 48, schedule: null, lookbackDays: 7, targetFileBytes: 256 * 1024 * 1024, memoryLimit: '512MB', stagingDir: null,
      leaseSeconds: 900, deleteRaw: false, deleteAfterHours: 24,
    });
  });

  it('defaults compression by format', () => {
    const c = parse({
      exports: [
        { name: 'a', format: 'ndjson', destination: 'file:///tmp/a/' },
        { name: 'b', format: 'csv', destination: 'file:///tmp/b/' },
        { name: 'c', format: 'parquet', destination: 'file:///tmp/c/' },
      ],
    });
    expect(c.exports.map((e) => e.compression)).toEqual(['gzip', 'gzip', 'zstd']);
  });

  it('writes RAW unless an export says "raw": false', () => {
    const c = parse({ exports: [{ name: 'a', destination: 'file:///tmp/a/' }, { name: 'b', destination: 'file:///tmp/b/', raw: false }] });
    expect(c.exports.map((e) => e.raw)).toEqual([true, false]);
  });

  it('sanitises the host name into a writer id', () => {
    expect(parseConfig({}, { env: {}, source: 't', hostname: 'ip-10-0-0-1.ec2.internal' }).writerId).toBe('ip-10-0-0-1.ec2.internal');
    expect(parseConfig({}, { env: {}, source: 't', hostname: 'weird host/name' }).writerId).toBe('weird-host-name');
  });
});

describe('config errors name the bad field', () => {
  it.each([
    [{ server: { port: '8080' } }, 'server.port: Invalid input: expected number, received string'],
    [{ server: { prot: 1 } }, 'server.prot: unknown key'],
    [{ colour: 'blue' }, 'colour: unknown key'],
    [{ spool: { synchronous: 'OFF' } }, 'spool.synchronous'],
    [{ exports: [] }, 'exports'],
    [{ exports: [{ name: 'a', destination: 'http://x/' }] }, 'exports[0].destination: must be s3://bucket/prefix/ or file:///dir/'],
    [{ exports: [{ name: 'a', format: 'csv', compression: 'zstd', destination: 'file:///x/' }] }, 'exports[0].compression: zstd is not available for csv; use none, gzip'],
    [{ exports: [{ name: 'a', format: 'parquet', compression: 'none', destination: 'file:///x/' }] }, 'exports[0].compression: none is not available for parquet'],
    [{ exports: [{ name: 'a', destination: 'file:///x/', schedule: 'every 5 minutes' }] }, 'exports[0].schedule: is not a valid cron expression'],
    [{ exports: [{ name: 'A B', destination: 'file:///x/' }] }, 'exports[0].name: must be lowercase'],
    [{ exports: [{ name: 'a', destination: 'file:///x/' }, { name: 'a', destination: 'file:///y/' }] }, 'exports[1].name: "a" is used by two exports'],
    [{ exports: [{ name: 'a', destination: 'file:///x/', maxRowsPerFile: 0 }] }, 'exports[0].maxRowsPerFile'],
    [{ exports: [{ name: 'a', destination: 'file:///x/', raw: 'no' }] }, 'exports[0].raw: Invalid input: expected boolean, received string'],
    [
      { exports: [{ name: 'a', format: 'ndjson', destination: 'file:///x/' }, { name: 'b', format: 'ndjson', destination: 'file:///x/' }] },
      'exports[1].destination: exports "a" and "b" both write file:///x/; give each export its own destination',
    ],
    [
      { exports: [{ name: 'a', destination: 's3://bucket/audit' }, { name: 'b', format: 'csv', destination: 's3://bucket/audit/csv/' }] },
      'exports[1].destination: exports "a" and "b" both write s3://bucket/audit and s3://bucket/audit/csv/, one inside the other',
    ],
    [
      { exports: [{ name: 'a', destination: `file://./rel/` }, { name: 'b', destination: `file://${process.cwd()}/rel/x/` }] },
      'exports[1].destination: exports "a" and "b" both write',
    ],
    [{ writerId: 'has space' }, 'writerId: must be letters'],
    [{ server: { host: '0.0.0.0' } }, 'server.apiKeys: at least one key is required when server.host (0.0.0.0) is not a loopback address'],
    [{ server: { host: '0.0.0.0', apiKeys: ['${NOT_SET:-}'] } }, 'server.apiKeys: at least one key is required'],
    [{ server: { apiKeys: ['${NOT_SET}'] } }, 'server.apiKeys[0]: environment variable NOT_SET is not set'],
    [{ s3: { serverSideEncryption: 'kms' } }, 's3.serverSideEncryption'],
    [{ log: { level: 'loud' } }, 'log.level'],
    [{ ingest: { eventTime: { min: '2000-01-01' } } }, 'ingest.eventTime.min: must be an ISO-8601 timestamp, e.g. 2000-01-01T00:00:00Z'],
    [{ ingest: { eventTime: { min: '2000-02-30T00:00:00Z' } } }, 'ingest.eventTime.min: must be an ISO-8601 timestamp'],
    [{ ingest: { eventTime: { maxAheadMs: -1 } } }, 'ingest.eventTime.maxAheadMs'],
    [{ ingest: { eventTime: { maxAhead: '1 day' } } }, 'ingest.eventTime.maxAhead: unknown key'],
    [
      { sources: { b: { map: { EVENT_ID: { pth: 'id' } } } } },
      'sources.b.map.EVENT_ID: is not a rule (keys: pth); give a JSON path, or an object with path, const, derive, or when and then',
    ],
    [
      { sources: { b: { map: { EVENT_ID: ['id', { derive: 'uuid' }] } } } },
      'sources.b.map.EVENT_ID[1]: derive must be one of contentId, receivedAt, sourceOrg, sourceEventType (got "uuid")',
    ],
    [{ sources: { b: { map: { SERVICE: { const: true } } } } }, 'sources.b.map.SERVICE: const must be a string or a number (got true)'],
    [{ sources: { b: { map: { EVENT_TYPE: { when: { type: 'x' } } } } } }, 'sources.b.map.EVENT_TYPE: when needs then, the value to give (a string)'],
    [{ sources: { b: { map: { ROLE_ID: { path: 'roles', json: 'yes' } } } } }, 'sources.b.map.ROLE_ID: json must be true or false (got "yes")'],
    [{ sources: { b: { map: { EMAIL: { path: 'email', nullif: ['null'] } } } } }, 'sources.b.map.EMAIL: unknown key nullif in a path rule (it takes path, json, capture, map, nullIf)'],
    [{ exports: [{ name: 'a', destination: 'file:///x/', seal: { schedule: 'nightly' } }] }, 'exports[0].seal.schedule: is not a valid cron expression'],
    [{ exports: [{ name: 'a', destination: 'file:///x/', seal: { deleteRow: true } }] }, 'exports[0].seal.deleteRow: unknown key'],
    [{ exports: [{ name: 'a', destination: 'file:///x/', seal: { memoryLimit: 'lots' } }] }, 'exports[0].seal.memoryLimit: must be a size like 512MB or 2GiB'],
    [{ exports: [{ name: 'a', destination: 'file:///x/', seal: { targetFileBytes: 10 } }] }, 'exports[0].seal.targetFileBytes'],
  ])('%j → %s', (raw, message) => {
    expect(() => parse(raw)).toThrow(message);
  });

  it('lists every problem, not just the first', () => {
    expect(() => parse({ server: { port: -1 }, spool: { maxEvents: 0 } })).toThrow(/server\.port: .*; spool\.maxEvents: /);
  });
});

describe('interpolation', () => {
  it.each([
    ['${A}', 'x'],
    ['pre-${A}-post', 'pre-x-post'],
    ['${MISSING:-fallback}', 'fallback'],
    ['${MISSING:-}', ''],
    ['${A:-ignored}', 'x'],
    ['$A and {A}', '$A and {A}'],
    ['${A}${A}', 'xx'],
  ])('%s → %s', (input, output) => {
    expect(interpolate(input, { A: 'x' })).toBe(output);
  });

  it('leaves numbers and booleans alone and walks nested arrays', () => {
    expect(interpolate({ a: [1, '${A}', { b: true }] }, { A: 'x' })).toEqual({ a: [1, 'x', { b: true }] });
  });

  it('keeps a __proto__ key as data, not as the prototype', () => {
    const out = interpolate(JSON.parse('{"__proto__": {"polluted": "yes"}}'), {}) as Record<string, unknown>;
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.keys(out)).toEqual(['__proto__']);
  });
});

describe('loopback', () => {
  it.each([
    ['127.0.0.1', true], ['127.1.2.3', true], ['localhost', true], ['::1', true],
    ['0.0.0.0', false], ['::', false], ['10.0.0.1', false], ['example.com', false],
  ])('%s → %s', (host, expected) => {
    expect(isLoopback(host)).toBe(expected);
  });
});

describe('config files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'logbarge-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads -c before $LOGBARGE_CONFIG', () => {
    const a = join(dir, 'a.json');
    const b = join(dir, 'b.json');
    writeFileSync(a, JSON.stringify({ writerId: 'from-a' }));
    writeFileSync(b, JSON.stringify({ writerId: 'from-b' }));
    expect(loadConfig({ path: a, env: { LOGBARGE_CONFIG: b } }).writerId).toBe('from-a');
    expect(loadConfig({ env: { LOGBARGE_CONFIG: b } }).writerId).toBe('from-b');
  });

  it('reports a missing file and invalid JSON with the path', () => {
    expect(() => loadConfig({ path: join(dir, 'nope.json'), env: {} })).toThrow(/read config .*nope\.json: ENOENT/);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"writerId": ');
    expect(() => loadConfig({ path: bad, env: {} })).toThrow(/bad\.json: not valid JSON/);
  });
});

describe('config schema', () => {
  const dir = mkdtempSync(join(tmpdir(), 'logbarge-config-schema-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('defaults to null (the Airkit schema) and accepts a shipped name or a schema file', () => {
    expect(parse({}).schema).toBeNull();
    expect(parse({ schema: 'okta-security.v1' }).schema).toBe('okta-security.v1');
    const file = join(dir, 'mine.json');
    writeFileSync(file, JSON.stringify({ name: 'mine', version: 1, extends: 'okta-security.v1', columns: [{ name: 'TENANT_REGION', type: 'VARCHAR', required: false, description: 'r' }] }));
    expect(parse({ schema: file }).schema).toBe(file);
  });

  it.each([
    ['an unknown shipped name', () => 'okta-security.v9', 'load config test.json: schema: find schema "okta-security.v9": no shipped schema has that name', /airkit-audit-event\.v1, okta-security\.v1/],
    ['a missing file', () => join(dir, 'missing.json'), `load config test.json: schema: load schema ${join(dir, 'missing.json')}: ENOENT`, /set "schema" to null/],
    [
      'a schema file with a bad column',
      () => {
        const file = join(dir, 'bad.json');
        writeFileSync(file, JSON.stringify({ name: 'bad', version: 1, extends: 'okta-security.v1', columns: [{ name: 'CLIENT_IP', type: 'VARCHAR', required: false, description: 'again' }] }));
        return file;
      },
      'column CLIENT_IP is a column of okta_security, which this schema extends; an extension cannot redefine it',
      /set "schema" to null/,
    ],
    ['an empty string', () => '', 'schema: Too small', /docs\/config\.md/],
  ])('refuses %s naming `schema` (CONFIG_INVALID)', (_what, ref, message, hint) => {
    let caught: unknown;
    try {
      parse({ schema: ref() });
    } catch (err) {
      caught = err;
    }
    expect(isCode(caught, 'CONFIG_INVALID')).toBe(true);
    expect((caught as Error).message).toContain(message);
    expect((caught as LogbargeError).hint).toMatch(hint);
  });
});

describe('config.example.json', () => {
  it('is a valid config once its key variable is set', () => {
    const path = new URL('../../config.example.json', import.meta.url).pathname;
    const c = loadConfig({ path, env: { LOGBARGE_API_KEY: 'secret-key' } });
    expect(c.server.apiKeys).toEqual(['secret-key']);
    expect(c.exports.map((e) => `${e.name}:${e.format}:${e.compression}`)).toEqual(['athena:parquet:zstd', 'snowflake:ndjson:gzip']);
    expect(() => loadConfig({ path, env: {} })).toThrow('server.apiKeys[0]: environment variable LOGBARGE_API_KEY is not set');
  });
});

describe('keepUnsetPlaceholders', () => {
  it('leaves unset ${VAR}s as written instead of refusing the config (ddl prints without secrets)', () => {
    const path = new URL('../../config.example.json', import.meta.url).pathname;
    const c = loadConfig({ path, env: {}, keepUnsetPlaceholders: true });
    expect(c.server.apiKeys).toEqual(['${LOGBARGE_API_KEY}']);
    expect(c.exports[0]?.destination).toBe('s3://audit-bucket/airkit/parquet/');
  });
});
