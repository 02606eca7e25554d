/**
 * The ObjectStore contract: a narrow interface over a destination (an S3 bucket prefix or a local
 * directory). A store sees keys and bytes/files only, never events. Keys are relative to the
 * destination prefix and use `/` separators (`dt=2026-03-14/pod-a-….parquet`).
 *
 * Every backend passes the shared contract suite in `src/store/contract.test.ts`.
 */
import type { Readable } from 'node:stream';

/** Why a store operation failed; callers branch on it (verify diagnosis, retry decisions). */
export type StoreFailure =
  | 'not_found' // the key does not exist (get/head on a missing key)
  | 'no_such_bucket' // the bucket (or base directory) does not exist
  | 'access_denied' // credentials are valid but not allowed to do this
  | 'invalid_credentials' // the credentials are unknown, expired or malformed
  | 'wrong_region' // the bucket lives in another region than the client uses
  | 'kms_denied' // SSE-KMS: the key is missing, disabled or not usable by these credentials
  | 'unreachable' // no answer: DNS, connection refused, timeout
  | 'precondition_failed' // conditional write refused: the key exists already
  | 'aborted' // the caller's AbortSignal fired
  | 'other';

/** A store error with a typed reason and, for operators, a hint. */
export class StoreError extends Error {
  readonly reason: StoreFailure;
  readonly hint: string | undefined;
  /** True when retrying the same call later may succeed. */
  readonly retryable: boolean;

  constructor(reason: StoreFailure, message: string, options: { cause?: unknown; hint?: string; retryable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StoreError';
    this.reason = reason;
    this.hint = options.hint;
    this.retryable = options.retryable ?? (reason === 'unreachable' || reason === 'other');
  }
}

/**
 * User metadata of an object (S3: `x-amz-meta-<name>` headers): lowercase names of letters, digits
 * and `-`; printable ASCII values without spaces at either end; 2 KB in all.
 */
export type ObjectMetadata = Readonly<Record<string, string>>;

/** Options of a write. */
export interface PutOptions {
  /** MIME type of the object, e.g. `application/vnd.apache.parquet`. */
  readonly contentType: string;
  /** `gzip` for `.gz` text objects, so HTTP clients can tell. */
  readonly contentEncoding?: string;
  /**
   * Write only if the key does not exist yet (S3 `If-None-Match: *` where the endpoint supports
   * it). When the key exists, the put resolves with `alreadyExisted: true` and changes nothing.
   */
  readonly ifAbsent?: boolean;
  /**
   * Stored with the object and returned by `head`; a replacing put replaces it. Metadata that
   * breaks the rules of ObjectMetadata throws StoreError('other') naming the field, before
   * anything is written.
   */
  readonly metadata?: ObjectMetadata;
  readonly signal?: AbortSignal;
}

/** What a write did. */
export interface PutResult {
  /**
   * Bytes written. When `alreadyExisted`, the file backend gives the existing object's size and
   * the s3 backend the size it offered (a 412 does not say); `head` gives the existing object's.
   */
  readonly bytes: number;
  /**
   * True when `ifAbsent` found the key present and wrote nothing. The object there may be an
   * earlier attempt's or another writer's: its `head` metadata tells them apart.
   */
  readonly alreadyExisted: boolean;
}

/** What `head` finds under a key. */
export interface ObjectHead {
  readonly size: number;
  /** The metadata the object was written with; `{}` when it carries none. */
  readonly metadata: ObjectMetadata;
}

/** An object listed under a prefix. */
export interface ListedObject {
  readonly key: string;
  readonly size: number;
  /**
   * When the object was last written (S3: `LastModified`, seconds precision; file: the file's
   * mtime). Both backends give it; `validate` uses it to tell an object newer than its chain's
   * last digest (pending) from one slipped in unlisted.
   */
  readonly lastModified?: Date;
}

/** A destination that objects are written to. */
export interface ObjectStore {
  /** The destination URL as configured (`s3://bucket/prefix/`, `file:///dir/`). */
  readonly url: string;
  /** A readable location of `key` for messages (`s3://bucket/prefix/key`, `/dir/key`). */
  describe(key: string): string;
  /** Uploads the local file at `path` under `key`. Re-putting a key replaces it (unless `ifAbsent`). */
  putFile(key: string, path: string, options: PutOptions): Promise<PutResult>;
  /** Writes `body` under `key` (small objects: the verify-test object). */
  putBytes(key: string, body: Uint8Array, options: PutOptions): Promise<PutResult>;
  /** Size and metadata of `key`, or undefined when it does not exist. */
  head(key: string, options?: { signal?: AbortSignal }): Promise<ObjectHead | undefined>;
  /** The bytes of `key`; throws StoreError('not_found') when it does not exist. */
  get(key: string, options?: { signal?: AbortSignal }): Promise<Buffer>;
  /**
   * The bytes of `key` as a stream, so large objects can be hashed in bounded memory; rejects with
   * StoreError('not_found') when it does not exist (before any byte is read). The caller consumes
   * or destroys the stream; a read error mid-stream (a cut connection) is emitted on it.
   */
  getStream(key: string, options?: { signal?: AbortSignal }): Promise<Readable>;
  /** Deletes `key`; deleting a missing key succeeds. Only verify --cleanup uses it. */
  delete(key: string, options?: { signal?: AbortSignal }): Promise<void>;
  /** Every object whose key starts with `prefix`, in key order. */
  list(prefix: string, options?: { signal?: AbortSignal }): Promise<ListedObject[]>;
  /**
   * Removes the backend's own temp files (`.logbarge-tmp-*`) last written at least `olderThanMs`
   * before `now`: left by a process that died between writing and renaming. Returns how many.
   * Only backends that stage temp files inside the destination (file) have it.
   */
  sweepTemp?(options: { olderThanMs: number; now: number }): Promise<number>;
  /** Releases clients and sockets. */
  close(): void;
  /**
   * Whether the destination enforces `ifAbsent`: the file backend always does; the s3 backend
   * learns it from the endpoint (true once it accepted or enforced `If-None-Match: *`, false once
   * it answered 501, undefined before the first `ifAbsent` write). For status and logs only.
   */
  readonly conditionalWrites?: boolean | undefined;
}
