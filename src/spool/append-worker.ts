/**
 * The daemon's append worker (a worker thread): holds a second connection to the spool and runs
 * group commit's transactions on it, so inserting a large request's rows, its fsync and the WAL
 * checkpoints that follow commits block this thread, not the daemon's event loop. The spool is
 * opened and migrated by the daemon's own connection first. Messages: see append-thread.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { createAppend } from './append.js';
import { prepareStatements } from './sql.js';
import type { SpoolRow } from './spool.js';
import type { AppendWorkerData, ToWorker, FromWorker } from './append-thread.js';

if (!parentPort) throw new Error('append-worker: not started as a worker thread');
const port = parentPort;
const data = workerData as AppendWorkerData;

function send(message: FromWorker): void {
  port.postMessage(message);
}

function errorOf(err: unknown): { message: string; code?: string } {
  const code = (err as { code?: unknown } | null)?.code;
  return { message: (err as Error)?.message ?? String(err), ...(typeof code === 'string' ? { code } : {}) };
}

/** The connection and its statements, or undefined (reported to the daemon) when it cannot be opened. */
function open() {
  try {
    const db = new Database(data.path, { fileMustExist: true });
    db.pragma(`busy_timeout = ${data.busyTimeoutMs}`);
    db.pragma(`synchronous = ${data.synchronous}`);
    db.pragma('journal_size_limit = 67108864');
    return { db, sql: prepareStatements(db) };
  } catch (err) {
    send({ t: 'failed', error: errorOf(err) });
    port.close(); // the thread ends once the message is out
    return undefined;
  }
}
const opened = open();
if (opened) serve(opened.db, opened.sql);

function serve(db: Database.Database, sql: ReturnType<typeof prepareStatements>): void {
  let legacyIds = sql.legacyAny.get() !== undefined;
  const append = createAppend(db, sql, () => legacyIds);
  // Rows of the next commit, received in chunks (a large request arrives in several messages).
  let staged: SpoolRow[] = [];

  port.on('message', (message: ToWorker) => {
    switch (message.t) {
      case 'rows': {
        const { eventIds, eventMs, dts, bodies, raws, contents } = message;
        const buf = Buffer.from(contents.buffer, contents.byteOffset, contents.byteLength);
        for (let i = 0; i < eventIds.length; i++) {
          staged.push({ eventId: eventIds[i]!, eventMs: eventMs[i]!, dt: dts[i]!, body: bodies[i]!, raw: raws[i] ?? null, content: buf.subarray(i * 16, i * 16 + 16) });
        }
        return;
      }
      case 'commit': {
        const rows = staged;
        staged = [];
        const groups: SpoolRow[][] = [];
        let at = 0;
        for (const size of message.sizes) {
          groups.push(rows.slice(at, at + size));
          at += size;
        }
        const started = performance.now();
        try {
          if (at !== rows.length) throw new Error(`append-worker: commit of ${at} rows, ${rows.length} received`);
          const outcomes = append(groups, message.now, message.limits);
          const s = sql.readStats.get();
          if (legacyIds) legacyIds = sql.legacyAny.get() !== undefined;
          send({ t: 'done', id: message.id, outcomes, counters: { depth: s?.depth ?? 0, bytes: s?.bytes ?? 0, keys: s?.keys ?? 0 }, ms: performance.now() - started });
        } catch (err) {
          send({ t: 'error', id: message.id, error: errorOf(err) });
        }
        return;
      }
      case 'pragma':
        try {
          send({ t: 'pragma', id: message.id, value: db.pragma(message.source, { simple: true }) });
        } catch (err) {
          send({ t: 'error', id: message.id, error: errorOf(err) });
        }
        return;
      case 'close':
        db.close();
        port.close();
        return;
      case 'crash':
        process.exit(70);
    }
  });
  send({ t: 'ready' });
}
