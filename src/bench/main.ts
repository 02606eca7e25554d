/**
 * `npm run bench`: logbarge against its baselines, side by side in one run on this machine.
 * Every measurement runs in its own child process (so peak RSS and CPU are its own), after a
 * warm-up, several times; the table shows medians, the spread (min–max) and the ratio to the
 * baseline measured in the same run. Writes bench/results.json. `--only NAME` runs one section.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchKeys, benchSingle, type Harness } from './ingest-lines.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, reps: { type: 'string' }, only: { type: 'string' } } });
/** `--only NAME` runs one section (ingest, single, keys, spool, export, integrity, responsiveness, loop, sizes, seal, validate, large-rows). */
const only = values.only;
/** Repetitions per measurement (3; `--quick` runs 1 and smaller sizes, for trying the harness). */
const reps = Number(values.reps ?? (values.quick ? 1 : 3));
const scale = values.quick ? 0.1 : 1;

type Json = Record<string, any>;

/** Runs a bench script in a child process and returns its last JSON line. */
function child(script: string, args: string[], env: Record<string, string> = {}): Promise<Json> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--no-warnings', join(here, script), ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    let out = '';
    proc.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    // Children's stderr is passed through, less the load generator's readiness line.
    proc.stderr.setEncoding('utf8').on('data', (c: string) => process.stderr.write(c.replace(/^load: ready\n/gm, '')));
    proc.on('exit', (code) => {
      const line = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0) return reject(new Error(`${script} ${args.join(' ')} exited ${code}: ${out}`));
      try {
        resolve(JSON.parse(line) as Json);
      } catch {
        reject(new Error(`${script}: no JSON result in ${out}`));
      }
    });
  });
}

/** Starts a server child (bare server or logbarge) and returns its events URL and a stop function. */
function server(args: string[], urlFrom: (out: string) => string | undefined, cwd?: string): Promise<{ url: string; stop: () => Promise<void> }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--no-warnings', ...args], { stdio: ['ignore', 'pipe', 'inherit'], cwd });
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 20_000);
    proc.stdout.setEncoding('utf8').on('data', (c: string) => {
      out += c;
      const url = urlFrom(out);
      if (url) {
        clearTimeout(timer);
        resolve({ url, stop: () => new Promise((r) => (proc.on('exit', () => r()), proc.kill('SIGTERM'))) });
      }
    });
  });
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** One line of the results. */
interface Line {
  name: string;
  unit: string;
  logbarge: number;
  baseline: number | null;
  baselineName: string | null;
  ratio: number | null;
  goal: string;
  met: boolean | null;
  spread: { logbarge: [number, number]; baseline: [number, number] | null };
  samples: { logbarge: number[]; baseline: number[] };
  note?: string;
}

const lines: Line[] = [];

function record(
  name: string,
  unit: string,
  ours: number[],
  base: number[] | null,
  baselineName: string | null,
  goal: string,
  check: ((ratio: number, value: number) => boolean) | null,
  note?: string,
): void {
  const logbarge = median(ours);
  const baseline = base ? median(base) : null;
  const ratio = baseline ? logbarge / baseline : null;
  lines.push({
    name,
    unit,
    logbarge,
    baseline,
    baselineName,
    ratio,
    goal,
    met: check ? check(ratio ?? logbarge, logbarge) : null,
    spread: { logbarge: [Math.min(...ours), Math.max(...ours)], baseline: base ? [Math.min(...base), Math.max(...base)] : null },
    samples: { logbarge: ours, baseline: base ?? [] },
    ...(note ? { note } : {}),
  });
  const l = lines.at(-1)!;
  process.stderr.write(`  ${name}: ${fmt(l.logbarge)} ${unit}${l.baseline !== null ? ` vs ${fmt(l.baseline)} → ${l.ratio!.toFixed(2)}` : ''}\n`);
}

function fmt(n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2);
}

async function benchIngest(): Promise<void> {
  process.stderr.write('ingest: 100-event JSON requests, 16 connections, 127.0.0.1\n');
  const requests = String(Math.round(1500 * scale));
  const dir = mkdtempSync(join(tmpdir(), 'logbarge-bench-ingest-'));
  try {
    writeFileSync(
      join(dir, 'config.json'),
      JSON.stringify({
        writerId: 'bench',
        server: { port: 0 },
        spool: { path: join(dir, 'spool.db'), minFreeBytes: 0 },
        exports: [{ name: 'off', destination: `file://${dir}/out/`, schedule: '0 0 1 1 *', maxRowsPerFile: 50_000_000 }],
        log: { level: 'info' },
      }),
    );
    const bare = await server([join(here, 'bare-server.js')], (out) => out.split('\n').find((l) => l.startsWith('http')));
    const ours = await server([join(root, 'dist/cli/main.js'), 'run', '-c', join(dir, 'config.json')], (out) => {
      const m = /"address":"([^"]+)"/.exec(out);
      return m ? `http://${m[1]}/v1/events` : undefined;
    });
    const load = (url: string, seed: string, n = requests, startMs = Date.now()) =>
      child('load.js', ['--url', url, '--requests', n, '--concurrency', '16', '--seed', seed, '--start-ms', String(startMs)]);
    await load(bare.url, 'warm-bare', '200');
    await load(ours.url, 'warm-ours', '200');
    const b: number[] = [];
    const o: number[] = [];
    for (let i = 0; i < reps; i++) {
      // Same seed and start for both: byte-identical requests; a new seed per repetition: new EVENT_IDs.
      const startMs = Date.now();
      b.push((await load(bare.url, `ingest-${i}`, requests, startMs)).eventsPerSecond);
      const r = await load(ours.url, `ingest-${i}`, requests, startMs);
      if (r.statuses['202'] !== Number(requests)) throw new Error(`bench ingest: not every request got 202: ${JSON.stringify(r.statuses)}`);
      o.push(r.eventsPerSecond);
    }
    await bare.stop();
    await ours.stop();
    record('ingest (durable, synchronous=FULL)', 'events/s', o, b, 'bare node:http + JSON.parse, no storage', '≥ 0.5', (r) => r >= 0.5);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function benchSpool(): Promise<void> {
  process.stderr.write('spool: append path vs raw better-sqlite3, same rows and indexes\n');
  const rows = String(Math.round(200_000 * scale));
  await child('spool-bench.js', ['--mode', 'raw', '--rows', String(Math.round(20_000 * scale))]);
  const raw: number[] = [];
  const ours: number[] = [];
  for (let i = 0; i < reps; i++) {
    raw.push((await child('spool-bench.js', ['--mode', 'raw', '--rows', rows, '--seed', `spool-${i}`])).rowsPerSecond);
    ours.push((await child('spool-bench.js', ['--mode', 'thread', '--rows', rows, '--seed', `spool-${i}`])).rowsPerSecond);
  }
  record('spool append, the daemon\'s append worker (10,000 rows in flight; raw: 10,000-row transactions)', 'rows/s', ours, raw, 'raw better-sqlite3 inserts', '≥ 0.8', (r) => r >= 0.8);
}

async function benchExport(): Promise<void> {
  process.stderr.write('export: spool → Parquet (zstd) object on a loopback S3 server\n');
  const sizes = [Math.round(200_000 * scale), Math.round(1_000_000 * scale)];
  await child('export-once.js', ['--rows', String(Math.round(20_000 * scale)), '--format', 'parquet', '--compression', 'zstd']);
  const rss: Record<number, number[]> = {};
  for (const rows of sizes) {
    const n = rows === sizes[0] ? reps : 1; // 1M rows once: it is the slow line
    const ours: number[] = [];
    const delivered: number[] = [];
    const duck: number[] = [];
    const pjs: number[] = [];
    const levers: Json[] = [];
    for (let i = 0; i < n; i++) {
      const r = await child('export-once.js', ['--rows', String(rows), '--format', 'parquet', '--compression', 'zstd']);
      levers.push(r);
      ours.push(r.rowsPerSecond);
      delivered.push(r.deliveredRowsPerSecond);
      (rss[rows] ??= []).push(r.peakRssMB);
      duck.push((await child('duckdb-copy.js', ['--rows', String(rows)])).rowsPerSecond);
    }
    pjs.push((await child('parquetjs.js', ['--rows', String(rows)])).rowsPerSecond);
    const label = `${rows.toLocaleString('en-US')} rows`;
    // The export levers (issue 11): pruning's share of the cycle, staging's share of encoding.
    const share = (f: (r: Json) => number): string => `${Math.round(100 * median(levers.map(f)))}%`;
    const pruneNote = `pruning ${share((r) => r.pruneShare)} of the cycle`;
    const stageNote = `staging NDJSON ${share((r) => r.stageMs / r.encodeMs)} of encoding, DuckDB's COPY ${share((r) => r.copyMs / r.encodeMs)}`;
    record(`export ${label}, cycle with pruning`, 'rows/s', ours, duck, 'DuckDB COPY from an NDJSON file', '≥ 0.5', (r) => r >= 0.5, pruneNote);
    record(`export ${label}, until the last object is committed`, 'rows/s', delivered, duck, 'DuckDB COPY from an NDJSON file', '≥ 0.5', (r) => r >= 0.5, stageNote);
    record(`export ${label} until committed vs parquetjs-lite`, 'rows/s', delivered, pjs, 'parquetjs-lite 0.8.7 writing the same rows to a local file', '≥ 10×', (r) => r >= 10);
  }
  const small = Math.round(100_000 * scale);
  const r100k = await child('export-once.js', ['--rows', String(small), '--format', 'parquet', '--compression', 'zstd']);
  record(
    `memory: peak RSS exporting ${sizes[1]!.toLocaleString('en-US')} vs ${small.toLocaleString('en-US')} rows`,
    'MB',
    rss[sizes[1]!]!,
    [r100k.peakRssMB],
    `peak RSS at ${small.toLocaleString('en-US')} rows`,
    '≤ 1.5',
    (r) => r <= 1.5,
  );
}

async function benchIntegrity(): Promise<void> {
  process.stderr.write('integrity: export with and without digests (SHA-256 of each staged file, a signed digest at the end)\n');
  const rows = String(Math.round(200_000 * scale));
  // Parquet files are read once to hash them; NDJSON is hashed while it is written.
  for (const [format, compression] of [['parquet', 'zstd'], ['ndjson', 'gzip']] as const) {
    const withDigests: number[] = [];
    const without: number[] = [];
    for (let i = 0; i < reps; i++) {
      without.push((await child('export-once.js', ['--rows', rows, '--format', format, '--compression', compression])).rowsPerSecond);
      withDigests.push((await child('export-once.js', ['--rows', rows, '--format', format, '--compression', compression, '--integrity'])).rowsPerSecond);
    }
    record(`export ${Number(rows).toLocaleString('en-US')} rows ${format}/${compression} with integrity vs without`, 'rows/s', withDigests, without, 'the same export without integrity', '≥ 0.9', (r) => r >= 0.9);
  }
}

async function benchResponsiveness(): Promise<void> {
  process.stderr.write('responsiveness: event-loop stalls while exporting under ingest load\n');
  const r = await child('responsiveness.js', ['--rows', String(Math.round(1_000_000 * scale))]);
  record(
    `longest event-loop stall, ${Math.round(1_000_000 * scale).toLocaleString('en-US')}-row export under ingest load`,
    'ms',
    [r.maxStallMs],
    null,
    null,
    '< 100 ms',
    (_r, v) => v < 100,
    `p99 ${r.p99StallMs.toFixed(1)} ms; ingest during the export ${Math.round(r.load?.eventsPerSecond ?? 0)} events/s, all 202`,
  );
}

/** Longest event-loop stalls with 5 MiB NDJSON bodies (src/bench/loop-stall.ts): during a large export, and ingest alone. */
async function benchLoop(): Promise<void> {
  const rows = Math.round(1_000_000 * scale);
  process.stderr.write('loop: event-loop stalls with 5 MiB NDJSON bodies\n');
  const during = await child('loop-stall.js', ['--scenario', 'export', '--rows', String(rows)]);
  record(
    `longest event-loop stall, a 5 MiB NDJSON body every second during the ${rows.toLocaleString('en-US')}-row export`,
    'ms', [during.maxStallMs], null, null, '< 50 ms', (_r, v) => v < 50,
    `p99 ${during.p99StallMs.toFixed(1)} ms; answers ${JSON.stringify(during.bodies?.statuses ?? {})}`,
  );
  for (const [scenario, what] of [
    ['ingest', 'three concurrent 5 MiB NDJSON bodies, stored'],
    ['json', 'three concurrent 5 MiB JSON array bodies, stored'],
    ['parse', 'three concurrent 5 MiB NDJSON bodies, parsed and refused (400)'],
  ] as const) {
    const r = await child('loop-stall.js', ['--scenario', scenario, '--rounds', values.quick ? '2' : '5']);
    record(`longest event-loop stall, ${what}`, 'ms', [r.maxStallMs], null, null, '< 50 ms', (_r, v) => v < 50, `p99 ${r.p99StallMs.toFixed(1)} ms`);
  }
}

async function benchSizes(): Promise<void> {
  process.stderr.write('size: bytes per event in the object store\n');
  const rows = String(Math.round(50_000 * scale)); // bytes per event are stable from here on
  const combos: [string, string][] = [
    ['parquet', 'zstd'], ['parquet', 'snappy'], ['parquet', 'gzip'],
    ['ndjson', 'gzip'], ['ndjson', 'none'], ['csv', 'gzip'], ['csv', 'none'],
  ];
  for (const [format, compression] of combos) {
    const r = await child('export-once.js', ['--rows', rows, '--format', format, '--compression', compression]);
    record(`size ${format}/${compression}`, 'bytes/event', [r.bytes / r.rows], null, null, '(reported)', null, `${Math.round(r.rowsPerSecond).toLocaleString('en-US')} rows/s spool → object`);
  }
  // RAW: the same rows each with a ~900-byte raw record (an Okta event in its EventBridge envelope), and without the column.
  for (const [format, compression, args, what] of [
    ['parquet', 'zstd', ['--raw-every', '1'], 'a raw record on every event'],
    ['ndjson', 'gzip', ['--raw-every', '1'], 'a raw record on every event'],
    ['parquet', 'zstd', ['--no-raw'], '"raw": false'],
  ] as const) {
    const r = await child('export-once.js', ['--rows', rows, '--format', format, '--compression', compression, ...args]);
    record(`size ${format}/${compression}, ${what}`, 'bytes/event', [r.bytes / r.rows], null, null, '(reported)', null, `${Math.round(r.rowsPerSecond).toLocaleString('en-US')} rows/s spool → object`);
  }
}

async function benchSeal(): Promise<void> {
  process.stderr.write('seal: DuckDB queries over one day as 288 × 3 small Parquet files vs the same day sealed\n');
  const rowsPerFile = Math.max(10, Math.round(300 * scale));
  const r = await child('seal-query.js', ['--rows-per-file', String(rowsPerFile), '--reps', String(Math.max(3, reps))]);
  const note = `${r.rows.toLocaleString('en-US')} events in ${r.smallFiles} objects of ${rowsPerFile} rows vs ${r.sealedFiles} sealed file(s) of ${Math.round(r.sealedBytes / 1024).toLocaleString('en-US')} KiB; sealing took ${r.sealSeconds.toFixed(1)} s; local files, warm page cache, a fresh DuckDB per query`;
  for (const [name, runs] of Object.entries(r.queries as Record<string, { small: number[]; sealed: number[] }>)) {
    const ms = (xs: number[]): number[] => xs.map((x) => x * 1000);
    record(`query ${name}: sealed day vs 864 small files`, 'ms', ms(runs.sealed), ms(runs.small), '288 × 3 small Parquet files of the same day', '< 1', (ratio) => ratio < 1, note);
  }
}

async function benchValidate(): Promise<void> {
  process.stderr.write('validate: an archive of 10,000 small objects in 24 digests, file:// and fauxqs\n');
  const objects = Math.max(1000, Math.round(10_000 * scale));
  for (const store of ['file', 's3'] as const) {
    const r = await child('validate.js', ['--store', store, '--objects', String(objects), '--reps', String(reps)]);
    const perSecond = (xs: number[]): number[] => xs.map((x) => objects / x);
    const note = `${objects.toLocaleString('en-US')} objects of ~200 bytes in ${r.digests} digests; validate reads 16 at once${store === 's3' ? '; fauxqs in a child process on 127.0.0.1' : ''}`;
    record(`validate ${store === 's3' ? 'fauxqs' : 'file://'}: objects checked per second`, 'objects/s', perSecond(r.validateSeconds), perSecond(r.baselineSeconds), 'list + read and SHA-256 each object one at a time', '(reported)', null, note);
  }
}

async function benchLargeRows(): Promise<void> {
  process.stderr.write('large rows: NDJSON export of events with ~330 KB raw records (~660 KB JSON-escaped), pages bounded by bytes vs by rows only\n');
  const rows = String(Math.round(900 * scale));
  const args = ['--rows', rows, '--raw-bytes', '330000'];
  const ours = await child('large-rows.js', args);
  const before = await child('large-rows.js', [...args, '--page-bytes', 'inf']);
  const outcome = (r: Json): string => (r.ok ? `delivered ${r.rows} rows` : `failed: ${r.error}`);
  const note = `16 MiB pages: ${outcome(ours)}; 5,000-row pages (before the byte bound): ${outcome(before)}`;
  record(`export ${rows} rows of ~660 KB escaped RAW: delivered`, 'ok', [ours.ok ? 1 : 0], null, null, '1 (the rows-only pages fail)', (_, v) => v === 1, note);
  record(`export ${rows} rows of ~660 KB escaped RAW: peak RSS`, 'MB', [ours.peakRssMB], before.ok ? [before.peakRssMB] : null, before.ok ? '5,000-row pages' : null, '(reported)', null, note);
}

function printTable(): void {
  const rows = lines.map((l) => [
    l.name,
    `${fmt(l.logbarge)} ${l.unit}`,
    l.baseline === null ? '' : `${fmt(l.baseline)}`,
    l.ratio === null ? '' : l.ratio.toFixed(2),
    l.goal,
    l.met === null ? '' : l.met ? 'met' : 'NOT MET',
    `${fmt(l.spread.logbarge[0])}–${fmt(l.spread.logbarge[1])}${l.spread.baseline ? ` / ${fmt(l.spread.baseline[0])}–${fmt(l.spread.baseline[1])}` : ''}`,
  ]);
  const header = ['measurement', 'logbarge (median)', 'baseline', 'ratio', 'goal', '', 'spread min–max (ours / baseline)'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const render = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  process.stdout.write(`\n${render(header)}\n|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|\n${rows.map(render).join('\n')}\n`);
  process.stdout.write('\nBaselines: ');
  process.stdout.write([...new Set(lines.filter((l) => l.baselineName).map((l) => l.baselineName))].join('; '));
  process.stdout.write(`\nRepetitions: ${reps} (1M-row exports and parquetjs-lite: 1); medians shown.\n`);
  const notes = lines.filter((l) => l.note);
  if (notes.length > 0) process.stdout.write(`\nNotes:\n${notes.map((l) => `- ${l.name}: ${l.note}`).join('\n')}\n`);
}

const started = new Date();
const t0 = performance.now();
const harness: Harness = { here, root, reps, scale, child, server, record };
const sections: [string, () => Promise<void>][] = [
  ['ingest', benchIngest],
  ['single', () => benchSingle(harness)],
  ['keys', () => benchKeys(harness)],
  ['spool', benchSpool],
  ['export', benchExport],
  ['integrity', benchIntegrity],
  ['responsiveness', benchResponsiveness],
  ['loop', benchLoop],
  ['sizes', benchSizes],
  ['seal', benchSeal],
  ['validate', benchValidate],
  ['large-rows', benchLargeRows],
];
if (only !== undefined && !sections.some(([name]) => name === only)) throw new Error(`bench: --only ${only}: no such section (${sections.map(([n]) => n).join(', ')})`);
for (const [name, run] of sections) if (only === undefined || only === name) await run();
printTable();
mkdirSync(join(root, 'bench'), { recursive: true });
const results = {
  startedAt: started.toISOString(),
  seconds: Math.round((performance.now() - t0) / 1000),
  machine: { node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown' },
  repetitions: reps,
  quick: values.quick,
  lines,
};
writeFileSync(join(root, 'bench', 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
process.stdout.write(`\nwrote bench/results.json (${results.seconds} s)\n`);
