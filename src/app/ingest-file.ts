/**
 * Loads a file of events (NDJSON, or a JSON object/array) into the spool with the same
 * validation as HTTP, all-or-nothing: pass 1 validates everything and stages the canonical rows
 * in a temp file beside the spool; only if no record is bad, pass 2 appends them in short
 * transactions (so a running daemon is never locked out for long). Re-running after a crash in
 * pass 2 is safe: appends are idempotent on EVENT_ID.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { once } from 'node:events';
import { LogbargeError } from '../errors.js';
import type { Preparer, RecordError } from '../ingest/prepare.js';
import { maxErrors } from '../ingest/prepare.js';
import { parseJson } from '../ingest/decode.js';
import type { Spool, SpoolLimits, SpoolRow } from '../spool/spool.js';
import { privateFileMode } from '../modes.js';
import { claimWorkDir, heartbeatMs } from './workdir.js';

/** Progress of a load, reported every few thousand records. */
export interface IngestProgress {
  readonly phase: 'validate' | 'store';
  readonly records: number;
  readonly bytes: number;
}

/** The outcome of a load. */
export interface IngestFileResult {
  readonly records: number;
  readonly accepted: number;
  readonly duplicates: number;
}

/**
 * Records validated per call of the preparer, and rows per spool transaction in pass 2: 2,000
 * rows keep each hold of the write lock to a few ms, so a running daemon's requests (which wait
 * for the lock asynchronously, see spool/busy.ts) are delayed only briefly.
 */
const validateChunk = 5_000;
const storeChunk = 2_000;

function rejected(errors: RecordError[], count: number): LogbargeError {
  const lines = [...errors].sort((a, b) => a.index - b.index).map((e) => `  record ${e.index}${e.path ? ` (${e.path})` : ''}: ${e.field}: ${e.message}`);
  if (count > errors.length) lines.push(`  … and ${count - errors.length} more`);
  return new LogbargeError('INPUT_REJECTED', `ingest: ${count} problem(s); nothing was stored\n${lines.join('\n')}`);
}

async function* lines(input: Readable): AsyncGenerator<string> {
  const rl = createInterface({ input, crlfDelay: Infinity });
  for await (const line of rl) yield line;
}

/** Validates and stores every record of `input`; throws INPUT_REJECTED (storing nothing) on any bad record. */
export async function ingestFile(options: {
  input: Readable;
  spool: Spool;
  preparer: Preparer;
  limits: SpoolLimits;
  onProgress?: (p: IngestProgress) => void;
  onPrepared?: (prepared: ReturnType<Preparer['prepare']>) => void;
  /** Map records as this source's (its profile and organization). */
  source?: string;
}): Promise<IngestFileResult> {
  const { spool, preparer } = options;
  // Named by a random id with an owner record, so a daemon's sweep removes it only once this process is gone.
  const work = claimWorkDir(dirname(spool.path), '.ingest-');
  const dir = work.path;
  const heartbeat = setInterval(() => work.heartbeat(), heartbeatMs);
  heartbeat.unref();
  const stagedPath = join(dir, 'rows.tsv');
  try {
    // Pass 1: validate, stage canonical rows.
    const staged = createWriteStream(stagedPath, { mode: privateFileMode });
    const errors: RecordError[] = [];
    let errorCount = 0;
    let records = 0;
    let bytes = 0;
    let batch: unknown[] = [];
    let firstLine: string | undefined;
    let wholeFile: string[] | undefined; // set when the input is one JSON document, not NDJSON
    const flushBatch = async (): Promise<void> => {
      if (batch.length === 0) return;
      // A file is all or nothing whatever the source's onInvalid: a bad record is refused with the
      // rest, so the operator fixes the file (nothing is quarantined from it).
      const prepared = preparer.prepare(batch, records - batch.length, options.source === undefined ? {} : { source: options.source });
      if (prepared.quarantined.length > 0) {
        errorCount += prepared.quarantined.length;
        for (const q of prepared.quarantined) {
          for (const e of q.errors) if (errors.length < maxErrors) errors.push({ index: q.index, ...(q.path ? { path: q.path } : {}), ...e });
        }
      }
      batch = [];
      options.onPrepared?.(prepared);
      errorCount += prepared.errorCount;
      for (const e of prepared.errors) if (errors.length < maxErrors) errors.push(e);
      if (errorCount > 0) return;
      let out = '';
      // Tab-separated: the JSON-quoted id and raw record, dt, EVENT_TIME ms and content key never hold a tab, nor does a JSON body.
      for (const row of prepared.rows) {
        out += `${JSON.stringify(row.eventId)}\t${row.dt}\t${row.eventMs}\t${row.content.toString('hex')}\t${JSON.stringify(row.raw)}\t${row.body}\n`;
      }
      if (!staged.write(out)) await once(staged, 'drain');
    };
    for await (const line of lines(options.input)) {
      bytes += line.length + 1;
      if (wholeFile) {
        wholeFile.push(line);
        continue;
      }
      const text = line.trim();
      if (text === '') continue;
      if (firstLine === undefined) {
        firstLine = text;
        if (text.startsWith('[')) {
          wholeFile = [line];
          continue;
        }
      }
      const parsed = parseJson(text);
      if (!parsed.ok) {
        if (records === 0 && text.startsWith('{') && parsed.field === '(body)') {
          // A pretty-printed JSON object: read the whole document instead.
          wholeFile = [line];
          continue;
        }
        await flushBatch(); // keeps record indexes of the batch right
        errorCount++;
        if (errors.length < maxErrors) {
          errors.push({ index: records, field: parsed.field === '(body)' ? '(record)' : parsed.field, message: parsed.message });
        }
        records++;
        continue;
      }
      batch.push(parsed.value);
      records++;
      if (batch.length >= validateChunk) {
        await flushBatch();
        options.onProgress?.({ phase: 'validate', records, bytes });
      }
    }
    if (wholeFile) {
      const parsed = parseJson(wholeFile.join('\n'));
      if (!parsed.ok) {
        throw rejected([{ index: parsed.record, field: parsed.field === '(body)' ? '(file)' : parsed.field, message: parsed.message }], 1);
      }
      const doc = parsed.value;
      for (const record of Array.isArray(doc) ? doc : [doc]) {
        batch.push(record);
        records++;
        if (batch.length >= validateChunk) await flushBatch();
      }
    }
    await flushBatch();
    options.onProgress?.({ phase: 'validate', records, bytes });
    staged.end();
    await once(staged, 'close');
    if (errorCount > 0) throw rejected(errors, errorCount);

    // Pass 2: store in short transactions.
    let accepted = 0;
    let duplicates = 0;
    let chunk: SpoolRow[] = [];
    const store = (): void => {
      if (chunk.length === 0) return;
      const [outcome] = spool.appendGroups([chunk], { now: Date.now(), limits: options.limits });
      if (outcome === 'full' || outcome === undefined) {
        throw new LogbargeError(
          'SPOOL_FULL',
          `ingest: the spool is full after ${accepted} accepted events (of ${records}); the rest was not stored`,
          { hint: 'let exports catch up, or raise spool.maxEvents / spool.maxBytes, then run the same command again (it skips what is stored)' },
        );
      }
      accepted += outcome.accepted;
      duplicates += outcome.duplicates;
      chunk = [];
      options.onProgress?.({ phase: 'store', records: accepted + duplicates, bytes });
    };
    for await (const line of lines(createReadStream(stagedPath))) {
      const a = line.indexOf('\t');
      const b = line.indexOf('\t', a + 1);
      const c = line.indexOf('\t', b + 1);
      const d = line.indexOf('\t', c + 1);
      const e = line.indexOf('\t', d + 1);
      chunk.push({
        eventId: JSON.parse(line.slice(0, a)) as string,
        dt: line.slice(a + 1, b),
        eventMs: Number(line.slice(b + 1, c)),
        content: Buffer.from(line.slice(c + 1, d), 'hex'),
        raw: JSON.parse(line.slice(d + 1, e)) as string | null,
        body: line.slice(e + 1),
      });
      if (chunk.length >= storeChunk) store();
    }
    store();
    return { records, accepted, duplicates };
  } finally {
    clearInterval(heartbeat);
    work.release();
  }
}
