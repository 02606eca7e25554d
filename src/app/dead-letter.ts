/**
 * Skipping a poison batch (`logbarge exports skip-batch`): its rows are written to a local
 * dead-letter file (gzip NDJSON next to the spool, temp name, fsync, rename), and only once that
 * file is durable is the batch marked done, so the export moves on and nothing is silently lost.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { createGzip } from 'node:zlib';
import { LogbargeError } from '../errors.js';
import { privateDirMode, privateFileMode } from '../modes.js';
import { pausedState, readBatchPage, skipBatch, type BatchRow } from '../spool/exports.js';
import type { Spool } from '../spool/spool.js';

/** Rows read per page while writing a dead-letter file (as the export cycle pages). */
const pageRows = 5_000;
/** Most stored bytes per page, as the export's pages (defaultPageBytes in src/export/cycle.ts). */
const pageBytes = 16 * 1024 * 1024;

/** The folder of an export's dead-letter files: `<spool dir>/dead-letter/<export>/`. */
export function deadLetterDir(spoolPath: string, exportName: string): string {
  return join(dirname(spoolPath), 'dead-letter', exportName);
}

/** What skipPoisonBatch did. */
export interface SkippedBatch {
  readonly batch: BatchRow;
  /** The dead-letter file holding its rows. */
  readonly path: string;
  readonly rows: number;
  /** True when that was the plan's last open batch and the export's cursor moved past the plan. */
  readonly cursorAdvanced: boolean;
}

/**
 * Writes the rows of planned batch `batchId` of `exportName` to a dead-letter file, one JSON
 * object per line (`{"seq", "dt", "object_key", "event", "raw"}`: `event` is the stored row as
 * the export would have written it, `raw` the record as sent or null), then marks the batch
 * skipped. Refuses (USAGE) unless the export is paused (so no attempt is started meanwhile)
 * and the batch is an open batch of that export.
 */
export async function skipPoisonBatch(options: {
  spool: Spool;
  exportName: string;
  batchId: number;
  now: number;
  /** Most stored bytes per page read (tests use small pages); default 16 MiB. */
  pageBytes?: number;
}): Promise<SkippedBatch> {
  const { spool, exportName, batchId } = options;
  if (spool.sql.readCursor.get(exportName) === undefined) throw new LogbargeError('USAGE', `skip batch ${batchId}: no export cursor named ${exportName} in the spool`);
  if (!pausedState(spool, exportName)) {
    throw new LogbargeError('USAGE', `skip batch ${batchId}: export ${exportName} is not paused`, {
      hint: `pause it first (\`logbarge exports pause ${exportName}\`), so no attempt at the batch runs while it is skipped`,
    });
  }
  const batch = spool.sql.readBatch.get(batchId);
  if (batch === undefined || batch.export !== exportName) throw new LogbargeError('USAGE', `skip batch ${batchId}: export ${exportName} has no batch ${batchId}`);
  if (batch.state !== 'planned') throw new LogbargeError('USAGE', `skip batch ${batchId}: it is not open (already ${batch.skipped_at === null ? 'delivered' : `skipped, rows in ${batch.dead_letter}`})`);

  const dir = deadLetterDir(spool.path, exportName);
  await mkdir(dir, { recursive: true, mode: privateDirMode });
  const name = `batch-${batch.id}-${batch.object_key.replace(/[^A-Za-z0-9._=-]+/g, '_')}.ndjson.gz`;
  const path = join(dir, name);
  const temp = join(dir, `.${name}.tmp`);
  let rows = 0;
  try {
    const file = createWriteStream(temp, { mode: privateFileMode });
    const gzip = createGzip();
    gzip.pipe(file);
    const key = JSON.stringify(batch.object_key);
    let after = batch.seq_from - 1;
    for (;;) {
      // Bounded by bytes like the export's pages: a poison batch is often one of large rows.
      const page = readBatchPage(spool, batch, after, pageRows, options.pageBytes ?? pageBytes);
      if (page.length === 0) break;
      let text = '';
      for (const [seq, body, raw] of page) text += `{"seq":${seq},"dt":${JSON.stringify(batch.dt)},"object_key":${key},"event":${body},"raw":${JSON.stringify(raw)}}\n`;
      rows += page.length;
      after = page[page.length - 1]![0];
      if (!gzip.write(text)) await once(gzip, 'drain');
    }
    gzip.end();
    await once(file, 'close');
    if (rows !== batch.row_count) {
      throw new LogbargeError('EXPORT_FAILED', `skip batch ${batchId}: read ${rows} rows from the spool, the plan recorded ${batch.row_count}; nothing skipped`);
    }
    const handle = await open(temp, 'r+');
    await handle.sync().finally(() => handle.close());
    await rename(temp, path);
    const folder = await open(dir, 'r');
    await folder.sync().finally(() => folder.close());
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  const outcome = skipBatch(spool, batch, { deadLetter: path, now: options.now });
  if (!outcome.skipped) throw new LogbargeError('USAGE', `skip batch ${batchId}: it was delivered meanwhile; the dead-letter file ${path} holds a copy of its rows`);
  return { batch, path, rows, cursorAdvanced: outcome.cursorAdvanced };
}
