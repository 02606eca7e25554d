/**
 * The health probe behind `dist/cli/healthcheck.js`: asks a running daemon's `/healthz` or
 * `/readyz` on the port and protocol its config names, over loopback when it listens on every
 * address. Only node:http(s) and the config loader are loaded, since probes run every few seconds.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Config } from '../config/schema.js';
import type { ReadinessScope } from '../ingest/server.js';

/** What to ask: liveness (`/healthz`), or readiness (`/readyz`) for a scope. */
export type ProbeKind = { readonly kind: 'live' } | { readonly kind: 'ready'; readonly scope: ReadinessScope };

/** Where a probe connects and what it requests. */
export interface ProbeTarget {
  readonly protocol: 'http' | 'https';
  /** An address or host name to connect to (IPv6 without brackets). */
  readonly host: string;
  readonly port: number;
  readonly path: string;
}

/**
 * How long a probe waits for the answer unless told otherwise: below the 3 s timeouts of the
 * image's HEALTHCHECK and the example probes (test/deploy.test.ts checks), so a slow answer is
 * reported by the probe itself instead of the probe being killed.
 */
export const defaultProbeTimeoutMs = 2_000;

/** Addresses that mean "every interface": a probe reaches them over IPv4 loopback. */
const wildcardHosts = new Set(['0.0.0.0', '::', '[::]']);

/** The target of a probe of the daemon `server` describes; throws when the port is 0 (picked at start, unknown here). */
export function probeTarget(server: Pick<Config['server'], 'host' | 'port' | 'tls'>, what: ProbeKind): ProbeTarget {
  if (server.port === 0) {
    throw new Error('probe daemon: server.port is 0, so the daemon picked a free port at start; set a fixed server.port to probe it');
  }
  const host = wildcardHosts.has(server.host) ? '127.0.0.1' : server.host.replace(/^\[(.*)\]$/, '$1');
  const path = what.kind === 'live' ? '/healthz' : what.scope === 'ingest' ? '/readyz?scope=ingest' : '/readyz';
  return { protocol: server.tls ? 'https' : 'http', host, port: server.port, path };
}

/** The outcome of one probe. */
export interface ProbeResult {
  /** True when the daemon answered 200. */
  readonly ok: boolean;
  /** The HTTP status, when the daemon answered. */
  readonly status?: number;
  /** The answer's body (the first 4 KiB), or why there was none. */
  readonly text: string;
}

/** Most body bytes kept for the probe's output: a /readyz answer is far smaller. */
const maxBodyBytes = 4096;

/**
 * Sends one GET to `target` and waits at most `timeoutMs` for the whole answer. HTTPS accepts
 * any certificate: the probe only talks to its own daemon, which may use a self-signed one.
 */
export function probe(target: ProbeTarget, timeoutMs: number): Promise<ProbeResult> {
  const send = target.protocol === 'https' ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    const req = send(
      { host: target.host, port: target.port, path: target.path, method: 'GET', timeout: timeoutMs, rejectUnauthorized: false, agent: false },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (text.length < maxBodyBytes) text += chunk.slice(0, maxBodyBytes - text.length);
        });
        res.on('end', () => resolve({ ok: res.statusCode === 200, status: res.statusCode ?? 0, text }));
        res.on('error', (err) => resolve({ ok: false, text: `read answer: ${err.message}` }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err) => resolve({ ok: false, text: (err as NodeJS.ErrnoException).code ?? err.message }));
    req.end();
  });
}
