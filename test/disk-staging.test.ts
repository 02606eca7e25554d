/**
 * Staged export files count against spool.minFreeBytes: a staged file that would not fit in the
 * free space fails its batch with the sizes (nothing lost, retried), and while a staged file is
 * reserved, ingest answers 503 disk_low before staging could take the room ingest leaves.
 * Free space is injected (a real statfs cannot be steered in a test); everything else is real.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startDaemon, type Daemon } from '../src/app/daemon.js';
import { createLogger } from '../src/log.js';
import { openStore } from '../src/store/open.js';
import type { ObjectStore } from '../src/store/store.js';
import { event, tempDir, testConfig } from './support/daemon.js';
import { waitFor } from './support/export-check.js';

const minFreeBytes = 1_000_000;
let stop: (() => Promise<void>) | undefined;
afterEach(async () => {
  await stop?.();
  stop = undefined;
});

async function start(free: { bytes: number }, wrap: (s: ObjectStore) => ObjectStore = (s) => s, format = 'ndjson'): Promise<{ daemon: Daemon; post: (n: number) => Promise<{ status: number; text: string }> }> {
  const temp = tempDir('logbarge-staging-');
  const config = testConfig(temp.dir, {
    spool: { minFreeBytes },
    exports: [{ name: 'nd', format, ...(format === 'ndjson' ? { compression: 'gzip' } : {}), schedule: '0 0 1 1 *', destination: `file://${temp.dir}/out/` }],
  });
  const daemon = await startDaemon({ config, logger: createLogger('silent'), freeBytes: async () => free.bytes, openStore: (d) => wrap(openStore(d, config.s3)) });
  stop = async () => {
    await daemon.stop();
    temp.remove();
  };
  const url = `http://127.0.0.1:${daemon.address.port}`;
  return {
    daemon,
    post: async (n) => {
      const res = await fetch(`${url}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(Array.from({ length: n }, () => event({ DESCRIPTION: 'y'.repeat(2000) }))),
      });
      return { status: res.status, text: await res.text() };
    },
  };
}

describe('staging counted against spool.minFreeBytes', () => {
  it('fails a batch whose staged file would not fit, naming the sizes; delivers it once there is room', async () => {
    const free = { bytes: minFreeBytes * 10 };
    const d = await start(free);
    expect((await d.post(50)).status).toBe(202);
    free.bytes = 1_000; // less than the ~25 KB this batch stages (50 × 2 KB, gzip assumed 4×)
    const [failed] = await d.daemon.exporter.flush();
    expect(failed?.error).toMatch(/stage dt=2026-03-14\/.*: needs about \d+ bytes of staging, 1000 free next to the spool/);
    expect(d.daemon.spool.stats().depth).toBe(50);
    free.bytes = minFreeBytes * 10;
    const [ok] = await d.daemon.exporter.flush();
    expect([ok?.error, ok?.rows]).toEqual([undefined, 50]);
  });

  it('reserves a Parquet batch its uncompressed NDJSON staging copy too, not only the Parquet file', async () => {
    const free = { bytes: minFreeBytes * 10 };
    const d = await start(free, undefined, 'parquet');
    expect((await d.post(50)).status).toBe(202);
    const stored = d.daemon.spool.counters().bytes; // ~115 KB: what the encoder first stages as NDJSON
    free.bytes = Math.round(stored * 0.75); // room for the Parquet file (a quarter), not for the copy before it
    const [failed] = await d.daemon.exporter.flush();
    expect(failed?.error).toMatch(/: needs about \d+ bytes of staging/);
    expect(d.daemon.spool.stats().depth).toBe(50);
  });

  it('refuses ingest (503 disk_low) while a reserved staged file would take the room minFreeBytes keeps', async () => {
    const free = { bytes: minFreeBytes + 1 };
    let entered!: () => void;
    const uploading = new Promise<void>((r) => (entered = r));
    let proceed!: () => void;
    const held = new Promise<void>((r) => (proceed = r));
    const d = await start(free, (store) => ({
      ...store,
      putFile: async (key, path, options) => {
        entered();
        await held; // the staged file stays reserved while the upload waits
        return store.putFile(key, path, options);
      },
    }));
    expect((await d.post(200)).status).toBe(202); // room: nothing staged
    const flushing = d.daemon.exporter.flush();
    await uploading;
    expect(d.daemon.exporter.staging.outstanding()).toBeGreaterThan(0);
    const refused = await d.post(1);
    expect(refused.status).toBe(503);
    expect(refused.text).toMatch(/spool\.minFreeBytes \(1000000\) free next to the spool once the \d+ bytes reserved for staged export files are written/);
    proceed();
    const [result] = await flushing;
    expect(result?.rows).toBe(200);
    await waitFor('the reservation to be released', () => d.daemon.exporter.staging.outstanding() === 0);
    expect((await d.post(1)).status).toBe(202);
  });
});
