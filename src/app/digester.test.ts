/**
 * The digest periods on a clock the test moves (real SQLite spool, file store): a scheduled write
 * closes the period that just ended, the first digest of a chain starts at its first object or the
 * start, a drain closes a partial period, and after downtime one digest covers the gap; every
 * object lands in exactly the digest of the period it was delivered in.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../config/load.js';
import { digestKey, parseDigest, verifyDigestSignature, sha256Hex, type SignedDigest } from '../export/digest.js';
import { createLogger } from '../log.js';
import { createMetrics } from '../metrics.js';
import { recordDeliveredObject } from '../spool/digests.js';
import { openSpool, type Spool } from '../spool/spool.js';
import { createFileStore } from '../store/file.js';
import { createDigester } from './digester.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const at = (hhmm: string): number => Date.parse(`2026-12-03T${hhmm}Z`);

describe('digest periods', () => {
  it('align to the period, start a chain at the start, close partial periods at drain and cover downtime with one digest', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'logbarge-digester-'));
    dirs.push(dir);
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const config = parseConfig(
      { exports: [{ name: 'nd', format: 'ndjson', destination: `file://${dir}/out/`, integrity: { privateKeyFile: 'unused', every: '1h' } }] },
      { env: {}, source: 'test' },
    ).exports[0]!;
    const store = createFileStore({ url: config.destination });
    let spool: Spool = openSpool({ path: join(dir, 'spool.db') });
    let clock = at('10:20:00');
    const make = () =>
      createDigester({
        config, spool, writerId: 'w', signingKey: privateKey, periodMs: 3_600_000,
        storeFor: () => store, gate: () => undefined, logger: createLogger('silent'), metrics: createMetrics({ defaultMetrics: false }), now: () => clock,
      });
    let seq = 0;
    const deliver = (key: string, when: string): void => {
      seq++;
      recordDeliveredObject(spool, { export: 'nd', destination: config.destination, key, bytes: 10, sha256: sha256Hex(Buffer.from(key)), rows: 1, dt: '2026-12-03', seqFrom: seq, seqTo: seq, deliveredAt: at(when) });
    };
    const read = (key: string): SignedDigest => {
      const parsed = parseDigest(readFileSync(join(dir, 'out', key)));
      if ('problem' in parsed) throw new Error(parsed.problem);
      expect(verifyDigestSignature(parsed.digest, publicKey)).toBe(true);
      return parsed.digest;
    };
    const key = (hhmmss: string): string => digestKey('w', spool.id, at(hhmmss));

    let digester = make();
    deliver('dt=2026-12-03/a.ndjson.gz', '10:25:00');
    clock = at('10:30:00');
    // The last period end passed (10:00) lies before the chain's start: no digest yet.
    expect(await digester.write('period')).toEqual({ export: 'nd', keys: [] });
    clock = at('11:00:00.040');
    deliver('dt=2026-12-03/b.ndjson.gz', '11:00:00.020'); // after the period end: the next digest's
    expect(await digester.write('period')).toEqual({ export: 'nd', keys: [key('11:00:00')] });
    expect(read(key('11:00:00'))).toMatchObject({ periodStart: '2026-12-03T10:20:00.000Z', periodEnd: '2026-12-03T11:00:00.000Z', previous: null, objects: [{ key: 'dt=2026-12-03/a.ndjson.gz' }] });
    // Asked again in the same period: nothing to close.
    expect((await digester.write('period')).keys).toEqual([]);
    clock = at('11:15:00');
    expect((await digester.write('drain')).keys).toEqual([key('11:15:00')]);
    expect(read(key('11:15:00'))).toMatchObject({ periodStart: '2026-12-03T11:00:00.000Z', periodEnd: '2026-12-03T11:15:00.000Z', objects: [{ key: 'dt=2026-12-03/b.ndjson.gz' }] });
    await digester.close();

    // Delivered, then down until 14:07 (a crash: no drain digest for c).
    deliver('dt=2026-12-03/c.ndjson.gz', '11:20:00');
    spool.close();
    spool = openSpool({ path: join(dir, 'spool.db') });
    clock = at('14:07:00');
    digester = make();
    deliver('dt=2026-12-03/d.ndjson.gz', '14:05:00');
    expect((await digester.write('startup')).keys).toEqual([key('14:00:00')]);
    const gap = read(key('14:00:00'));
    expect(gap).toMatchObject({ periodStart: '2026-12-03T11:15:00.000Z', periodEnd: '2026-12-03T14:00:00.000Z', objects: [{ key: 'dt=2026-12-03/c.ndjson.gz' }] });
    expect(gap.previous).toEqual({ key: key('11:15:00'), sha256: sha256Hex(readFileSync(join(dir, 'out', key('11:15:00')))) });
    clock = at('15:00:00.010');
    expect((await digester.write('period')).keys).toEqual([key('15:00:00')]);
    expect(read(key('15:00:00'))).toMatchObject({ periodStart: '2026-12-03T14:00:00.000Z', objects: [{ key: 'dt=2026-12-03/d.ndjson.gz' }] });
    // An hour without deliveries still gets its digest.
    clock = at('16:00:00.010');
    expect((await digester.write('period')).keys).toEqual([key('16:00:00')]);
    expect(read(key('16:00:00'))).toMatchObject({ periodStart: '2026-12-03T15:00:00.000Z', objects: [] });
    await digester.close();
    // Everything listed is forgotten by the spool; nothing is left unlisted.
    expect(spool.db.prepare('SELECT count(*) FROM delivered_objects').pluck().get()).toBe(0);
    spool.close();
    store.close();
  });
});
