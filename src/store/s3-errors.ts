/**
 * Turning AWS SDK errors into StoreErrors: a pure classification (`classifyS3Error`, table-tested)
 * and operator hints that name the bucket, prefix, region or key involved. Messages carry the
 * S3 error code and text only, never credentials or request signatures.
 */
import { StoreError, type StoreFailure } from './store.js';

/** What a failed S3 call was doing; read and write failures need different IAM hints. */
export type S3Operation = 'put' | 'get' | 'head' | 'delete' | 'list';

/** The parts of an SDK error that classification uses. */
export interface S3ErrorInfo {
  readonly reason: StoreFailure;
  /** The S3 error code or Node error code (`NoSuchBucket`, `ECONNREFUSED`), when there is one. */
  readonly code: string | undefined;
  /** The HTTP status of the answer, when there was one. */
  readonly status: number | undefined;
  /** The bucket's real region (x-amz-bucket-region header, or the region S3 said it expected). */
  readonly bucketRegion: string | undefined;
}

/** Node and SDK error codes that mean "no answer from the endpoint". */
const networkCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'ECONNABORTED',
  'TimeoutError',
  'RequestTimeout',
  'NetworkingError',
]);

/** S3/STS codes for unknown, expired or malformed credentials. */
const credentialCodes = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidToken',
  'TokenRefreshRequired',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'CredentialsProviderError',
]);

/** Codes S3 returns when SSE-KMS cannot use the key. */
const kmsCodes = new Set(['KMSAccessDenied', 'KMSAccessDeniedException', 'KMSDisabledException', 'KMSNotFoundException', 'KMSInvalidStateException']);

/** Codes that mean the request went to the wrong region. */
const regionCodes = new Set(['PermanentRedirect', 'AuthorizationHeaderMalformed', 'IllegalLocationConstraintException', 'MovedPermanently']);

/** An S3 message about a KMS action or key ("not authorized to perform: kms:GenerateDataKey"). */
const kmsMessage = /\bkms:[A-Za-z]|arn:aws:kms:|\bKMS key\b|\bKMS managed\b/i;

type Loose = Record<string, unknown> | null | undefined;

/** A string property of an unknown value. */
function str(value: unknown, key: string): string | undefined {
  const v = (value as Loose)?.[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** A header of the raw HTTP response attached to an SDK error, case-insensitively. */
function header(err: unknown, name: string): string | undefined {
  const headers = ((err as Loose)?.['$response'] as Loose)?.['headers'] as Loose;
  if (!headers) return undefined;
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === name && typeof v === 'string') return v;
  return undefined;
}

/** The HTTP status of an SDK error. */
function statusOf(err: unknown): number | undefined {
  const fromMeta = ((err as Loose)?.['$metadata'] as Loose)?.['httpStatusCode'];
  if (typeof fromMeta === 'number') return fromMeta;
  const fromResponse = ((err as Loose)?.['$response'] as Loose)?.['statusCode'];
  return typeof fromResponse === 'number' ? fromResponse : undefined;
}

/** A network error code found on the error, its cause chain, or an AggregateError's members. */
function networkCode(err: unknown, depth = 0): string | undefined {
  if (err === null || typeof err !== 'object' || depth > 4) return undefined;
  for (const candidate of [str(err, 'code'), str(err, 'name')]) if (candidate && networkCodes.has(candidate)) return candidate;
  const errors = (err as { errors?: unknown }).errors;
  if (Array.isArray(errors)) for (const inner of errors) {
    const found = networkCode(inner, depth + 1);
    if (found) return found;
  }
  return networkCode((err as { cause?: unknown }).cause, depth + 1);
}

/** Classifies an error thrown by @aws-sdk/client-s3 (or lib-storage) into a StoreFailure. */
export function classifyS3Error(err: unknown): S3ErrorInfo {
  const status = statusOf(err);
  const name = str(err, 'Code') ?? str(err, 'name');
  const message = str(err, 'message') ?? '';
  const expected = /expecting '([a-z0-9-]+)'/.exec(message)?.[1];
  const bucketRegion = header(err, 'x-amz-bucket-region') ?? str(err, 'Region') ?? expected;
  const info = (reason: StoreFailure, code = name): S3ErrorInfo => ({ reason, code, status, bucketRegion });

  if (name === 'AbortError') return info('aborted');
  // An HTTP answer rules out "unreachable", except S3's own 400 RequestTimeout (a stalled upload).
  const netCode = networkCode(err);
  if (netCode && (status === undefined || netCode === 'RequestTimeout')) return info('unreachable', netCode);
  if (name === undefined) return info(status === undefined ? 'other' : byStatus(status));
  if (name.startsWith('KMS.') || kmsCodes.has(name)) return info('kms_denied');
  if ((name === 'AccessDenied' || status === 403 || status === 400) && kmsMessage.test(message)) return info('kms_denied');
  if (credentialCodes.has(name)) return info('invalid_credentials');
  if (regionCodes.has(name) || status === 301) return info('wrong_region');
  if (name === 'NoSuchBucket') return info('no_such_bucket');
  if (name === 'AccessDenied' || name === 'AllAccessDisabled' || name === 'Forbidden') return info('access_denied');
  if (name === 'NoSuchKey' || name === 'NotFound') return info('not_found');
  if (name === 'PreconditionFailed') return info('precondition_failed');
  return info(status === undefined ? 'other' : byStatus(status));
}

/** The failure implied by an HTTP status alone (answers without an error body, e.g. to HEAD). */
function byStatus(status: number): StoreFailure {
  if (status === 301) return 'wrong_region';
  if (status === 403) return 'access_denied';
  if (status === 404) return 'not_found';
  if (status === 412) return 'precondition_failed';
  return 'other';
}

/** True for the answer of an endpoint that does not implement a header we sent (S3 501 NotImplemented). */
export function isNotImplemented(err: unknown): boolean {
  return str(err, 'Code') === 'NotImplemented' || str(err, 'name') === 'NotImplemented' || statusOf(err) === 501;
}

/** Where an S3 call went, for messages and hints. */
export interface S3Context {
  readonly bucket: string;
  /** The destination prefix inside the bucket ('' or ending with '/'). */
  readonly prefix: string;
  readonly endpoint: string | null;
  readonly kmsKeyId: string | null;
}

/** The operator hint for a failure (printed after "Try: "), naming the bucket, policy resource, region or key. */
export function s3Hint(reason: StoreFailure, op: S3Operation, ctx: S3Context, bucketRegion?: string): string | undefined {
  const resource = `arn:aws:s3:::${ctx.bucket}/${ctx.prefix}*`;
  switch (reason) {
    case 'no_such_bucket':
      return `create the bucket "${ctx.bucket}" (aws s3 mb s3://${ctx.bucket}) or fix the bucket name in the destination`;
    case 'access_denied':
      if (op === 'put') {
        return `allow s3:PutObject on ${resource} for the identity logbarge runs as, and check the bucket policy and any SCP`;
      }
      if (op === 'list') return `allow s3:ListBucket on arn:aws:s3:::${ctx.bucket} for the identity logbarge runs as`;
      return `allow s3:${op === 'delete' ? 'DeleteObject' : 'GetObject'} on ${resource} for the identity logbarge runs as`;
    case 'wrong_region':
      return bucketRegion
        ? `set s3.region to "${bucketRegion}" (the bucket lives there)`
        : `set s3.region to the bucket's region (aws s3api get-bucket-location --bucket ${ctx.bucket})`;
    case 'invalid_credentials':
      return 'check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, AWS_PROFILE, or the role of the pod or instance; session tokens expire and must be refreshed';
    case 'kms_denied':
      return `allow kms:GenerateDataKey and kms:Decrypt (multipart uploads need it) on ${ctx.kmsKeyId ?? "the bucket's default KMS key"} for the identity logbarge runs as; check that s3.kmsKeyId names an enabled key in the bucket's region`;
    case 'unreachable':
      return `check s3.endpoint (${ctx.endpoint ?? 'the AWS default, or AWS_ENDPOINT_URL_S3'}), DNS and network egress; from a private VPC, add an S3 gateway endpoint`;
    default:
      return undefined;
  }
}

/** A short diagnosis of a failure, for the message. */
function diagnosis(info: S3ErrorInfo, ctx: S3Context, sdkMessage: string | undefined): string {
  const detail = sdkMessage ? ` (${info.code ?? 'error'}: ${sdkMessage})` : info.code ? ` (${info.code})` : '';
  switch (info.reason) {
    case 'no_such_bucket':
      return `bucket "${ctx.bucket}" does not exist`;
    case 'access_denied':
      return `access denied${detail}`;
    case 'invalid_credentials':
      return info.code === 'CredentialsProviderError' ? `no usable AWS credentials found${detail}` : `the AWS credentials were rejected${detail}`;
    case 'wrong_region':
      return info.bucketRegion ? `the bucket is in region ${info.bucketRegion}${detail}` : `the bucket is in another region${detail}`;
    case 'kms_denied':
      return `SSE-KMS key not usable${detail}`;
    case 'unreachable':
      return `endpoint unreachable (${info.code ?? 'no answer'})`;
    case 'not_found':
      return 'no such key';
    case 'precondition_failed':
      return 'the key exists already';
    case 'aborted':
      return 'aborted by the caller';
    default:
      return `S3 answered${info.status === undefined ? '' : ` HTTP ${info.status}`}${detail}`;
  }
}

/**
 * Wraps an SDK error as a StoreError. The cause is a summary (name, status, request id), not the
 * SDK error itself, whose deserialized fields can include the access key id.
 */
export function toS3StoreError(err: unknown, { action, op, ctx }: { action: string; op: S3Operation; ctx: S3Context }): StoreError {
  if (err instanceof StoreError) return err;
  const info = classifyS3Error(err);
  const sdkMessage = str(err, 'message');
  const usefulMessage = sdkMessage && sdkMessage !== 'UnknownError' && sdkMessage !== info.code ? sdkMessage : undefined;
  const requestId = str((err as Loose)?.['$metadata'], 'requestId');
  const cause = new Error(
    [info.code ?? 'error', info.status === undefined ? undefined : `HTTP ${info.status}`, requestId && `request id ${requestId}`]
      .filter(Boolean)
      .join(', '),
  );
  const retryable =
    info.reason === 'unreachable' ||
    (info.reason === 'other' && (info.status === undefined || info.status >= 500 || info.status === 429 || info.status === 409));
  return new StoreError(info.reason, `${action}: ${diagnosis(info, ctx, usefulMessage)}`, {
    cause,
    hint: s3Hint(info.reason, op, ctx, info.bucketRegion),
    retryable,
  });
}
