/**
 * Test support: a loopback HTTP proxy in front of the test S3 server that forwards every request
 * unchanged unless a rule answers it itself. Rules stand in for S3 behaviour fauxqs lacks:
 * conditional writes (412), IAM denials (403), unknown access keys, wrong regions, KMS errors and
 * endpoints without conditional-write support (501). Every request is recorded for assertions.
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request as a rule sees it. */
export interface ProxiedRequest {
  readonly method: string;
  /** The path without the query (path style: `/bucket/key`). */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  /** The access key id the request was signed with. */
  readonly accessKeyId: string | undefined;
  /** HEADs `path` on the upstream server: true when the object exists. */
  exists(): Promise<boolean>;
}

/** An answer a rule gives instead of forwarding. */
export interface ProxyReply {
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

/** Answers a request itself (a ProxyReply) or lets it through (undefined). */
export type ProxyRule = (req: ProxiedRequest) => ProxyReply | undefined | Promise<ProxyReply | undefined>;

/** A running proxy. */
export interface S3Proxy {
  /** `http://127.0.0.1:PORT`. */
  readonly endpoint: string;
  /** Every request seen, in arrival order, with whether a rule answered it. */
  readonly requests: { method: string; path: string; query: string; headers: IncomingHttpHeaders; answered: number | undefined }[];
  stop(): Promise<void>;
}

/** An S3 XML error body. */
export function s3ErrorXml(code: string, message: string, extra: Record<string, string> = {}): string {
  const fields = Object.entries(extra)
    .map(([k, v]) => `<${k}>${v}</${k}>`)
    .join('');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message>${fields}<RequestId>PROXY0000000000</RequestId></Error>`;
}

/** A reply carrying an S3 XML error. */
export function s3Error(status: number, code: string, message: string, options: { headers?: Record<string, string>; extra?: Record<string, string> } = {}): ProxyReply {
  return { status, headers: { 'content-type': 'application/xml', ...options.headers }, body: s3ErrorXml(code, message, options.extra) };
}

/** True for a write that creates an object: PutObject or CompleteMultipartUpload (not UploadPart). */
function isObjectCreate(req: ProxiedRequest): boolean {
  if (req.method === 'PUT') return !req.query.has('partNumber') && !req.query.has('uploadId') && req.path.split('/').length > 2;
  return req.method === 'POST' && req.query.has('uploadId');
}

/** S3's conditional writes: `If-None-Match: *` on an existing key answers 412 (fauxqs ignores the header). */
export const enforceIfNoneMatch: ProxyRule = async (req) => {
  if (!isObjectCreate(req) || req.headers['if-none-match'] !== '*') return undefined;
  if (!(await req.exists())) return undefined;
  return s3Error(412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', {
    extra: { Condition: 'If-None-Match' },
  });
};

/** An endpoint without conditional writes: 501 NotImplemented for any request carrying If-None-Match. */
export const rejectIfNoneMatch: ProxyRule = (req) =>
  req.headers['if-none-match'] === undefined
    ? undefined
    : s3Error(501, 'NotImplemented', 'A header you provided implies functionality that is not implemented', {
        extra: { Header: 'If-None-Match' },
      });

/** IAM that grants only s3:PutObject: reads (GET, HEAD) are denied. */
export const denyReads: ProxyRule = (req) =>
  req.method === 'GET' || req.method === 'HEAD' ? s3Error(403, 'AccessDenied', 'Access Denied') : undefined;

/** IAM that grants nothing on the bucket: every request is denied. */
export const denyAll: ProxyRule = () => s3Error(403, 'AccessDenied', 'Access Denied');

/** AWS rejecting an unknown access key id (fauxqs accepts any credentials, so the proxy plays IAM). */
export function rejectAccessKey(accessKeyId: string): ProxyRule {
  return (req) =>
    req.accessKeyId === accessKeyId
      ? s3Error(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.', {
          extra: { AWSAccessKeyId: accessKeyId },
        })
      : undefined;
}

/** A bucket that lives in `region`: S3's 301 PermanentRedirect with x-amz-bucket-region. */
export function bucketInRegion(region: string): ProxyRule {
  return () =>
    s3Error(301, 'PermanentRedirect', 'The bucket you are attempting to access must be addressed using the specified endpoint.', {
      headers: { 'x-amz-bucket-region': region },
      extra: { Endpoint: `s3.${region}.amazonaws.com` },
    });
}

/** SSE-KMS writes denied by the key policy, as S3 reports them (403 AccessDenied naming kms:GenerateDataKey). */
export const denyKms: ProxyRule = (req) =>
  req.method === 'PUT' || req.method === 'POST'
    ? s3Error(403, 'AccessDenied', 'User: arn:aws:iam::123456789012:role/logbarge is not authorized to perform: kms:GenerateDataKey on resource: arn:aws:kms:us-east-1:123456789012:key/test because no identity-based policy allows the kms:GenerateDataKey action')
    : undefined;

/** The access key id in a SigV4 Authorization header or presigned query. */
function accessKeyOf(headers: IncomingHttpHeaders, query: URLSearchParams): string | undefined {
  const auth = headers.authorization ?? '';
  return /Credential=([^/,\s]+)\//.exec(auth)?.[1] ?? query.get('X-Amz-Credential')?.split('/')[0];
}

/** Starts a proxy on 127.0.0.1 in front of `upstream` (an `http://127.0.0.1:PORT` endpoint); rules run in order. */
export async function startS3Proxy({ upstream, rules }: { upstream: string; rules: ProxyRule[] }): Promise<S3Proxy> {
  const target = new URL(upstream);
  const requests: S3Proxy['requests'] = [];

  const head = (path: string): Promise<boolean> =>
    new Promise((resolve, reject) => {
      const req = httpRequest({ host: target.hostname, port: target.port, method: 'HEAD', path }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('error', reject).end();
    });

  const forward = (req: IncomingMessage, res: ServerResponse): void => {
    const headers = { ...req.headers };
    delete headers.expect; // this proxy already answered 100-continue
    const out = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers }, (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.pipe(res);
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const proxied: ProxiedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      accessKeyId: accessKeyOf(req.headers, url.searchParams),
      exists: () => head(url.pathname),
    };
    const record = { method: proxied.method, path: url.pathname, query: url.search, headers: req.headers, answered: undefined as number | undefined };
    requests.push(record);
    void (async () => {
      for (const rule of rules) {
        const reply = await rule(proxied);
        if (reply) {
          record.answered = reply.status;
          // Read the whole body first, as S3 does, so the client is never cut off mid-upload.
          req.resume();
          await new Promise((resolve) => req.on('end', resolve).on('error', resolve));
          res.writeHead(reply.status, { ...reply.headers, 'x-amz-request-id': 'PROXY0000000000' });
          res.end(proxied.method === 'HEAD' ? undefined : reply.body);
          return;
        }
      }
      forward(req, res);
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
