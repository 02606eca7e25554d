/**
 * Table tests for mapping AWS SDK errors to StoreFailure, with error objects shaped like the
 * SDK's (name / Code, $metadata.httpStatusCode, $response.headers, Node error codes).
 */
import { describe, expect, it } from 'vitest';
import { classifyS3Error, isNotImplemented, s3Hint, toS3StoreError, type S3Context } from './s3-errors.js';
import type { StoreFailure } from './store.js';

/** An error shaped like an S3 service exception. */
function sdkError(name: string, status: number | undefined, options: { message?: string; headers?: Record<string, string>; extra?: Record<string, unknown> } = {}): Error {
  const err = new Error(options.message ?? name);
  err.name = name;
  return Object.assign(err, {
    $fault: status !== undefined && status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status, requestId: 'REQ123', attempts: 1 },
    ...(options.headers ? { $response: { statusCode: status, headers: options.headers } } : {}),
    ...options.extra,
  });
}

/** A Node system error (no HTTP answer). */
function nodeError(code: string, name = 'Error'): Error {
  const err = new Error(`connect ${code} 127.0.0.1:9`);
  err.name = name;
  return Object.assign(err, { code, $metadata: { attempts: 5 } });
}

const rows: { label: string; err: unknown; reason: StoreFailure; region?: string }[] = [
  { label: 'NoSuchBucket', err: sdkError('NoSuchBucket', 404), reason: 'no_such_bucket' },
  { label: 'AccessDenied', err: sdkError('AccessDenied', 403, { message: 'Access Denied' }), reason: 'access_denied' },
  { label: 'bare 403 (HEAD has no body)', err: sdkError('403', 403), reason: 'access_denied' },
  { label: 'Forbidden (HEAD)', err: sdkError('Forbidden', 403), reason: 'access_denied' },
  { label: 'AllAccessDisabled', err: sdkError('AllAccessDisabled', 403), reason: 'access_denied' },
  { label: 'InvalidAccessKeyId', err: sdkError('InvalidAccessKeyId', 403), reason: 'invalid_credentials' },
  { label: 'SignatureDoesNotMatch', err: sdkError('SignatureDoesNotMatch', 403), reason: 'invalid_credentials' },
  { label: 'ExpiredToken', err: sdkError('ExpiredToken', 400), reason: 'invalid_credentials' },
  { label: 'InvalidToken', err: sdkError('InvalidToken', 400), reason: 'invalid_credentials' },
  { label: 'UnrecognizedClientException', err: sdkError('UnrecognizedClientException', 400), reason: 'invalid_credentials' },
  { label: 'no credentials in the chain', err: Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }), reason: 'invalid_credentials' },
  {
    label: 'PermanentRedirect with x-amz-bucket-region',
    err: sdkError('PermanentRedirect', 301, { headers: { 'x-amz-bucket-region': 'eu-west-1' } }),
    reason: 'wrong_region',
    region: 'eu-west-1',
  },
  { label: 'bare 301 from HEAD', err: sdkError('301', 301, { headers: { 'X-Amz-Bucket-Region': 'ap-south-1' } }), reason: 'wrong_region', region: 'ap-south-1' },
  {
    label: 'AuthorizationHeaderMalformed with Region',
    err: sdkError('AuthorizationHeaderMalformed', 400, {
      message: "The authorization header is malformed; the region 'us-east-1' is wrong; expecting 'eu-central-1'",
      extra: { Region: 'eu-central-1' },
    }),
    reason: 'wrong_region',
    region: 'eu-central-1',
  },
  {
    label: 'AuthorizationHeaderMalformed, region only in the message',
    err: sdkError('AuthorizationHeaderMalformed', 400, { message: "the region 'us-east-1' is wrong; expecting 'us-west-2'" }),
    reason: 'wrong_region',
    region: 'us-west-2',
  },
  { label: 'KMS.DisabledException', err: sdkError('KMS.DisabledException', 400), reason: 'kms_denied' },
  { label: 'KMS.NotFoundException', err: sdkError('KMS.NotFoundException', 400), reason: 'kms_denied' },
  { label: 'KMSAccessDenied', err: sdkError('KMSAccessDenied', 403), reason: 'kms_denied' },
  {
    label: 'AccessDenied naming kms:GenerateDataKey',
    err: sdkError('AccessDenied', 403, { message: 'User: arn:aws:iam::1:role/x is not authorized to perform: kms:GenerateDataKey on resource: arn:aws:kms:us-east-1:1:key/k' }),
    reason: 'kms_denied',
  },
  {
    label: 'AccessDenied on a prefix merely called kms/',
    err: sdkError('AccessDenied', 403, { message: 'not authorized to perform: s3:PutObject on resource: arn:aws:s3:::b/kms/x' }),
    reason: 'access_denied',
  },
  { label: 'ECONNREFUSED', err: nodeError('ECONNREFUSED'), reason: 'unreachable' },
  { label: 'ENOTFOUND', err: nodeError('ENOTFOUND'), reason: 'unreachable' },
  { label: 'ETIMEDOUT', err: nodeError('ETIMEDOUT'), reason: 'unreachable' },
  { label: 'ECONNRESET', err: nodeError('ECONNRESET'), reason: 'unreachable' },
  { label: 'SDK TimeoutError', err: Object.assign(new Error('Connection timed out after 10000 ms'), { name: 'TimeoutError' }), reason: 'unreachable' },
  {
    label: 'AggregateError of ECONNREFUSED (IPv4 + IPv6)',
    err: new AggregateError([nodeError('ECONNREFUSED'), nodeError('ECONNREFUSED')], 'connect failed'),
    reason: 'unreachable',
  },
  { label: 'wrapped network cause', err: new Error('socket hang up', { cause: nodeError('EHOSTUNREACH') }), reason: 'unreachable' },
  { label: 'S3 RequestTimeout (400)', err: sdkError('RequestTimeout', 400), reason: 'unreachable' },
  { label: 'NoSuchKey', err: sdkError('NoSuchKey', 404), reason: 'not_found' },
  { label: 'NotFound (HEAD)', err: sdkError('NotFound', 404), reason: 'not_found' },
  { label: 'bare 404', err: sdkError('404', 404), reason: 'not_found' },
  { label: 'PreconditionFailed', err: sdkError('PreconditionFailed', 412), reason: 'precondition_failed' },
  { label: 'bare 412', err: sdkError('412', 412), reason: 'precondition_failed' },
  { label: 'AbortError', err: Object.assign(new Error('Request aborted'), { name: 'AbortError' }), reason: 'aborted' },
  { label: 'InternalError 500', err: sdkError('InternalError', 500), reason: 'other' },
  { label: 'SlowDown 503', err: sdkError('SlowDown', 503), reason: 'other' },
  { label: 'NotImplemented 501', err: sdkError('NotImplemented', 501), reason: 'other' },
  { label: 'a string', err: 'boom', reason: 'other' },
  { label: 'undefined', err: undefined, reason: 'other' },
];

describe('classifyS3Error', () => {
  it.each(rows)('$label → $reason', ({ err, reason, region }) => {
    const info = classifyS3Error(err);
    expect(info.reason).toBe(reason);
    if (region !== undefined) expect(info.bucketRegion).toBe(region);
  });

  it('has a row for every StoreFailure', () => {
    const all: StoreFailure[] = [
      'not_found',
      'no_such_bucket',
      'access_denied',
      'invalid_credentials',
      'wrong_region',
      'kms_denied',
      'unreachable',
      'precondition_failed',
      'aborted',
      'other',
    ];
    expect(new Set(rows.map((r) => r.reason))).toEqual(new Set(all));
  });
});

describe('isNotImplemented', () => {
  it('recognizes 501 NotImplemented only', () => {
    expect(isNotImplemented(sdkError('NotImplemented', 501))).toBe(true);
    expect(isNotImplemented(sdkError('501', 501))).toBe(true);
    expect(isNotImplemented(sdkError('InternalError', 500))).toBe(false);
  });
});

const ctx: S3Context = { bucket: 'audit-bucket', prefix: 'airkit/parquet/', endpoint: null, kmsKeyId: 'alias/audit' };

describe('toS3StoreError', () => {
  it('writes "verb noun: cause" with a hint and never the SDK error object as cause', () => {
    const err = sdkError('InvalidAccessKeyId', 403, {
      message: 'The AWS Access Key Id you provided does not exist in our records.',
      extra: { AWSAccessKeyId: 'AKIAEXAMPLEKEY' },
    });
    const storeError = toS3StoreError(err, { action: 'put object s3://audit-bucket/airkit/parquet/k', op: 'put', ctx });
    expect(storeError.reason).toBe('invalid_credentials');
    expect(storeError.message).toMatch(/^put object s3:\/\/audit-bucket\/airkit\/parquet\/k: the AWS credentials were rejected/);
    expect(storeError.hint).toMatch(/AWS_ACCESS_KEY_ID/);
    expect(storeError.retryable).toBe(false);
    expect(JSON.stringify({ ...storeError, cause: String(storeError.cause) })).not.toContain('AKIAEXAMPLEKEY');
    expect(String(storeError.cause)).toContain('REQ123');
  });

  it('marks server errors and network errors retryable, client errors not', () => {
    const action = 'put object x';
    expect(toS3StoreError(sdkError('SlowDown', 503), { action, op: 'put', ctx }).retryable).toBe(true);
    expect(toS3StoreError(nodeError('ECONNREFUSED'), { action, op: 'put', ctx }).retryable).toBe(true);
    expect(toS3StoreError(sdkError('InvalidArgument', 400), { action, op: 'put', ctx }).retryable).toBe(false);
    expect(toS3StoreError(sdkError('NoSuchBucket', 404), { action, op: 'put', ctx }).retryable).toBe(false);
  });
});

describe('s3Hint', () => {
  it.each<[StoreFailure, 'put' | 'get', RegExp]>([
    ['no_such_bucket', 'put', /create the bucket "audit-bucket"/],
    ['access_denied', 'put', /s3:PutObject on arn:aws:s3:::audit-bucket\/airkit\/parquet\/\*/],
    ['access_denied', 'get', /s3:GetObject on arn:aws:s3:::audit-bucket\/airkit\/parquet\/\*/],
    ['invalid_credentials', 'put', /AWS_ACCESS_KEY_ID.*AWS_PROFILE/],
    ['kms_denied', 'put', /kms:GenerateDataKey.*alias\/audit/],
    ['unreachable', 'put', /s3\.endpoint.*VPC/],
  ])('%s (%s)', (reason, op, pattern) => {
    expect(s3Hint(reason, op, ctx)).toMatch(pattern);
  });

  it('names the region to set when S3 said where the bucket is', () => {
    expect(s3Hint('wrong_region', 'put', ctx, 'eu-west-1')).toBe('set s3.region to "eu-west-1" (the bucket lives there)');
    expect(s3Hint('wrong_region', 'put', ctx)).toMatch(/get-bucket-location --bucket audit-bucket/);
  });
});
