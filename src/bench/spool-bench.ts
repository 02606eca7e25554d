/**
 * Spool append rate (a child process of the bench): logbarge's append path (group commit,
 * 100-row groups, idempotency, counters) against raw better-sqlite3 inserting the same rows into
 * the same tables and indexes in 10,000-row transactions (the spool: incremental auto-vacuum and
 * group commits of at most 10,000 rows on the worker, 2,000 on the spool's connection; raw: no
 * auto-vacuum). Both synchronous=FULL, WAL.
 *   --mode thread     the daemon's path: group commit on the append worker thread
 *   --mode logbarge   group commit on the spool's own connection (`logbarge ingest`)
 *   --mode raw        the baseline
 *   --max-rows N      group commit's row cap (and N KiB as its byte cap), to measure other caps
 *
 *   node dist/bench/spool-bench.js --mode thread|logbarge|raw --rows 200000
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { createPreparer } from '../ingest/prepare.js';
import { defaultEventTime } from '../config/schema.js';
import { loadSchema } from '../schema/schema.js';
import { createGroupCommitter } from '../spool/group-commit.js';
import { startAppendThread } from '../spool/append-thread.js';
import { migrate } from '../spool/migrate.js';
import { idHash, openSpool, type SpoolRow } from '../spool/spool.js';
import { benchEvents } from './fixtures.js';

const { values } = parseArgs({ options: { mode: { type: 'string' }, 'max-rows': { type: 'string' }, rows: { type: 'string', default: '200000' }, seed: { type: 'string', default: 'spool' } } });
const rows = Number(values.rows);
const dir = mkdtempSync(join(tmpdir(), 'logbarge-spoolbench-'));
const path = join(dir, 'spool.db');

const preparer = createPreparer(loadSchema(), { strictEventTypes: false, unknownFields: 'drop', maxStringLength: 4096, organizationId: null, eventTime: defaultEventTime });
const data: SpoolRow[] = [];
for (let i = 0; i < rows; i += 10_000) data.push(...preparer.prepare(benchEvents(Math.min(10_000, rows - i), i, values.seed)).rows);

async function logbarge(threaded: boolean): Promise<number> {
  const spool = openSpool({ path, synchronous: 'FULL' });
  const limits = { maxEvents: 1e9, maxBytes: 1e13 };
  const thread = threaded ? await startAppendThread({ path, synchronous: 'FULL', busyTimeoutMs: 1000 }) : undefined;
  const caps = values['max-rows'] === undefined ? {} : { maxRowsPerTransaction: Number(values['max-rows']), maxBytesPerTransaction: Number(values['max-rows']) * 1024 };
  const committer = thread ? createGroupCommitter({ thread, limits, ...caps }) : createGroupCommitter({ spool, limits, ...caps });
  const started = performance.now();
  // 100 requests of 100 rows in flight at once, like 100 concurrent POSTs: the group committer
  // stores them in transactions of at most 10,000 rows on the worker (raw: 10,000 too), 2,000 on
  // the spool's own connection.
  for (let i = 0; i < data.length; i += 10_000) {
    const groups: Promise<unknown>[] = [];
    for (let j = i; j < Math.min(i + 10_000, data.length); j += 100) groups.push(committer.append(data.slice(j, j + 100)));
    await Promise.all(groups);
  }
  const seconds = (performance.now() - started) / 1000;
  await thread?.close();
  spool.close();
  return seconds;
}

function raw(): number {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  migrate(db); // the same tables and indexes as the spool
  const key = db.prepare('INSERT INTO event_keys (seq, event_ms, id_hash, content) VALUES (?, ?, ?, ?)');
  const ev = db.prepare('INSERT INTO events (dt, received_at, body) VALUES (?, ?, ?)');
  const insert = db.transaction((chunk: SpoolRow[], now: number) => {
    for (const r of chunk) {
      const seq = ev.run(r.dt, now, r.body).lastInsertRowid;
      key.run(seq, r.eventMs, idHash(r.eventId), r.content);
    }
  });
  const started = performance.now();
  for (let i = 0; i < data.length; i += 10_000) insert(data.slice(i, i + 10_000), Date.now());
  const seconds = (performance.now() - started) / 1000;
  db.close();
  return seconds;
}

try {
  if (!['raw', 'logbarge', 'thread'].includes(values.mode ?? '')) throw new Error(`spool-bench: --mode ${values.mode}: expected thread, logbarge or raw`);
  const seconds = values.mode === 'raw' ? raw() : await logbarge(values.mode === 'thread');
  process.stdout.write(`${JSON.stringify({ mode: values.mode, rows, seconds, rowsPerSecond: rows / seconds })}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
