/**
 * The proof that the generated DDL matches the files: for every format and compression, under the
 * Airkit schema and under the extended okta-security.v1 (config `schema`), events go through the
 * real pipeline (HTTP → spool → flush → S3 on fauxqs), and the objects are read back with the
 * column types and dialect options parsed from the generated Athena and Snowflake DDL text
 * (test/support/ddl-engines.ts). Every value must round-trip, RAW included (events with chosen raw
 * records are stored straight into the daemon's spool), except the limits the DDL itself
 * documents for CSV. Exports with `"raw": false` are proven without RAW. Mutated DDL must fail
 * the proof.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateAthenaDdl } from '../src/ddl/athena.js';
import { generateSnowflakeDdl } from '../src/ddl/snowflake.js';
import { loadNamedSchema, loadSchema, type Schema } from '../src/schema/schema.js';
import { appendWithRaw, startTestDaemon, tempDir, type TestDaemon } from './support/daemon.js';
import { readAsAthena, readAsSnowflake, type ProofContext } from './support/ddl-engines.js';
import { parseSnowflakeDdl } from './support/ddl-parse.js';
import { canonicalJson, openCsvLine, type Row } from './support/ddl-read.js';
import { byEventId, columnNames, columnNamesOf, rawRecords, rawSamples, sampleAt, samples, type RawSample, type Sample } from './support/events.js';
import { openTestStore, startS3Server, type S3TestServer } from './support/s3.js';

type Engine = 'athena' | 'snowflake';

const exportsUnderTest = [
  { name: 'pq-zstd', format: 'parquet', compression: 'zstd' },
  { name: 'pq-snappy', format: 'parquet', compression: 'snappy' },
  { name: 'pq-gzip', format: 'parquet', compression: 'gzip' },
  { name: 'nd-gzip', format: 'ndjson', compression: 'gzip' },
  { name: 'nd-none', format: 'ndjson', compression: 'none' },
  { name: 'csv-gzip', format: 'csv', compression: 'gzip' },
  { name: 'csv-none', format: 'csv', compression: 'none' },
  { name: 'pq-noraw', format: 'parquet', compression: 'zstd', raw: false },
  { name: 'nd-noraw', format: 'ndjson', compression: 'gzip', raw: false },
  { name: 'csv-noraw', format: 'csv', compression: 'none', raw: false },
];
const csvExports = exportsUnderTest.filter((e) => e.format === 'csv');
const airkit = loadSchema();
/** The extended schema the proof also runs on: the Airkit columns, then okta-security.v1's. */
const okta = loadNamedSchema('okta-security.v1');
const bucket = 'proof-bucket';

/** A value that differs between what was sent and what the DDL reads. */
interface Mismatch {
  readonly id: string;
  readonly column: string;
  readonly expected: unknown;
  readonly got: unknown;
}

/** Objects produced by one daemon run, per export. */
interface Run {
  readonly daemon: TestDaemon;
  /** The schema the daemon ran with (config `schema`). */
  readonly schema: Schema;
  readonly sent: Sample[];
  readonly contexts: Map<string, ProofContext>;
}

/** When the proof's events are sent: what Athena's NOW stands for in the proof. */
const proofNow = Date.now();
const today = new Date(proofNow);
/** The first instant of tomorrow (UTC): accepted, since it is at most a day after any receive time today. */
const tomorrow = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() + 1);

async function produce(server: S3TestServer, root: string, folder: string, exports: typeof exportsUnderTest, sent: Sample[], schema: Schema = airkit): Promise<Run> {
  const daemon = await startTestDaemon(
    {
      schema: schema === airkit ? null : 'okta-security.v1',
      s3: server.s3Config(),
      exports: exports.map((e) => ({ ...e, destination: `s3://${bucket}/${folder}/${e.name}/` })),
    },
    undefined,
    { openStore: (destination, config) => openTestStore(destination, config.s3) },
  );
  const withRaw = sent.filter((s): s is RawSample => 'raw' in s);
  expect((await daemon.post(sent.filter((s) => !('raw' in s)).map((s) => s.sent))).status).toBe(202);
  expect(appendWithRaw(daemon, withRaw)).toBe(withRaw.length);
  const flush = await daemon.request('/v1/flush', { method: 'POST' });
  expect(flush.body.exports.map((r: { error?: string }) => r.error)).toEqual(exports.map(() => undefined));
  const contexts = new Map<string, ProofContext>();
  for (const e of exports) {
    const destination = `s3://${bucket}/${folder}/${e.name}/`;
    const workDir = join(root, folder, e.name);
    mkdirSync(workDir, { recursive: true });
    const store = openTestStore(destination, server.s3Config());
    try {
      const listed = await store.list('');
      const files = await Promise.all(
        listed
          .filter((o) => o.key.startsWith('dt='))
          .map(async (o, i) => {
            const path = join(workDir, `${i}-${o.key.replace(/[^A-Za-z0-9.=-]/g, '_')}`);
            writeFileSync(path, await store.get(o.key));
            return { key: o.key, path };
          }),
      );
      const verifyKeys = listed.filter((o) => o.key.startsWith('_verify/')).map((o) => o.key);
      expect(files.length).toBeGreaterThan(0);
      expect(verifyKeys.length).toBeGreaterThan(0);
      contexts.set(e.name, { destination, files, verifyKeys, workDir, now: proofNow });
    } finally {
      store.close();
    }
  }
  return { daemon, schema, sent, contexts };
}

/** A sample without the values that hold a line break (absent when sent, NULL when read). */
function dropLineBreaks(sample: Sample): Sample {
  const broken = (v: unknown): boolean => typeof v === 'string' && /[\r\n]/.test(v);
  const sent = Object.fromEntries(Object.entries(sample.sent).filter(([, v]) => !broken(v)));
  const expected = Object.fromEntries(Object.entries(sample.expected).map(([k, v]) => [k, broken(v) ? null : v]));
  // RAW, where the sample has one, is the record as sent: without the dropped values.
  if (expected.RAW !== null && expected.RAW !== undefined) expected.RAW = JSON.stringify(sent);
  return { sent, expected };
}

/** The table the generated DDL creates: the schema's name (in capitals for Snowflake), as `logbarge ddl` defaults to. */
function tableOf(engine: Engine, run: Run): string {
  return engine === 'athena' ? run.schema.name : run.schema.name.toUpperCase();
}

function ddlFor(engine: Engine, run: Run, name: string): string {
  const exportConfig = run.daemon.config.exports.find((e) => e.name === name)!;
  return engine === 'athena'
    ? generateAthenaDdl({
        schema: run.schema,
        exportConfig,
        options: { table: tableOf(engine, run), database: 'logbarge', startDate: '2025-01-01', eventTime: run.daemon.config.ingest.eventTime },
      })
    : generateSnowflakeDdl({ schema: run.schema, exportConfig, options: { table: tableOf(engine, run), integration: 'LOGBARGE_S3' } });
}

/** Whether an export writes RAW (`"raw": false` exports do not). */
function writesRaw(name: string): boolean {
  return exportsUnderTest.find((e) => e.name === name)!.raw !== false;
}

/**
 * RAW as read equals RAW as stored: byte for byte for Athena's string; for Snowflake's VARIANT,
 * which holds the parsed value and not the text, value for value (canonicalJson).
 */
function sameRaw(engine: Engine, expected: unknown, got: unknown): boolean {
  if (expected === null || got === null || engine === 'athena') return expected === got;
  return typeof got === 'string' && canonicalJson(got) === canonicalJson(expected as string);
}

/** Reads with the DDL and compares every value with what was sent; throws on missing, extra or misplaced rows. */
async function mismatches(engine: Engine, run: Run, name: string, ddl: string): Promise<Mismatch[]> {
  const ctx = run.contexts.get(name)!;
  const withRaw = writesRaw(name);
  const raw = engine === 'athena' ? await readAsAthena(ddl, ctx) : await readAsSnowflake(ddl, ctx);
  const rows: Row[] = raw.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k === '__dt' ? k : k.toUpperCase(), v])));
  if (rows.length !== run.sent.length) throw new Error(`proof: read ${rows.length} rows, sent ${run.sent.length}`);
  const got = byEventId(rows);
  const out: Mismatch[] = [];
  for (const s of run.sent) {
    const id = s.expected.EVENT_ID as string;
    const row = got.get(id);
    if (!row) throw new Error(`proof: event ${id} was not read back`);
    if (row.__dt !== s.expected.EVENT_DATE) throw new Error(`proof: event ${id} is in dt=${String(row.__dt)}, its EVENT_DATE is ${String(s.expected.EVENT_DATE)}`);
    const names = columnNamesOf(run.schema);
    const columns = names.length + (withRaw ? 1 : 0);
    if (Object.keys(row).length !== columns + 1) throw new Error(`proof: read ${Object.keys(row).length - 1} columns, the export writes ${columns}`);
    for (const column of names) {
      if (row[column] !== s.expected[column]) out.push({ id, column, expected: s.expected[column], got: row[column] });
    }
    if (!withRaw && 'RAW' in row) throw new Error(`proof: export ${name} has "raw": false, but the DDL reads a RAW column`);
    if (withRaw && !sameRaw(engine, s.expected.RAW ?? null, row.RAW ?? null)) out.push({ id, column: 'RAW', expected: s.expected.RAW, got: row.RAW });
  }
  return out;
}

/** The documented CSV limit shared by both engines: a string that is literally \N reads as NULL. */
function literalNullMarkers(run: Run): Mismatch[] {
  return run.sent.flatMap((s) =>
    columnNamesOf(run.schema).filter((c) => s.expected[c] === '\\N').map((column) => ({ id: s.expected.EVENT_ID as string, column, expected: '\\N', got: null })),
  );
}

/** Proves the DDL: nothing but the `allowed` mismatches. */
async function prove(engine: Engine, run: Run, name: string, ddl: string, allowed: Mismatch[] = []): Promise<void> {
  const found = await mismatches(engine, run, name, ddl);
  const key = (m: Mismatch): string => `${m.id}/${m.column}/${JSON.stringify(m.expected)}/${JSON.stringify(m.got)}`;
  const unexpected = found.filter((m) => !allowed.some((a) => key(a) === key(m)));
  const missing = allowed.filter((a) => !found.some((m) => key(a) === key(m)));
  if (unexpected.length > 0 || missing.length > 0) {
    throw new Error(`proof: mismatch: ${unexpected.length} unexpected value(s) ${JSON.stringify(unexpected.slice(0, 3))}; ${missing.length} documented limit(s) not seen`);
  }
}

describe('generated DDL reads the files it describes', () => {
  let server: S3TestServer;
  let main: Run;
  let clean: Run;
  /** The same proof under okta-security.v1, whose extension columns carry values of their own. */
  let oktaMain: Run;
  let oktaClean: Run;
  const work = tempDir('logbarge-ddl-proof-');

  beforeAll(async () => {
    server = await startS3Server();
    await server.createBucket(bucket);
    // One event dated tomorrow: ingest accepts it (ingest.eventTime.maxAheadMs), so the projection must reach it.
    main = await produce(server, work.dir, 'all', exportsUnderTest, [...samples(40), sampleAt(tomorrow, `ahead-${process.pid}`), ...rawSamples(rawRecords, `raw-${process.pid}`)]);
    // Athena's CSV reader is line-based; its proof runs on events without line breaks in values (RAW included).
    const withoutLineBreaks = [...samples(40, `clean-${process.pid}`), ...rawSamples(rawRecords, `clean-raw-${process.pid}`)].filter(
      (s) => !Object.values(s.expected).some((v) => typeof v === 'string' && /[\r\n]/.test(v)),
    );
    clean = await produce(server, work.dir, 'clean', csvExports, withoutLineBreaks);
    oktaMain = await produce(server, work.dir, 'okta', exportsUnderTest, samples(40, `okta-${process.pid}`, okta), okta);
    // Every okta sample has a line break in some column, so here the values holding one are left out instead.
    oktaClean = await produce(server, work.dir, 'okta-clean', csvExports, samples(40, `okta-clean-${process.pid}`, okta).map(dropLineBreaks), okta);
  });
  afterAll(async () => {
    await main?.daemon.stop();
    await clean?.daemon.stop();
    await oktaMain?.daemon.stop();
    await oktaClean?.daemon.stop();
    await server?.stop();
    work.remove();
  });

  it('has samples that exercise the dialect: unicode, commas, quotes, CR / LF / CRLF, NUL, empty vs NULL, a literal \\N', () => {
    const values = main.sent.flatMap((s) => Object.values(s.expected));
    const probes = [
      '日本語 🚀', '\u{1F600}', 'a,b,c', 'say "hi"', 'line1\nline2\r\nline3', 'a\rb', '\r', 'ends with cr\r', '\r\n', 'lone\nlf',
      'nul\u0000byte', '\u0000', 'ls\u2028ps\u2029', ' leading', 'trailing ', '', null, '\\N', '\\',
    ];
    for (const probe of probes) expect(values).toContain(probe);
    // Athena's CSV proof runs on `clean`: NUL and U+2028/U+2029 must reach it too.
    const cleanValues = clean.sent.flatMap((s) => Object.values(s.expected));
    for (const probe of ['nul\u0000byte', 'ls\u2028ps\u2029', '\u{1F600}']) expect(cleanValues).toContain(probe);
    expect(literalNullMarkers(main).length).toBeGreaterThan(0);
    expect(literalNullMarkers(clean).length).toBeGreaterThan(0);
  });

  it('has raw records that exercise RAW: line breaks, escapes, U+2028, emoji, a 64-bit literal, \\N inside; NULL for the rest', () => {
    const raws = main.sent.map((s) => s.expected.RAW);
    for (const raw of rawRecords) expect(raws).toContain(raw);
    expect(raws.filter((r) => r === null).length).toBeGreaterThan(0);
    expect(rawRecords.join()).toMatch(/\r\n[\s\S]*\u2028[\s\S]*🚀[\s\S]*1234567890123456789[\s\S]*\\\\N/);
    // Athena's CSV proof still gets raw records, the ones without line breaks.
    expect(clean.sent.filter((s) => s.expected.RAW !== null).length).toBeGreaterThan(0);
  });

  it.each(exportsUnderTest)('Snowflake: $name ($format, $compression) loads every value as sent', async (e) => {
    await prove('snowflake', main, e.name, ddlFor('snowflake', main, e.name), e.format === 'csv' ? literalNullMarkers(main) : []);
  });

  it.each(exportsUnderTest.filter((e) => e.format !== 'csv'))('Athena: $name ($format, $compression) reads every value as sent', async (e) => {
    await prove('athena', main, e.name, ddlFor('athena', main, e.name));
  });

  it.each(csvExports)('Athena: $name reads every value as sent when no value holds a line break', async (e) => {
    await prove('athena', clean, e.name, ddlFor('athena', clean, e.name), literalNullMarkers(clean));
  });

  it.each(csvExports)('Athena: $name with a line break in a value fails, as the DDL warns', async (e) => {
    const ddl = ddlFor('athena', main, e.name);
    expect(ddl).toContain('a value containing a line break (CR or LF) splits its row');
    // The split rows either misplace values (a mismatch) or put text where the view casts (a conversion error).
    await expect(prove('athena', main, e.name, ddl, literalNullMarkers(main))).rejects.toThrow(/proof: |Conversion Error: Could not convert/);
  });

  it.each(exportsUnderTest)('Snowflake: $name external table declares the target table\'s columns plus DT', (e) => {
    const ddl = parseSnowflakeDdl(ddlFor('snowflake', main, e.name));
    const table = ddl.tables.get('AIRKIT_AUDIT_EVENT')!;
    expect(ddl.externalTables).toHaveLength(1);
    expect(ddl.externalTables[0]!.columns).toEqual([{ name: 'DT', type: 'DATE' }, ...table]);
  });

  it('okta-security.v1: has samples with values in every extension column, line breaks included, and none in the clean run', () => {
    for (const column of columnNamesOf(okta).slice(airkit.columns.length)) {
      expect(oktaMain.sent.some((s) => typeof s.expected[column] === 'string' && s.expected[column] !== '')).toBe(true);
      expect(oktaClean.sent.some((s) => typeof s.expected[column] === 'string' && s.expected[column] !== '')).toBe(true);
    }
    const values = oktaMain.sent.flatMap((s) => columnNamesOf(okta).slice(airkit.columns.length).map((c) => s.expected[c]));
    for (const probe of ['line1\nline2\r\n', 'nul\u0000byte', '\\N', '', null, 'ends with a comma,']) expect(values).toContain(probe);
    expect(literalNullMarkers(oktaClean).length).toBeGreaterThan(0);
  });

  it.each(exportsUnderTest)('okta-security.v1: Snowflake $name ($format, $compression) loads every value as sent', async (e) => {
    await prove('snowflake', oktaMain, e.name, ddlFor('snowflake', oktaMain, e.name), e.format === 'csv' ? literalNullMarkers(oktaMain) : []);
  });

  it.each(exportsUnderTest.filter((e) => e.format !== 'csv'))('okta-security.v1: Athena $name ($format, $compression) reads every value as sent', async (e) => {
    await prove('athena', oktaMain, e.name, ddlFor('athena', oktaMain, e.name));
  });

  it.each(csvExports)('okta-security.v1: Athena $name reads every value as sent when no value holds a line break', async (e) => {
    await prove('athena', oktaClean, e.name, ddlFor('athena', oktaClean, e.name), literalNullMarkers(oktaClean));
  });

  it.each(exportsUnderTest)('okta-security.v1: Snowflake $name external table declares the target table\'s columns, extensions included, plus DT', (e) => {
    const ddl = parseSnowflakeDdl(ddlFor('snowflake', oktaMain, e.name));
    const table = ddl.tables.get('OKTA_SECURITY')!;
    expect(table.map((c) => c.name)).toEqual([...columnNamesOf(okta), ...(writesRaw(e.name) ? ['RAW'] : [])]);
    expect(ddl.externalTables[0]!.columns).toEqual([{ name: 'DT', type: 'DATE' }, ...table]);
  });

  it('ports OpenCSVSerde faithfully on the tricky cases', () => {
    const line = '"a,b","say ""hi""",\\N,"\\N","",x\u0001y,"""",';
    expect(openCsvLine(line, ',', '"', '\u0001', 9)).toEqual(['a,b', 'say "hi"', '\\N', '\\N', '', 'xy', '"', '', null]);
    // With the default escape character a backslash vanishes: the NULL marker reads as "N".
    expect(openCsvLine('\\N,"\\N",a\\b', ',', '"', '\\', 3)).toEqual(['N', 'N', 'ab']);
    expect(openCsvLine('x,"unterminated', ',', '"', '\u0001', 2)).toEqual(['x', null]);
  });

  const mutations: { engine: Engine; name: string; what: string; from: string | RegExp; to: string; reason: RegExp; run?: 'clean' | 'oktaMain' | 'oktaClean' }[] = [
    { engine: 'athena', name: 'pq-zstd', run: 'oktaMain', what: 'an extension column left out', from: /\n {2}`targets` string,/, to: '', reason: new RegExp(`read ${okta.columns.length} columns, the export writes ${okta.columns.length + 1}`) },
    { engine: 'athena', name: 'csv-gzip', run: 'oktaClean', what: 'view without the NULL mapping of an extension column', from: `NULLIF("client_ip", '\\N') AS "client_ip"`, to: '"client_ip" AS "client_ip"', reason: /mismatch/ },
    { engine: 'snowflake', name: 'nd-gzip', run: 'oktaMain', what: 'an extension column declared NUMBER', from: 'CLIENT_IP VARCHAR COMMENT', to: 'CLIENT_IP NUMBER(10,0) COMMENT', reason: /Failed to cast value to numerical|Could not convert string .* to INT64/ },
    { engine: 'athena', name: 'pq-zstd', what: 'int column declared string', from: '`event_year` int', to: '`event_year` string', reason: /event_year is INTEGER in the Parquet file but the DDL declares it as VARCHAR/ },
    { engine: 'athena', name: 'pq-snappy', what: 'timestamp column declared date', from: '`event_time` timestamp', to: '`event_time` date', reason: /event_time is TIMESTAMP_MS .* DATE/ },
    { engine: 'athena', name: 'pq-zstd', what: 'LOCATION elsewhere', from: "LOCATION 's3://proof-bucket/all/pq-zstd/'", to: "LOCATION 's3://proof-bucket/all/'", reason: /LOCATION/ },
    { engine: 'athena', name: 'pq-zstd', what: 'projection starting after old events', from: "'2025-01-01,NOW+1DAYS'", to: "'2026-01-01,NOW+1DAYS'", reason: /before the projected range start/ },
    { engine: 'athena', name: 'nd-gzip', what: 'projection ending today, before an accepted event dated tomorrow', from: "'2025-01-01,NOW+1DAYS'", to: "'2025-01-01,NOW'", reason: /after the projected range end NOW/ },
    { engine: 'athena', name: 'nd-gzip', what: 'int column declared string', from: '`event_year` int', to: '`event_year` string', reason: /mismatch/ },
    { engine: 'athena', name: 'nd-none', what: 'case-sensitive JSON keys', from: "'case.insensitive' = 'true'", to: "'case.insensitive' = 'false'", reason: /EVENT_ID null appears twice/ },
    { engine: 'athena', name: 'csv-gzip', run: 'clean', what: 'view without the NULL mapping of one column', from: `NULLIF("deploy_id", '\\N') AS "deploy_id"`, to: '"deploy_id" AS "deploy_id"', reason: /mismatch/ },
    { engine: 'athena', name: 'csv-none', run: 'clean', what: 'default escape character', from: /, 'escapeChar' = '[^']*'/, to: '', reason: /mismatch/ },
    { engine: 'athena', name: 'csv-gzip', run: 'clean', what: 'typed timestamp in the string table', from: '`event_time` string', to: '`event_time` timestamp', reason: /OpenCSVSerde cannot read/ },
    { engine: 'snowflake', name: 'csv-gzip', what: 'empty fields as NULL', from: '  EMPTY_FIELD_AS_NULL = FALSE\n', to: '', reason: /mismatch/ },
    { engine: 'snowflake', name: 'csv-noraw', what: 'SKIP_HEADER instead of PARSE_HEADER', from: 'PARSE_HEADER = TRUE', to: 'SKIP_HEADER = 1', reason: /PARSE_HEADER/ },
    { engine: 'snowflake', name: 'csv-gzip', what: 'default unenclosed escape', from: '  ESCAPE_UNENCLOSED_FIELD = NONE\n', to: '', reason: /ESCAPE_UNENCLOSED_FIELD/ },
    { engine: 'snowflake', name: 'csv-gzip', what: 'NUMBER column declared VARCHAR', from: 'EVENT_YEAR NUMBER(10,0) COMMENT', to: 'EVENT_YEAR VARCHAR COMMENT', reason: /mismatch/ },
    { engine: 'snowflake', name: 'pq-zstd', what: 'TIMESTAMP_LTZ', from: 'EVENT_TIME TIMESTAMP_NTZ(3) COMMENT', to: 'EVENT_TIME TIMESTAMP_LTZ(3) COMMENT', reason: /TIMESTAMP_LTZ/ },
    { engine: 'snowflake', name: 'pq-gzip', what: 'no USE_LOGICAL_TYPE', from: '  USE_LOGICAL_TYPE = TRUE\n', to: '', reason: /USE_LOGICAL_TYPE/ },
    { engine: 'snowflake', name: 'nd-gzip', what: 'NULL_IF left at its default (\\N)', from: '\n  NULL_IF = ()', to: '', reason: /mismatch/ },
    { engine: 'snowflake', name: 'nd-noraw', what: 'timestamp format without milliseconds', from: "TIMESTAMP_FORMAT = 'YYYY-MM-DD HH24:MI:SS.FF3'", to: "TIMESTAMP_FORMAT = 'YYYY-MM-DD HH24:MI:SS'", reason: /Could not parse string/ },
    { engine: 'snowflake', name: 'nd-none', what: 'COPY timestamp format without milliseconds', from: /(TO_TIMESTAMP_NTZ\(\$1:EVENT_TIME::VARCHAR, 'YYYY-MM-DD HH24:MI:SS)\.FF3'/g, to: "$1'", reason: /Could not parse string/ },
    { engine: 'snowflake', name: 'nd-none', what: 'wrong COMPRESSION', from: 'COMPRESSION = NONE', to: 'COMPRESSION = GZIP', reason: /COMPRESSION = GZIP/ },
    { engine: 'snowflake', name: 'nd-gzip', what: 'PATTERN that takes _verify/', from: /PATTERN = '[^']*'/g, to: "PATTERN = '.*'", reason: /matches verify object/ },
    { engine: 'snowflake', name: 'nd-noraw', what: 'DATE column declared TIMESTAMP_NTZ', from: 'EVENT_DATE DATE COMMENT', to: 'EVENT_DATE TIMESTAMP_NTZ(3) COMMENT', reason: /Could not parse string "2025-12-31"/ },
    // RAW
    { engine: 'athena', name: 'pq-zstd', what: 'raw declared int', from: '`raw` string', to: '`raw` int', reason: /column raw is JSON in the Parquet file but the DDL declares it as INTEGER/ },
    { engine: 'athena', name: 'nd-gzip', what: 'raw declared int', from: '`raw` string', to: '`raw` int', reason: /Failed to cast value to numerical/ },
    { engine: 'athena', name: 'csv-gzip', run: 'clean', what: 'view without the NULL mapping of raw', from: `NULLIF("raw", '\\N') AS "raw"`, to: '"raw" AS "raw"', reason: /mismatch/ },
    { engine: 'snowflake', name: 'nd-gzip', what: 'RAW loaded without PARSE_JSON (a VARIANT string)', from: /PARSE_JSON\((\$1:RAW::VARCHAR)\)/g, to: '$1', reason: /mismatch/ },
    { engine: 'snowflake', name: 'pq-snappy', what: 'RAW loaded without PARSE_JSON (a VARIANT string)', from: /PARSE_JSON\((\$1:RAW::VARCHAR)\)/g, to: '$1', reason: /mismatch/ },
    { engine: 'snowflake', name: 'csv-none', what: 'RAW read from the last schema column', from: new RegExp(`PARSE_JSON\\(\\$${columnNames.length + 1}::VARCHAR\\)`, 'g'), to: `PARSE_JSON($${columnNames.length}::VARCHAR)`, reason: /Malformed JSON|mismatch/ },
    { engine: 'snowflake', name: 'nd-none', what: 'MATCH_BY_COLUMN_NAME beside the transformation', from: /(  FILE_FORMAT = \(FORMAT_NAME = '[^']*'\))\n  PATTERN/g, to: '$1\n  MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE\n  PATTERN', reason: /not supported with a COPY transformation/ },
  ];

  it.each(mutations)('a mutated DDL fails the proof: $engine $name, $what', async (m) => {
    const run = m.run === undefined ? main : { clean, oktaMain, oktaClean }[m.run];
    const ddl = ddlFor(m.engine, run, m.name);
    const mutated = typeof m.from === 'string' ? ddl.replace(m.from, m.to) : ddl.replace(m.from, m.to);
    expect(mutated).not.toBe(ddl);
    const allowed = m.name.startsWith('csv') ? literalNullMarkers(run) : [];
    await expect(prove(m.engine, run, m.name, mutated, allowed)).rejects.toThrow(m.reason);
  });
});
