/**
 * `logbarge validate` against real stores: the file backend in a temp directory and fauxqs on
 * 127.0.0.1. A small fixture writes an archive the way the digest writer lays it out (signed,
 * chained digests from src/export/digest.ts); each tampering case changes one thing and expects
 * problems naming exactly that key. The tamper matrix runs in-process (validateArchive) on both
 * backends; the CLI runs as a real process for exit codes, -c, the standalone read-only form and
 * usage errors.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { KeyObject } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateArchive, type ValidateResult } from '../src/app/validate.js';
import { recordBytes, sealRecordFormat, type SealRecord } from '../src/seal/record.js';
import { sha256Hex } from '../src/export/digest.js';
import { createFileStore } from '../src/store/file.js';
import type { ObjectStore } from '../src/store/store.js';
import { tempDir } from './support/daemon.js';
import { buildArchive, writeKeyPair, type Archive } from '../src/bench/digest-archive.js';
import { runCliAsync } from './support/export-check.js';
import { writeConfig } from './support/process.js';
import { startS3Proxy, s3Error, type S3Proxy } from './support/s3-proxy.js';
import { openTestStore, startS3Server, testCredentialEnv, type S3TestServer } from './support/s3.js';

const hour = 3_600_000;
/** The last period ended at the start of this hour: objects written now are newer than the last digest. */
const lastPeriodEndMs = Math.floor(Date.now() / hour) * hour;
/** 4 periods, one of them empty: 7 objects, 4 digests. */
const periods = [2, 0, 3, 2] as const;

const work = tempDir('logbarge-validate-');
const keys = writeKeyPair(work.dir);
const otherKeys = writeKeyPair(work.dir, 'other');
afterAll(() => work.remove());

/** A fresh, empty destination of one backend. */
type MakeStore = () => { store: ObjectStore; destination: string };

/** Builds the standard archive into a fresh destination. */
async function freshArchive(make: MakeStore): Promise<{ store: ObjectStore; destination: string; archive: Archive }> {
  const { store, destination } = make();
  const archive = await buildArchive({ store, privateKey: keys.privateKey, objectsPerPeriod: periods, lastPeriodEndMs });
  return { store, destination, archive };
}

/** Validates in-process with the archive's public key (or `publicKey`). */
function validate(store: ObjectStore, publicKey: KeyObject = keys.publicKey): Promise<ValidateResult> {
  return validateArchive({ store, publicKey });
}

/** Expects problems, every one naming `key`, of the given kinds (in any order, each at least once). */
function expectOnly(result: ValidateResult, key: string, kinds: string[]): void {
  expect(result.intact).toBe(false);
  expect(result.problems.map((p) => p.key)).toEqual(result.problems.map(() => key));
  expect([...new Set(result.problems.map((p) => p.kind))].sort()).toEqual([...kinds].sort());
}

/** The tamper matrix on one backend. */
function tamperCases(name: string, make: () => MakeStore): void {
  describe(`validate on ${name}`, () => {
    it('an intact archive validates: every digest and listed object checked, nothing pending', async () => {
      const { store } = await freshArchive(make());
      const result = await validate(store);
      expect(result.problems).toEqual([]);
      expect(result).toMatchObject({ intact: true, digests: 4, chains: 1, objects: 7, pending: [], sealedDeleted: [] });
    });

    it('one changed byte of one object is reported as modified, naming that object only', async () => {
      const { store, archive } = await freshArchive(make());
      const key = archive.objects[2]![1]!;
      const bytes = Buffer.from(await store.get(key));
      bytes[5] = bytes[5]! ^ 0x01;
      await store.putBytes(key, bytes, { contentType: 'application/x-ndjson' });
      expectOnly(await validate(store), key, ['object_modified']);
    });

    it('a deleted object is reported as missing', async () => {
      const { store, archive } = await freshArchive(make());
      const key = archive.objects[0]![0]!;
      await store.delete(key);
      expectOnly(await validate(store), key, ['object_missing']);
    });

    it('an object added under dt= that no digest lists is reported as unlisted', async () => {
      const { store, archive } = await freshArchive(make());
      // Named like the writer's own objects, with sequence numbers inside the listed range.
      const key = `dt=2026-03-14/${archive.writer}-${archive.spool}-000000000004-000000000004.ndjson`;
      await store.putBytes(key, Buffer.from('{"EVENT_ID":"forged"}\n'), { contentType: 'application/x-ndjson' });
      expectOnly(await validate(store), key, ['unlisted']);
      const stray = 'dt=2026-03-15/extra.parquet';
      await store.putBytes(stray, Buffer.from('PAR1'), { contentType: 'application/vnd.apache.parquet' });
      expect((await validate(store)).problems.map((p) => [p.kind, p.key])).toEqual([
        ['unlisted', key],
        ['unlisted', stray],
      ]);
    });

    it('an object newer than the last digest is pending, not a problem', async () => {
      const { store, archive } = await freshArchive(make());
      const key = `dt=2026-03-14/${archive.writer}-${archive.spool}-${String(archive.lastSeq + 1).padStart(12, '0')}-${String(archive.lastSeq + 2).padStart(12, '0')}.ndjson`;
      await store.putBytes(key, Buffer.from('{"EVENT_ID":"next"}\n'), { contentType: 'application/x-ndjson' });
      const result = await validate(store);
      expect(result.problems).toEqual([]);
      expect(result.pending.map((p) => p.key)).toEqual([key]);
    });

    it('a deleted digest is a broken link naming the missing digest (its objects are reported with it)', async () => {
      const { store, archive } = await freshArchive(make());
      const key = archive.digests[2]!; // lists 3 objects
      await store.delete(key);
      const result = await validate(store);
      expectOnly(result, key, ['digest_missing']);
      for (const object of archive.objects[2]!) expect(result.problems[0]!.message).toContain(object);
    });

    it('a deleted first digest is reported too', async () => {
      const { store, archive } = await freshArchive(make());
      await store.delete(archive.digests[1]!); // empty period: no objects go unlisted
      expectOnly(await validate(store), archive.digests[1]!, ['digest_missing']);
      const again = await freshArchive(make());
      await again.store.delete(again.archive.digests[0]!);
      const result = await validate(again.store);
      expectOnly(result, again.archive.digests[0]!, ['digest_missing']);
    });

    it('an edited digest breaks its signature (and the next link), naming that digest', async () => {
      const { store, archive } = await freshArchive(make());
      const key = archive.digests[2]!;
      const text = (await store.get(key)).toString('utf8');
      await store.putBytes(key, Buffer.from(text.replace('"rows":', '"rows":1')), { contentType: 'application/json' });
      expectOnly(await validate(store), key, ['signature_invalid', 'chain_broken']);
      // The last digest has no next link: the signature alone tells.
      const last = archive.digests[3]!;
      const lastText = (await store.get(last)).toString('utf8');
      await store.putBytes(last, Buffer.from(lastText.replace('"export":"audit"', '"export":"other"')), { contentType: 'application/json' });
      const result = await validate(store);
      expect(result.problems.filter((p) => p.key === last).map((p) => p.kind)).toEqual(['signature_invalid']);
    });

    it('another public key fails every digest as signed by another key', async () => {
      const { store, archive } = await freshArchive(make());
      const result = await validate(store, otherKeys.publicKey);
      expect(result.intact).toBe(false);
      expect(result.problems.map((p) => [p.kind, p.key])).toEqual(archive.digests.map((d) => ['wrong_key', d]));
    });

    it('--from checks the chain from the first digest in range (its link to the one before included); --to stops after the range', async () => {
      const { store, archive } = await freshArchive(make());
      const endOf = (i: number): number => lastPeriodEndMs - (periods.length - 1 - i) * hour;
      await store.delete(archive.digests[0]!); // before the range: not checked
      const from = await validateArchive({ store, publicKey: keys.publicKey, fromMs: endOf(1) });
      expect(from.problems).toEqual([]);
      expect(from).toMatchObject({ intact: true, digests: 2, objects: 5 });
      // The digest right before the range is not checked itself, but the first digest in range links to it.
      const before = archive.digests[1]!;
      await store.putBytes(before, Buffer.from((await store.get(before)).toString().replace('"export":"audit"', '"export":"other"')), { contentType: 'application/json' });
      expectOnly(await validateArchive({ store, publicKey: keys.publicKey, fromMs: endOf(1) }), before, ['chain_broken']);

      const again = await freshArchive(make());
      const later = again.archive.objects[3]![0]!;
      await again.store.delete(later); // after the range
      const to = await validateArchive({ store: again.store, publicKey: keys.publicKey, toMs: endOf(1) });
      expect(to.problems).toEqual([]);
      expect(to).toMatchObject({ intact: true, digests: 2, objects: 2 });
      expectOnly(await validate(again.store), later, ['object_missing']);
    });

    it('listed objects a seal replaced and deleted are noted, not problems', async () => {
      const { store, archive } = await freshArchive(make());
      const gone = archive.objects[0]!;
      const raw = [];
      for (const key of gone) {
        const bytes = await store.get(key);
        raw.push({ key, bytes: bytes.length, sha256: sha256Hex(bytes) });
      }
      const record: SealRecord = {
        format: sealRecordFormat,
        dt: '2026-03-14',
        seal_id: '20260316T000000Zabcdef',
        sealed_at: '2026-03-16T00:00:00.000Z',
        sealed_by: 'pod-a',
        rows: 1,
        input_rows: 1,
        duplicates: 0,
        conflicts: 0,
        columns: [],
        files: [],
        raw,
        raw_delete_after: '2026-03-17T00:00:00.000Z',
        replaces: null,
      };
      await store.putBytes('_seals/dt=2026-03-14.json', recordBytes(record), { contentType: 'application/json' });
      for (const key of gone) await store.delete(key);
      const result = await validate(store);
      expect(result.problems).toEqual([]);
      expect(result.sealedDeleted.map((o) => o.key)).toEqual(gone);
    });
  });
}

let fileRun = 0;
tamperCases('the file backend', () => () => {
  const dir = join(work.dir, `file-${++fileRun}`);
  const destination = `${pathToFileURL(dir).href}/`;
  return { store: createFileStore({ url: destination }), destination };
});

let server: S3TestServer;
let readOnly: S3Proxy;
let s3Run = 0;
beforeAll(async () => {
  server = await startS3Server();
  await server.createBucket('audit');
  // An auditor's role: list and read only.
  readOnly = await startS3Proxy({
    upstream: server.endpoint,
    rules: [(req) => (req.method === 'GET' || req.method === 'HEAD' ? undefined : s3Error(403, 'AccessDenied', 'Access Denied'))],
  });
});
afterAll(async () => {
  await readOnly?.stop();
  await server?.stop();
});

tamperCases('fauxqs (s3)', () => () => {
  const destination = `s3://audit/run-${++s3Run}/`;
  return { store: openTestStore(destination, server.s3Config()), destination };
});

// Each test has its own destination and each config its own spool directory: the runs go at once.
describe.concurrent('logbarge validate (the CLI as a process)', () => {
  /** A config with one export to `destination`, signed with `keyFile` (or no integrity). */
  function config(destination: string, keyFile: string | null, name = `cfg-${Math.random().toString(36).slice(2)}.json`): string {
    const spoolDir = join(work.dir, 'spool', name);
    mkdirSync(spoolDir, { recursive: true });
    return writeConfig(
      work.dir,
      {
        writerId: 'pod-a',
        spool: { path: join(spoolDir, 'spool.db') },
        s3: server.s3Config(),
        exports: [{ name: 'audit', format: 'ndjson', destination, ...(keyFile ? { integrity: { privateKeyFile: keyFile } } : {}) }],
      },
      name,
    );
  }
  const env = { ...testCredentialEnv };

  it('-c on the file backend: exit 0 intact, then exit 5 naming the one changed object (JSON and text)', async () => {
    const dir = join(work.dir, 'cli-file');
    const destination = `${pathToFileURL(dir).href}/`;
    const store = createFileStore({ url: destination });
    const archive = await buildArchive({ store, privateKey: keys.privateKey, objectsPerPeriod: periods, lastPeriodEndMs });
    const cfg = config(destination, keys.privateFile);
    const ok = await runCliAsync(['validate', '-c', cfg, '--json'], { env });
    expect(ok.stderr).not.toContain('logbarge:');
    expect(ok.status).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ intact: true, digests: 4, objects: 7, problems: [] });

    const key = archive.objects[3]![0]!;
    const bytes = Buffer.from(await store.get(key));
    bytes[0] = bytes[0]! ^ 0x20;
    await store.putBytes(key, bytes, { contentType: 'application/x-ndjson' });
    const bad = await runCliAsync(['validate', '-c', cfg, '--json'], { env });
    expect(bad.status).toBe(5);
    const report = JSON.parse(bad.stdout) as { intact: boolean; problems: { key: string; kind: string; message: string }[] };
    expect(report.intact).toBe(false);
    expect(report.problems.map((p) => [p.key, p.kind])).toEqual([[key, 'object_modified']]);
    const text = await runCliAsync(['validate', '-c', cfg], { env });
    expect(text.status).toBe(5);
    expect(text.stdout).toContain(`object_modified ${key}: SHA-256 is`);
  });

  it('-c on fauxqs: exit 0; the standalone form through a read-only (GET/HEAD) endpoint: exit 0, and 5 with another key', async () => {
    const destination = 's3://audit/cli-s3/';
    const store = openTestStore(destination, server.s3Config());
    await buildArchive({ store, privateKey: keys.privateKey, objectsPerPeriod: periods, lastPeriodEndMs });
    store.close();
    const ok = await runCliAsync(['validate', '-c', config(destination, keys.privateFile), '--export', 'audit'], { env });
    expect(ok.stderr).not.toContain('logbarge:');
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/^INTACT audit \(s3:\/\/audit\/cli-s3\/\): 4 digest\(s\) in 1 chain\(s\), 7 listed object\(s\) checked/);

    const seen = readOnly.requests.length;
    const standaloneEnv = { ...env, AWS_ENDPOINT_URL_S3: readOnly.endpoint };
    const alone = await runCliAsync(['validate', '--destination', destination, '--public-key', keys.publicFile, '--json'], { env: standaloneEnv });
    expect(alone.stderr).not.toContain('logbarge:');
    expect(alone.status).toBe(0);
    expect(JSON.parse(alone.stdout)).toMatchObject({ intact: true, digests: 4, objects: 7 });
    const methods = new Set(readOnly.requests.slice(seen).map((r) => r.method));
    expect([...methods].every((m) => m === 'GET' || m === 'HEAD')).toBe(true);
    expect(readOnly.requests.slice(seen).every((r) => r.answered === undefined)).toBe(true);

    const wrong = await runCliAsync(['validate', '--destination', destination, '--public-key', otherKeys.publicFile, '--json'], { env: standaloneEnv });
    expect(wrong.status).toBe(5);
    expect((JSON.parse(wrong.stdout) as { problems: { kind: string }[] }).problems.map((p) => p.kind)).toEqual(['wrong_key', 'wrong_key', 'wrong_key', 'wrong_key']);
  });

  it('usage errors exit 2 naming what is wrong', async () => {
    const destination = `${pathToFileURL(join(work.dir, 'cli-usage')).href}/`;
    const [unsigned, noKey, badFrom, missingKey] = await Promise.all([
      runCliAsync(['validate', '-c', config(destination, null), '--export', 'audit'], { env }),
      runCliAsync(['validate', '--destination', destination], { env }),
      runCliAsync(['validate', '--destination', destination, '--public-key', keys.publicFile, '--from', 'yesterday'], { env }),
      runCliAsync(['validate', '--destination', destination, '--public-key', join(work.dir, 'nope.pem')], { env }),
    ]);
    expect(unsigned.status).toBe(2);
    expect(unsigned.stderr).toContain('export(s) audit have no "integrity" section');
    expect(noKey.status).toBe(2);
    expect(noKey.stderr).toContain('--destination needs --public-key');
    expect(badFrom.status).toBe(2);
    expect(badFrom.stderr).toContain('--from "yesterday" is not an ISO 8601 date or time');
    expect(missingKey.status).toBe(2);
    expect(missingKey.stderr).toContain('--public-key: cannot read');
  });
});
