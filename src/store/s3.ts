/**
 * The `s3` backend: objects in an S3 bucket (or an S3-compatible server) under the destination
 * prefix. Uses the SDK's default credential chain and checksums and its standard retry mode
 * (exponential backoff with jitter); large files go up as multipart uploads via lib-storage.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type PutObjectCommandInput,
  type S3ClientConfig,
  type StorageClass,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Config } from '../config/schema.js';
import { abortedError, checkKey, checkMetadata, checkPrefix, compareKeys } from './key.js';
import { classifyS3Error, isNotImplemented, toS3StoreError, type S3Context, type S3Operation } from './s3-errors.js';
import { StoreError, type ListedObject, type ObjectStore, type PutOptions, type PutResult } from './store.js';

/** Multipart part size: 8 MiB, above S3's 5 MiB minimum; 10,000 parts allow objects up to ~78 GiB. */
const partSize = 8 * 1024 * 1024;

/** Parts uploaded at once: two 8 MiB buffers in flight keep memory bounded (invariant 3). */
const queueSize = 2;

/** Default attempts per request (first try + retries) in the SDK's standard retry mode. */
const defaultMaxAttempts = 5;

/** TCP connect timeout: a blackholed endpoint (private VPC without an S3 endpoint) fails in 10 s, not minutes. */
const connectionTimeoutMs = 10_000;

/**
 * Socket inactivity timeout: generous for a slow 8 MiB part, short enough to notice a dead peer.
 * (The SDK's `requestTimeout`, a wall-clock limit, is left unset: by default it only prints a
 * console warning, and a whole-request limit would cut off large parts on slow links.)
 */
const socketTimeoutMs = 120_000;

/** Region used when neither the config nor the SDK's chain (AWS_REGION, profile) names one. */
const fallbackRegion = 'us-east-1';

/** Options of the s3 backend. */
export interface S3StoreOptions {
  /** `s3://bucket/prefix/`; the prefix gets a trailing `/` if it lacks one. */
  readonly url: string;
  /** The config's `s3` section: region, endpoint, addressing, encryption and storage class. */
  readonly s3: Config['s3'];
  /** Attempts per request, including the first (SDK standard retry mode). Default 5. */
  readonly maxAttempts?: number;
  /**
   * Explicit credentials, for tests against a local server only. The daemon leaves this unset so
   * the SDK's default provider chain (env, profile, web identity, container/instance role) applies.
   */
  readonly credentials?: S3ClientConfig['credentials'];
}

/** An S3-backed ObjectStore, with what it learned about the endpoint. */
export interface S3ObjectStore extends ObjectStore {
  readonly bucket: string;
  /** The destination prefix inside the bucket: '' or ending with '/'. */
  readonly prefix: string;
  /**
   * Whether the endpoint takes `If-None-Match: *` on writes: true once it accepted (or enforced,
   * 412) one, false once it answered 501 NotImplemented (later `ifAbsent` writes then overwrite an
   * existing key), undefined before any `ifAbsent` write.
   */
  readonly conditionalWrites: boolean | undefined;
}

/** Splits `s3://bucket/prefix/` into bucket and prefix (normalized to '' or ending with '/'). */
export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(url);
  if (!match?.[1]) {
    throw new StoreError('other', `open destination ${url}: not an s3://bucket/prefix/ URL`, {
      retryable: false,
      hint: 'use s3://my-bucket/logbarge/parquet/',
    });
  }
  const raw = match[2] ?? '';
  const prefix = raw === '' || raw.endsWith('/') ? raw : `${raw}/`;
  checkPrefix(prefix);
  return { bucket: match[1], prefix };
}

/** The SDK's own region resolution (AWS_REGION, AWS_DEFAULT_REGION via profile, config file), else us-east-1. */
function sdkRegionOrFallback(): () => Promise<string> {
  let region: Promise<string> | undefined;
  return () =>
    (region ??= (async () => {
      const probe = new S3Client({});
      try {
        return await probe.config.region();
      } catch {
        return fallbackRegion;
      } finally {
        probe.destroy();
      }
    })());
}

/** Creates a store writing to the bucket and prefix named by `url`. */
export function createS3Store({ url, s3, maxAttempts = defaultMaxAttempts, credentials }: S3StoreOptions): S3ObjectStore {
  const { bucket, prefix } = parseS3Url(url);
  const ctx: S3Context = { bucket, prefix, endpoint: s3.endpoint, kmsKeyId: s3.kmsKeyId };
  const client = new S3Client({
    region: s3.region ?? sdkRegionOrFallback(),
    // Without an endpoint the SDK applies AWS_ENDPOINT_URL_S3 itself, or AWS's own endpoints.
    ...(s3.endpoint === null ? {} : { endpoint: s3.endpoint }),
    forcePathStyle: s3.forcePathStyle,
    retryMode: 'standard',
    maxAttempts,
    ...(credentials === undefined ? {} : { credentials }),
    requestHandler: { connectionTimeout: connectionTimeoutMs, socketTimeout: socketTimeoutMs },
  });
  // A KMS key id implies SSE-KMS when no algorithm is configured; S3 rejects a key id without it.
  const sse = s3.serverSideEncryption ?? (s3.kmsKeyId === null ? null : 'aws:kms');
  let conditionalWrites: boolean | undefined;

  const describe = (key: string): string => `s3://${bucket}/${prefix}${key}`;
  const fail = (err: unknown, action: string, op: S3Operation, signal?: AbortSignal): StoreError =>
    signal?.aborted ? abortedError(action, err) : toS3StoreError(err, { action, op, ctx });

  /** Headers every write carries: type, encoding, user metadata, SSE and storage class from the config. */
  function writeParams(key: string, options: PutOptions): PutObjectCommandInput {
    return {
      Bucket: bucket,
      Key: prefix + key,
      ContentType: options.contentType,
      ...(options.contentEncoding === undefined ? {} : { ContentEncoding: options.contentEncoding }),
      ...(options.metadata === undefined ? {} : { Metadata: { ...options.metadata } }),
      ...(sse === null ? {} : { ServerSideEncryption: sse }),
      ...(sse?.startsWith('aws:kms') && s3.kmsKeyId !== null ? { SSEKMSKeyId: s3.kmsKeyId } : {}),
      ...(s3.storageClass === null ? {} : { StorageClass: s3.storageClass as StorageClass }),
    };
  }

  /**
   * Runs one write, conditionally when `ifAbsent` and the endpoint has not refused the header.
   * 412 PreconditionFailed means the key exists: success with `alreadyExisted` (what the object
   * there holds is for the caller to check with head). 501 means the endpoint lacks conditional
   * writes: remember it and write again without the header.
   */
  async function write(
    key: string,
    bytes: number,
    options: PutOptions,
    send: (params: PutObjectCommandInput) => Promise<unknown>,
  ): Promise<PutResult> {
    const action = `put object ${describe(key)}`;
    const conditional = options.ifAbsent === true && conditionalWrites !== false;
    if (options.signal?.aborted) throw abortedError(action, options.signal.reason);
    if (options.metadata !== undefined) checkMetadata(key, options.metadata);
    try {
      await send({ ...writeParams(key, options), ...(conditional ? { IfNoneMatch: '*' } : {}) });
      if (conditional) conditionalWrites = true;
      return { bytes, alreadyExisted: false };
    } catch (err) {
      if (conditional && !options.signal?.aborted) {
        if (classifyS3Error(err).reason === 'precondition_failed') {
          conditionalWrites = true;
          return { bytes, alreadyExisted: true };
        }
        if (isNotImplemented(err)) {
          conditionalWrites = false;
          return write(key, bytes, options, send);
        }
      }
      throw fail(err, action, 'put', options.signal);
    }
  }

  return {
    url,
    bucket,
    prefix,
    get conditionalWrites() {
      return conditionalWrites;
    },
    describe,

    async putFile(key, path, options) {
      checkKey(key);
      let size: number;
      try {
        size = (await stat(path)).size;
      } catch (err) {
        throw new StoreError('other', `put object ${describe(key)}: read staged file ${path}: ${(err as Error).message}`, {
          cause: err,
          retryable: false,
        });
      }
      return write(key, size, options, async (params) => {
        const body = createReadStream(path);
        const controller = new AbortController();
        const onAbort = (): void => controller.abort();
        options.signal?.addEventListener('abort', onAbort, { once: true });
        try {
          const upload = new Upload({
            client,
            params: { ...params, Body: body, ContentLength: size },
            partSize,
            queueSize,
            leavePartsOnError: false,
            abortController: controller,
          });
          await upload.done();
        } finally {
          options.signal?.removeEventListener('abort', onAbort);
          body.destroy();
        }
      });
    },

    async putBytes(key, body, options) {
      checkKey(key);
      return write(key, body.byteLength, options, (params) =>
        client.send(new PutObjectCommand({ ...params, Body: body, ContentLength: body.byteLength }), {
          abortSignal: options.signal,
        }),
      );
    },

    // S3 answers 403 instead of 404 for a missing key when the caller lacks s3:ListBucket, so
    // under such a policy head (like get) fails with access_denied rather than finding nothing.
    async head(key, options = {}) {
      checkKey(key);
      const action = `head object ${describe(key)}`;
      if (options.signal?.aborted) throw abortedError(action, options.signal.reason);
      try {
        const out = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: prefix + key }), { abortSignal: options.signal });
        // The SDK hands user metadata back without the x-amz-meta- prefix, names lowercased.
        return { size: out.ContentLength ?? 0, metadata: { ...(out.Metadata ?? {}) } };
      } catch (err) {
        const failure = fail(err, action, 'head', options.signal);
        if (failure.reason === 'not_found') return undefined;
        throw failure;
      }
    },

    async get(key, options = {}) {
      checkKey(key);
      const action = `get object ${describe(key)}`;
      if (options.signal?.aborted) throw abortedError(action, options.signal.reason);
      try {
        const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: prefix + key }), { abortSignal: options.signal });
        if (out.Body === undefined) return Buffer.alloc(0);
        const bytes = await out.Body.transformToByteArray();
        return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      } catch (err) {
        throw fail(err, action, 'get', options.signal);
      }
    },

    async getStream(key, options = {}) {
      checkKey(key);
      const action = `get object ${describe(key)}`;
      if (options.signal?.aborted) throw abortedError(action, options.signal.reason);
      try {
        const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: prefix + key }), { abortSignal: options.signal });
        // In Node the SDK's body is an http.IncomingMessage (a Readable).
        return out.Body === undefined ? Readable.from([]) : (out.Body as Readable);
      } catch (err) {
        throw fail(err, action, 'get', options.signal);
      }
    },

    async delete(key, options = {}) {
      checkKey(key);
      const action = `delete object ${describe(key)}`;
      if (options.signal?.aborted) throw abortedError(action, options.signal.reason);
      try {
        await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: prefix + key }), { abortSignal: options.signal });
      } catch (err) {
        const failure = fail(err, action, 'delete', options.signal);
        if (failure.reason === 'not_found') return;
        throw failure;
      }
    },

    async list(listPrefix, options = {}) {
      checkPrefix(listPrefix);
      const action = `list objects under ${describe(listPrefix)}`;
      const out: ListedObject[] = [];
      let token: string | undefined;
      try {
        do {
          if (options.signal?.aborted) throw abortedError(action, options.signal.reason);
          const page = await client.send(
            new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix + listPrefix, ContinuationToken: token }),
            { abortSignal: options.signal },
          );
          for (const object of page.Contents ?? []) {
            if (object.Key?.startsWith(prefix)) {
              out.push({ key: object.Key.slice(prefix.length), size: object.Size ?? 0, ...(object.LastModified ? { lastModified: object.LastModified } : {}) });
            }
          }
          token = page.IsTruncated ? page.NextContinuationToken : undefined;
        } while (token !== undefined);
      } catch (err) {
        throw fail(err, action, 'list', options.signal);
      }
      return out.sort((a, b) => compareKeys(a.key, b.key));
    },

    close() {
      client.destroy();
    },
  };
}
