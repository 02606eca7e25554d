/**
 * Test support: a loopback HTTP proxy in front of the test S3 server that can freeze one request
 * at a chosen point, so a test can kill -9 the daemon while an upload is in a known state:
 *
 * - `before-upstream`: the proxy reads the request head and the first part of the body, then stops
 *   reading and never answers. Nothing reaches S3 (the kill lands "during the upload").
 * - `after-upstream`: the proxy forwards the whole request, S3 stores the object and answers 200,
 *   and the proxy keeps that answer from the client (the kill lands "after the upload, before the
 *   commit": the object exists, the daemon does not know it).
 *
 * Everything else is forwarded unchanged (optionally through the ProxyRules of s3-proxy.ts, e.g.
 * enforceIfNoneMatch). Every request is recorded, and listeners hear each forwarded answer.
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { ProxiedRequest, ProxyRule } from './s3-proxy.js';

/** Where a held request stops. */
export type HoldPoint = 'before-upstream' | 'after-upstream';

/** A request seen by the proxy. */
export interface SeenRequest {
  readonly method: string;
  /** Path without the query, percent-decoded (path style: `/bucket/key`; the SDK sends `dt%3D…`). */
  readonly path: string;
  readonly query: string;
  /** Milliseconds since the proxy started. */
  readonly at: number;
  /** The status the client got (from a rule or upstream); undefined while pending or held. */
  status: number | undefined;
  /** The status S3 gave (undefined when a rule answered or the request never reached S3). */
  upstreamStatus: number | undefined;
  /** Set when this request was held. */
  held: HoldPoint | undefined;
  /** Set when a rule answered it. */
  answeredByRule: boolean;
}

/** What a held request looked like when it was frozen. */
export interface HeldRequest {
  readonly method: string;
  readonly path: string;
  /** Body bytes the proxy had read when it froze the request. */
  readonly bodyBytes: number;
  /** S3's status (after-upstream only). */
  readonly upstreamStatus: number | undefined;
}

/** A running fault proxy. */
export interface FaultProxy {
  readonly endpoint: string;
  /** Every request in arrival order. */
  readonly requests: SeenRequest[];
  /** Rules run before forwarding (first answer wins); replace freely between phases. */
  rules: ProxyRule[];
  /**
   * Holds the next request matching `match` at `point`; resolves when it is frozen. One-shot: later
   * requests pass. A held request stays frozen until the client goes away or the proxy stops.
   */
  holdNext(point: HoldPoint, match: (req: { method: string; path: string; query: URLSearchParams }) => boolean): Promise<HeldRequest>;
  /** Called after a forwarded answer was fully sent to the client. Returns an unsubscribe function. */
  onAnswered(listener: (req: SeenRequest) => void): () => void;
  stop(): Promise<void>;
}

/** True for a data object write (PutObject of a key under a dt= partition, or a multipart part/complete of one). */
export function isDataWrite(req: { method: string; path: string }): boolean {
  return (req.method === 'PUT' || req.method === 'POST') && req.path.includes('/dt=');
}

/** Starts the proxy on 127.0.0.1 in front of `upstream` (`http://127.0.0.1:PORT`). */
export async function startFaultProxy({ upstream, rules = [] }: { upstream: string; rules?: ProxyRule[] }): Promise<FaultProxy> {
  const target = new URL(upstream);
  const started = Date.now();
  const requests: SeenRequest[] = [];
  const listeners = new Set<(req: SeenRequest) => void>();
  const sockets = new Set<Socket>();
  let pendingHold:
    | { point: HoldPoint; match: (req: { method: string; path: string; query: URLSearchParams }) => boolean; resolve: (h: HeldRequest) => void }
    | undefined;

  const head = (path: string): Promise<boolean> =>
    new Promise((resolve, reject) => {
      const req = httpRequest({ host: target.hostname, port: target.port, method: 'HEAD', path }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('error', reject).end();
    });

  const accessKeyOf = (req: IncomingMessage, query: URLSearchParams): string | undefined =>
    /Credential=([^/,\s]+)\//.exec(req.headers.authorization ?? '')?.[1] ?? query.get('X-Amz-Credential')?.split('/')[0];

  /** Forwards to S3; `hold` keeps S3's answer from the client and reports it instead. */
  const forward = (req: IncomingMessage, res: ServerResponse, seen: SeenRequest, hold?: (h: HeldRequest) => void): void => {
    const headers = { ...req.headers };
    delete headers.expect; // Node's server already answered 100-continue
    let bodyBytes = 0;
    req.on('data', (c: Buffer) => (bodyBytes += c.length));
    const out = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers }, (upRes) => {
      seen.upstreamStatus = upRes.statusCode;
      if (hold) {
        upRes.resume();
        upRes.on('end', () => hold({ method: seen.method, path: seen.path, bodyBytes, upstreamStatus: upRes.statusCode }));
        return; // never answer the client
      }
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.pipe(res);
      res.on('finish', () => {
        seen.status = upRes.statusCode;
        for (const l of listeners) l(seen);
      });
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const seen: SeenRequest = {
      method: req.method ?? 'GET',
      path: decodeURIComponent(url.pathname),
      query: url.search,
      at: Date.now() - started,
      status: undefined,
      upstreamStatus: undefined,
      held: undefined,
      answeredByRule: false,
    };
    requests.push(seen);
    const hold = pendingHold && pendingHold.match({ method: seen.method, path: seen.path, query: url.searchParams }) ? pendingHold : undefined;
    if (hold) {
      pendingHold = undefined;
      seen.held = hold.point;
      if (hold.point === 'before-upstream') {
        // Take the first part of the body, then stop reading: the client is stuck mid-upload.
        let resolved = false;
        const freeze = (bytes: number): void => {
          if (resolved) return;
          resolved = true;
          req.pause();
          hold.resolve({ method: seen.method, path: seen.path, bodyBytes: bytes, upstreamStatus: undefined });
        };
        req.once('data', (c: Buffer) => freeze(c.length));
        req.once('end', () => freeze(0));
        return;
      }
      forward(req, res, seen, hold.resolve);
      return;
    }
    const proxied: ProxiedRequest = {
      method: seen.method,
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      accessKeyId: accessKeyOf(req, url.searchParams),
      exists: () => head(url.pathname),
    };
    void (async () => {
      for (const rule of rules) {
        const reply = await rule(proxied);
        if (reply) {
          seen.answeredByRule = true;
          req.resume();
          await new Promise((resolve) => req.on('end', resolve).on('error', resolve));
          res.writeHead(reply.status, { ...reply.headers, 'x-amz-request-id': 'FAULTPROXY000000' });
          res.end(seen.method === 'HEAD' ? undefined : reply.body);
          res.on('finish', () => {
            seen.status = reply.status;
            for (const l of listeners) l(seen);
          });
          return;
        }
      }
      forward(req, res, seen);
    })().catch(() => res.destroy());
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const proxy: FaultProxy = {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    rules,
    holdNext(point, match) {
      if (pendingHold) throw new Error('a hold is already armed');
      return new Promise((resolve) => {
        pendingHold = { point, match, resolve };
      });
    },
    onAnswered(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    stop: () =>
      new Promise((resolve) => {
        pendingHold = undefined;
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  // `rules` is read through the proxy object so tests can replace it between phases.
  Object.defineProperty(proxy, 'rules', {
    get: () => rules,
    set: (next: ProxyRule[]) => {
      rules = next;
    },
  });
  return proxy;
}
