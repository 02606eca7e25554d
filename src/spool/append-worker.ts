/**
 * The daemon's append worker (a worker thread): holds a second connection to the spool and runs
 * group commit's transactions on it, so inserting a large request's rows, its fsync and the WAL
 * checkpoints that follow commits block this thread, not the daemon's event loop; so do the export
 * cycle's prune and shrink transactions. The spool is
 * opened and migrated by the daemon's own connection first. Messages: see append-thread.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { createAppend } from './append.js';
import { pruneAll, pruneStep } from './exports.js';
import { incrementalVacuumStep } from './vacuum.js';
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
  // Rows of each commit not sent whole yet, by commit id (a large request arrives in several messages).
  const staged = new Map<number, SpoolRow[]>();

  port.on('message', (message: ToWorker) => {
    switch (message.t) {
      case 'rows': {
        const { eventIds, eventMs, dts, bodies, raws, contents } = message;
        const buf = Buffer.from(contents.buffer, contents.byteOffset, contents.byteLength);
        let rows = staged.get(message.id);
        if (!rows) staged.set(message.id, (rows = []));
        for (let i = 0; i < eventIds.length; i++) {
          rows.push({ eventId: eventIds[i]!, eventMs: eventMs[i]!, dt: dts[i]!, body: bodies[i]!, raw: raws[i] ?? null, content: buf.subarray(i * 16, i * 16 + 16) });
        }
        return;
      }
      case 'commit': {
        const rows = staged.get(message.id) ?? [];
        staged.delete(message.id);
        const groups: SpoolRow[][] = [];
        let at = 0;
        for (const size of message.sizes) {
          groups.push(rows.slice(at, at + size));
          at += size;
        }
        const started = performance.now();
        let appended;
        try {
          if (at !== rows.length) throw new Error(`append-worker: commit ${message.id} of ${at} rows, ${rows.length} received`);
          appended = append(groups, message.now, message.limits);
        } catch (err) {
          send({ t: 'error', id: message.id, error: errorOf(err) });
          return;
        }
        // Committed: from here on the answer is 'done' (nothing after the commit may turn it into a failure).
        send({ t: 'done', id: message.id, outcomes: appended.outcomes, counters: appended.counters, ms: performance.now() - started });
        if (legacyIds) {
          try {
            legacyIds = sql.legacyAny.get() !== undefined;
          } catch {
            // Stays true: a lookup more per row, never a wrong answer.
          }
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
      case 'probe':
        try {
          sql.writeProbe.run(new Date(message.now).toISOString());
          send({ t: 'pragma', id: message.id, value: null });
        } catch (err) {
          send({ t: 'error', id: message.id, error: errorOf(err) });
        }
        return;
      case 'pruneStep':
      case 'pruneAll':
      case 'reclaimStep':
        try {
          const value =
            message.t === 'pruneStep'
              ? pruneStep({ db, sql }, message.floor, message.chunk)
              : message.t === 'pruneAll'
                ? pruneAll({ db, sql }, message.floor, message.maxRows, message.maxBytes)
                : incrementalVacuumStep(db, message.pages);
          send({ t: 'pragma', id: message.id, value: value ?? null });
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
