/**
 * `logbarge validate` throughput (a child process of the bench): an archive of `--objects` small
 * objects (~200 bytes) in 24 hourly digests, written by the digest-archive fixture to a file://
 * destination or to fauxqs (in a child process, so its work does not count as ours), then
 * validated by the real validateArchive (16 reads at once) and, in the same run, by a baseline
 * that lists and then reads and hashes every object one at a time.
 *
 *   node dist/bench/validate.js --store file --objects 10000 --reps 3
 *
 * Prints one JSON line: objects, the seconds of each validate and baseline repetition.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { validateArchive } from '../app/validate.js';
import { openStore } from '../store/open.js';
import type { ObjectStore } from '../store/store.js';
import { buildArchive, writeKeyPair } from './digest-archive.js';
import { startFauxqsChild } from './fauxqs-child.js';

const { values } = parseArgs({ options: { store: { type: 'string', default: 'file' }, objects: { type: 'string', default: '10000' }, reps: { type: 'string', default: '3' } } });
const objects = Number(values.objects);
const reps = Number(values.reps);
/** A day of hourly digests. */
const periods = 24;


/** The baseline: list, then read and hash every data object one after another. */
async function sequentialHash(store: ObjectStore): Promise<number> {
  let n = 0;
  for (const o of await store.list('dt=')) {
    const hash = createHash('sha256');
    await pipeline(await store.getStream(o.key), hash);
    hash.digest('hex');
    n++;
  }
  return n;
}

const dir = mkdtempSync(join(tmpdir(), 'logbarge-validate-bench-'));
const s3 = values.store === 's3' ? await startFauxqsChild('bench') : undefined;
try {
  const destination = s3 ? 's3://bench/archive/' : `file://${dir}/archive/`;
  const store = openStore(
    destination,
    { region: 'us-east-1', endpoint: s3?.endpoint ?? null, forcePathStyle: true, serverSideEncryption: null, kmsKeyId: null, storageClass: null },
    { credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } },
  );
  const keys = writeKeyPair(dir);
  const per = Math.floor(objects / periods);
  const counts = Array.from({ length: periods }, (_, i) => (i === periods - 1 ? objects - per * (periods - 1) : per));
  await buildArchive({ store, privateKey: keys.privateKey, objectsPerPeriod: counts, lastPeriodEndMs: Math.floor(Date.now() / 3_600_000) * 3_600_000, concurrency: 32 });
  const validateSeconds: number[] = [];
  const baselineSeconds: number[] = [];
  for (let r = 0; r < reps; r++) {
    let t = performance.now();
    const result = await validateArchive({ store, publicKey: keys.publicKey });
    validateSeconds.push((performance.now() - t) / 1000);
    if (!result.intact || result.objects !== objects) throw new Error(`bench validate: expected an intact archive of ${objects} objects: ${JSON.stringify(result.problems.slice(0, 3))}`);
    t = performance.now();
    if ((await sequentialHash(store)) !== objects) throw new Error('bench validate: the baseline read another number of objects');
    baselineSeconds.push((performance.now() - t) / 1000);
  }
  store.close();
  process.stdout.write(`${JSON.stringify({ store: values.store, objects, digests: periods, validateSeconds, baselineSeconds })}\n`);
} finally {
  s3?.stop();
  rmSync(dir, { recursive: true, force: true });
}
