/**
 * Destination verification: write a small verify-test object under the destination's own
 * prefix, with the same encryption headers as data, try to read it back, and diagnose failures
 * with a typed reason and a hint an operator can act on.
 */
import { StoreError, type ObjectStore, type StoreFailure } from './store.js';

/** Folder of verify-test objects, outside every `dt=` partition so query engines never read them. */
export const verifyFolder = '_verify/';

/** Name prefix of verify-test objects. */
const verifyNamePrefix = 'logbarge-verify-test-';

/** First line of every verify-test body; tells our objects apart from anything else. */
const bodyHeader = 'logbarge verify-test object';

/** How the read-back went: 'failed' also when the write failed and nothing was read. */
export type ReadBack = 'ok' | 'denied' | 'mismatch' | 'failed';

/** The outcome of verifying one destination. */
export interface VerifyResult {
  /** True when the destination accepts writes (a denied read-back still passes). */
  readonly ok: boolean;
  /** The verify object's key relative to the destination. */
  readonly key: string;
  /** Where it went, for messages (`s3://bucket/prefix/_verify/…`, `/dir/_verify/…`). */
  readonly location: string;
  /** True when the object was written. */
  readonly wrote: boolean;
  /** Whether reading the object back returned the bytes written. */
  readonly readBack: ReadBack;
  /** Facts worth telling the operator even on success. */
  readonly notes: string[];
  /** Why it failed (when not ok). */
  readonly failure?: StoreFailure;
  /** "verb noun: cause" (when not ok). */
  readonly message?: string;
  /** What to try (when not ok); printed after "Try: ". */
  readonly hint?: string;
}

/** Options of verifyStore. */
export interface VerifyOptions {
  readonly store: ObjectStore;
  /** Named in the object's body, so an operator can tell which replica wrote it. */
  readonly writerId: string;
  /** The time in the key and body. */
  readonly now: Date;
  readonly signal?: AbortSignal;
}

/** The UTC timestamp used in verify keys: `20260314T092653Z`. */
export function verifyTimestamp(now: Date): string {
  return now.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

/** The verify-test key for `now`: `_verify/logbarge-verify-test-20260314T092653Z`. */
export function verifyKey(now: Date): string {
  return `${verifyFolder}${verifyNamePrefix}${verifyTimestamp(now)}`;
}

/** The small text body of a verify-test object. */
export function verifyBody({ writerId, now }: { writerId: string; now: Date }): Buffer {
  return Buffer.from(
    `${bodyHeader}\nwriter: ${writerId}\ntime: ${now.toISOString()}\n` +
      'Written by `logbarge verify` (or at daemon start) to prove this prefix is writable. Safe to delete.\n',
    'utf8',
  );
}

/** Generic hints, used when a store error carries none of its own. */
const genericHints: Partial<Record<StoreFailure, string>> = {
  no_such_bucket: 'create the bucket, or check the bucket name in the destination',
  access_denied: 'grant s3:PutObject on the destination prefix (arn:aws:s3:::BUCKET/PREFIX/*), or write access to the directory',
  wrong_region: "set s3.region to the bucket's region",
  invalid_credentials: 'check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or the role logbarge runs as',
  kms_denied: 'allow kms:GenerateDataKey and kms:Decrypt (multipart uploads of files over 8 MiB need it) on the key named by s3.kmsKeyId',
  unreachable: 'check s3.endpoint, DNS, network egress and (in a private VPC) the S3 VPC endpoint',
};

/** The reason, message and hint of any thrown value. */
function diagnose(err: unknown): { failure: StoreFailure; message: string; hint?: string } {
  if (err instanceof StoreError) {
    const hint = err.hint ?? genericHints[err.reason];
    return { failure: err.reason, message: err.message, ...(hint === undefined ? {} : { hint }) };
  }
  return { failure: 'other', message: err instanceof Error ? err.message : String(err) };
}

/** Writes the verify-test object to `store`, reads it back and diagnoses the outcome. */
export async function verifyStore({ store, writerId, now, signal }: VerifyOptions): Promise<VerifyResult> {
  const key = verifyKey(now);
  const location = store.describe(key);
  const body = verifyBody({ writerId, now });
  const notes: string[] = [];

  try {
    await store.putBytes(key, body, { contentType: 'text/plain; charset=utf-8', ...(signal ? { signal } : {}) });
  } catch (err) {
    const { failure, message, hint } = diagnose(err);
    return {
      ok: false,
      key,
      location,
      wrote: false,
      readBack: 'failed',
      notes,
      failure,
      message: `write verify object ${location}: ${message}`,
      ...(hint === undefined ? {} : { hint }),
    };
  }

  let readBack: ReadBack;
  try {
    const got = await store.get(key, signal ? { signal } : {});
    if (got.equals(body)) {
      readBack = 'ok';
    } else if (got.subarray(0, bodyHeader.length).toString('utf8') === bodyHeader) {
      readBack = 'mismatch';
      notes.push('read back another writer\'s verify object: a replica verified the same prefix in the same second; the write itself succeeded');
    } else {
      return {
        ok: false,
        key,
        location,
        wrote: true,
        readBack: 'mismatch',
        notes,
        failure: 'other',
        message: `read back verify object ${location}: got ${got.length} bytes that differ from the ${body.length} bytes written`,
        hint: 'the endpoint altered the object; for an S3-compatible server, check that it supports the AWS SDK\'s streaming (aws-chunked) checksums',
      };
    }
  } catch (err) {
    const { failure, message } = diagnose(err);
    if (failure === 'access_denied' || failure === 'kms_denied') {
      readBack = 'denied';
      notes.push(
        failure === 'kms_denied'
          ? 'read-back was not permitted by KMS (no kms:Decrypt): this small object was written, but multipart uploads of data files over 8 MiB also need kms:Decrypt on the key (see logbarge ddl iam)'
          : 'read-back was not permitted (no s3:GetObject); expected for a policy that grants only s3:PutObject',
      );
    } else {
      readBack = 'failed';
      notes.push(`read-back failed, the write succeeded: ${message}`);
    }
  }
  return { ok: true, key, location, wrote: true, readBack, notes };
}

/** Deletes a verify-test object (`verify --cleanup`); refuses any other key, since data is never deleted. */
export async function cleanupVerifyObject(store: ObjectStore, key: string, options: { signal?: AbortSignal } = {}): Promise<void> {
  if (!key.startsWith(verifyFolder + verifyNamePrefix) || key.slice(verifyFolder.length).includes('/')) {
    throw new StoreError('other', `delete verify object ${store.describe(key)}: not a verify-test key`, { retryable: false });
  }
  await store.delete(key, options);
}

/** Verify-test objects a sweep keeps whatever their age: the newest few show recent starts. */
export const verifyKeepNewest = 5;
/** Verify-test objects younger than this are kept: one day. */
export const verifyKeepMs = 86_400_000;

/** What sweepVerifyObjects did. */
export interface VerifySweep {
  readonly deleted: string[];
  /** Old verify objects left because another writer (or something else) wrote them. */
  readonly foreign: number;
}

/**
 * Deletes old verify-test objects this writer wrote under the store's own `_verify/` folder:
 * everything but the newest verifyKeepNewest and those younger than verifyKeepMs, and only
 * objects whose body names `writerId` (another replica's are its own to sweep). Every old one
 * is read, oldest first: only the body names the writer, so a cap on reads would leave this
 * writer's objects behind those of a writer that is gone (which nobody deletes) for good.
 * Needs s3:GetObject and s3:DeleteObject on `_verify/`; an error is the caller's to report.
 */
export async function sweepVerifyObjects(options: { store: ObjectStore; writerId: string; now: Date; signal?: AbortSignal }): Promise<VerifySweep> {
  const { store, writerId, signal } = options;
  const opts = signal ? { signal } : {};
  const pattern = new RegExp(`^${verifyFolder}${verifyNamePrefix}(\\d{8}T\\d{6}Z)$`);
  const listed = (await store.list(verifyFolder, opts))
    .map((o) => ({ key: o.key, stamp: pattern.exec(o.key)?.[1] }))
    .filter((o): o is { key: string; stamp: string } => o.stamp !== undefined)
    .sort((a, b) => (a.stamp < b.stamp ? -1 : a.stamp > b.stamp ? 1 : 0));
  const cutoff = verifyTimestamp(new Date(options.now.getTime() - verifyKeepMs));
  const old = listed.slice(0, Math.max(0, listed.length - verifyKeepNewest)).filter((o) => o.stamp < cutoff);
  const deleted: string[] = [];
  let foreign = 0;
  for (const o of old) {
    const body = (await store.get(o.key, opts)).toString('utf8');
    if (!body.startsWith(`${bodyHeader}\nwriter: ${writerId}\n`)) {
      foreign++;
      continue;
    }
    await cleanupVerifyObject(store, o.key, opts);
    deleted.push(o.key);
  }
  return { deleted, foreign };
}
