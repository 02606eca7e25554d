/**
 * Group commit's transactions on a worker thread (append-worker.ts), for the daemon: the event
 * loop only copies each commit's rows to the worker and waits for its answer, so a 5 MiB request
 * (about 14,000 rows, a few hundred ms of inserts and fsync) no longer blocks every other request,
 * /metrics and the export cycle while it is written. Same outcomes and errors as
 * Spool.appendGroups; SQLITE_BUSY keeps its code, so group commit retries it as before.
 */
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { AppendOutcome, SpoolCounters, SpoolLimits, SpoolRow } from './spool.js';

/** What the worker is started with. */
export interface AppendWorkerData {
  readonly path: string;
  readonly synchronous: 'FULL' | 'NORMAL';
  /** SQLite's busy timeout on the worker's connection, in ms (it sleeps the worker, not the loop). */
  readonly busyTimeoutMs: number;
}

/** Messages to the worker: a commit's rows in chunks (under its id), then the commit that takes them. */
export type ToWorker =
  | {
      readonly t: 'rows';
      /** The commit these rows belong to. */
      readonly id: number;
      readonly eventIds: string[];
      readonly eventMs: number[];
      readonly dts: string[];
      readonly bodies: string[];
      readonly raws: (string | null)[];
      /** 16 bytes per row: the content keys, back to back. */
      readonly contents: Uint8Array;
    }
  | { readonly t: 'commit'; readonly id: number; readonly sizes: number[]; readonly now: number; readonly limits: SpoolLimits }
  | { readonly t: 'pragma'; readonly id: number; readonly source: string }
  | { readonly t: 'probe'; readonly id: number; readonly now: number }
  | { readonly t: 'pruneStep'; readonly id: number; readonly floor: number; readonly chunk: number }
  | { readonly t: 'pruneAll'; readonly id: number; readonly floor: number; readonly maxRows: number; readonly maxBytes: number }
  | { readonly t: 'reclaimStep'; readonly id: number; readonly pages: number }
  | { readonly t: 'close' }
  | { readonly t: 'crash' };

/** Messages from the worker. */
export type FromWorker =
  | { readonly t: 'ready' }
  | { readonly t: 'failed'; readonly error: WorkerError }
  | { readonly t: 'done'; readonly id: number; readonly outcomes: (AppendOutcome | 'full')[]; readonly counters: SpoolCounters; readonly ms: number }
  | { readonly t: 'error'; readonly id: number; readonly error: WorkerError }
  /** The value of a pragma, probe or prune request (null for undefined). */
  | { readonly t: 'pragma'; readonly id: number; readonly value: unknown };

interface WorkerError {
  readonly message: string;
  readonly code?: string;
}

/** What one commit on the worker achieved. */
export interface ThreadedAppendResult {
  readonly outcomes: (AppendOutcome | 'full')[];
  /** Spool counters read in the worker right after the commit. */
  readonly counters: SpoolCounters;
}

/** Appends on a worker thread. */
export interface AppendThread {
  /** Appends groups in one transaction on the worker; rejects with the worker's error (its code kept). */
  appendGroups(groups: readonly (readonly SpoolRow[])[], options: { now: number; limits: SpoolLimits }): Promise<ThreadedAppendResult>;
  /** Closes the worker's connection and ends the thread (after the commit in flight, if any). */
  close(): Promise<void>;
  /**
   * Tests: the worker exits (code 70) just before it reads the next commit, as an uncaught error
   * would end it; that commit fails, and the one after it starts a new worker. (Worker.terminate
   * is not used: terminating a thread inside better-sqlite3 can abort the whole process.)
   */
  simulateCrash(): void;
  /**
   * Runs `PRAGMA <source>` on the worker's connection and resolves with its simple value (tests
   * and diagnostics: a per-connection setting such as max_page_count, which tests use to make
   * the disk look full, must be set on the connection that appends).
   */
  pragma(source: string): Promise<unknown>;
  /**
   * Commits a one-row write on the worker's connection (Spool.probeWrite there): whether the
   * connection that appends can write again after a failure. Rejects as the write failed.
   */
  probeWrite(now: number): Promise<void>;
  /** pruneStep (exports.ts) on the worker's connection: the export cycle's prune, off the event loop. */
  pruneStep(floor: number, chunk: number): Promise<number>;
  /** pruneAll (exports.ts) on the worker's connection; undefined when it does not apply. */
  pruneAll(floor: number, maxRows: number, maxBytes: number): Promise<number | undefined>;
  /** One incremental vacuum step (vacuum.ts) on the worker's connection; resolves with the free pages left. */
  reclaimStep(pages: number): Promise<number>;
}

/** Rows per message: keeps each structured clone on the event loop to a few ms. */
const rowsPerMessage = 1_000;

/**
 * The worker's script. Under the test runner this module is TypeScript source, which a worker
 * thread cannot load, so the compiled copy in dist/ is used (`npm test` compiles first), and only
 * when it is not older than the source.
 */
function workerScript(): URL {
  const beside = new URL('./append-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(beside))) return beside;
  const compiled = new URL('../../dist/spool/append-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(compiled))) {
    // The worker's code, compiled: refuse a copy older than its source, which would test stale code.
    for (const name of ['append-worker', 'append', 'sql', 'spool', 'exports', 'digests', 'busy', 'vacuum']) {
      const source = fileURLToPath(new URL(`./${name}.ts`, import.meta.url));
      const built = fileURLToPath(new URL(`../../dist/spool/${name}.js`, import.meta.url));
      if (existsSync(source) && (!existsSync(built) || statSync(built).mtimeMs < statSync(source).mtimeMs)) {
        throw new Error(`append worker: ${built} is older than ${source}; run \`npm run build\` (npm test does)`);
      }
    }
    return compiled;
  }
  throw new Error(`append worker: neither ${fileURLToPath(beside)} nor ${fileURLToPath(compiled)} exists (run \`npm run build\`)`);
}

function toError(error: WorkerError): Error {
  return Object.assign(new Error(error.message), error.code === undefined ? {} : { code: error.code });
}

interface Running {
  readonly worker: Worker;
  /** Requests sent and not answered yet: a commit resolves with its ThreadedAppendResult, any other request with its value. */
  readonly pending: Map<number, { resolve: (value: unknown) => void; reject: (err: unknown) => void }>;
  /** Set once the thread ended (crashed, or closed). */
  exited?: Error;
  readonly ended: Promise<void>;
}

/** Starts one worker and resolves once its connection is open. */
async function spawn(data: AppendWorkerData): Promise<Running> {
  const worker = new Worker(workerScript(), { workerData: data });
  const pending: Running['pending'] = new Map();
  let ended!: () => void;
  const running: Running = { worker, pending, ended: new Promise<void>((resolve) => (ended = resolve)) };
  const fail = (err: Error) => {
    running.exited ??= err;
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  worker.on('error', (err) => fail(err));
  worker.once('exit', (code) => {
    fail(Object.assign(new Error(`append worker exited (code ${code})`), { code: 'APPEND_WORKER_EXITED' }));
    ended();
  });
  await new Promise<void>((resolve, reject) => {
    worker.once('message', (m: FromWorker) => {
      if (m.t === 'ready') resolve();
      else if (m.t === 'failed') reject(toError({ ...m.error, message: `open spool ${data.path} in the append worker: ${m.error.message}` }));
      else reject(new Error(`append worker: unexpected first message ${m.t}`));
    });
    void running.ended.then(() => reject(running.exited));
  });
  // Referenced only while something waits on it: an idle worker does not keep the process alive.
  worker.unref();
  worker.on('message', (m: FromWorker) => {
    if (m.t !== 'done' && m.t !== 'error' && m.t !== 'pragma') return;
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (pending.size === 0) worker.unref();
    if (m.t === 'error') p.reject(toError(m.error));
    else p.resolve(m.t === 'done' ? ({ outcomes: m.outcomes, counters: m.counters } satisfies ThreadedAppendResult) : m.value);
  });
  return running;
}

/**
 * Starts the append worker on the (already opened and migrated) spool at `path`; resolves once
 * its connection is open. A worker that dies fails the commit in flight (its requests get 503;
 * had SQLite committed it just before, the senders' retries are answered as duplicates), and the
 * next commit starts a new worker.
 */
export async function startAppendThread(data: AppendWorkerData): Promise<AppendThread> {
  let current: Promise<Running> = spawn(data);
  await current;
  let closed = false;
  let crashNext = false;
  let nextId = 1;

  /** The live worker, started again when the last one died (once, however many callers find it dead). */
  async function live(): Promise<Running> {
    const seen = current;
    const running = await seen.catch(() => undefined);
    if (running && !running.exited) return running;
    if (current === seen) current = spawn(data);
    return current;
  }

  /** Thrown by a call after close(): its code tells a caller the worker is gone (workerPruner falls back). */
  const closedError = () => Object.assign(new Error('append worker: closed'), { code: 'APPEND_WORKER_CLOSED' });

  /** Sends a one-message request (pragma, probe, prune, shrink step) and resolves with the worker's value. */
  async function request(message: (id: number) => ToWorker): Promise<unknown> {
    if (closed) throw closedError();
    const running = await live();
    // close() may have posted 'close' while this waited: the worker would drop the request.
    if (closed) throw closedError();
    const id = nextId++;
    return new Promise<unknown>((resolve, reject) => {
      running.pending.set(id, { resolve, reject });
      running.worker.ref();
      running.worker.postMessage(message(id));
    });
  }

  return {
    async appendGroups(groups, { now, limits }) {
      if (closed) throw closedError();
      const running = await live();
      if (closed) throw closedError();
      // Every message of this commit carries its id, so the worker never mixes two commits' rows
      // (group commit has one in flight at a time; this keeps it right if two ever overlap).
      const id = nextId++;
      const rows: SpoolRow[] = groups.length === 1 ? (groups[0] as SpoolRow[]) : groups.flat();
      for (let at = 0; at < rows.length; at += rowsPerMessage) {
        // Between two chunks of one large commit, the loop runs (only one commit is in flight).
        if (at > 0) await new Promise((resolve) => setImmediate(resolve));
        if (running.exited) throw running.exited;
        const chunk = rows.slice(at, at + rowsPerMessage);
        const contents = new Uint8Array(chunk.length * 16);
        chunk.forEach((row, i) => contents.set(row.content, i * 16));
        const message: ToWorker = {
          t: 'rows',
          id,
          eventIds: chunk.map((r) => r.eventId),
          eventMs: chunk.map((r) => r.eventMs),
          dts: chunk.map((r) => r.dt),
          bodies: chunk.map((r) => r.body),
          raws: chunk.map((r) => r.raw),
          contents,
        };
        running.worker.postMessage(message, [contents.buffer]);
      }
      if (running.exited) throw running.exited;
      return new Promise<ThreadedAppendResult>((resolve, reject) => {
        running.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
        running.worker.ref();
        if (crashNext) {
          crashNext = false;
          running.worker.postMessage({ t: 'crash' } satisfies ToWorker);
        }
        const message: ToWorker = { t: 'commit', id, sizes: groups.map((g) => g.length), now, limits };
        running.worker.postMessage(message);
      });
    },
    async pragma(source) {
      return request((id) => ({ t: 'pragma', id, source }));
    },
    async probeWrite(now) {
      await request((id) => ({ t: 'probe', id, now }));
    },
    async pruneStep(floor, chunk) {
      return (await request((id) => ({ t: 'pruneStep', id, floor, chunk }))) as number;
    },
    async reclaimStep(pages) {
      return (await request((id) => ({ t: 'reclaimStep', id, pages }))) as number;
    },
    async pruneAll(floor, maxRows, maxBytes) {
      return ((await request((id) => ({ t: 'pruneAll', id, floor, maxRows, maxBytes }))) as number | null) ?? undefined;
    },
    simulateCrash() {
      crashNext = true;
    },
    async close() {
      closed = true;
      const running = await current.catch(() => undefined);
      if (!running || running.exited) return;
      running.worker.ref();
      running.worker.postMessage({ t: 'close' } satisfies ToWorker);
      await running.ended;
    },
  };
}
