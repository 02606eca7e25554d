/**
 * The staging ledger with real files: a reservation counts as outstanding only until its files
 * were written, also when a file is deleted again before the reservation ends (the NDJSON copy a
 * Parquet batch stages and DuckDB reads is removed before the upload).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStagingLedger } from './staging.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('staging ledger', () => {
  it('stops counting a file once written, even after it is deleted; refuses what does not fit, naming the total', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'logbarge-ledger-'));
    dirs.push(dir);
    const ledger = createStagingLedger({ dir, freeBytes: async () => 1_000_000 });
    const copy = join(dir, 'batch.ndjson');
    const parquet = join(dir, 'batch');
    const release = await ledger.reserve({ files: [{ path: parquet, bytes: 10_000 }, { path: copy, bytes: 40_000 }], what: 'stage k' });
    expect(ledger.outstanding()).toBe(50_000);
    writeFileSync(copy, Buffer.alloc(40_000));
    expect(ledger.refresh()).toBe(10_000);
    rmSync(copy); // DuckDB has read it: deleted before the upload, its room is free again
    expect(ledger.refresh()).toBe(10_000);
    writeFileSync(parquet, Buffer.alloc(8_000));
    expect(ledger.refresh()).toBe(2_000);
    await expect(ledger.reserve({ files: [{ path: join(dir, 'big'), bytes: 999_000 }], what: 'stage big' })).rejects.toThrow(/stage big: needs about 999000 bytes of staging/);
    release();
    expect(ledger.outstanding()).toBe(0);
  });
});
