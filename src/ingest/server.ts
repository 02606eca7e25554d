/**
 * The HTTP ingest server (node:http). POST /v1/events answers 202 only after the spool
 * transaction holding the request's events is durable; a request with any invalid record
 * stores nothing and gets 400 naming the record and field.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import { Server as NetServer, type AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { isCode, describeError, LogbargeError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import type { GroupCommitter } from '../spool/group-commit.js';
import type { AppendOutcome } from '../spool/spool.js';
import { createAuthenticator } from './auth.js';
import { isLoopbackPeer } from './peer.js';
import { readBody } from './body.js';
import { createByteBudget, type BudgetHold } from './budget.js';
import { acceptedContentTypes, bodyKind, decodeUtf8 } from './decode.js';
import { decodeBodySliced, prepareSliced } from './slices.js';
import { maxErrors, type Preparer, type Prepared } from './prepare.js';

/** Server settings, the `server` config section. */
export interface ServerOptions {
  readonly host: string;
  readonly port: number;
  readonly apiKeyHeader: string;
  readonly apiKeys: readonly string[];
  /** The config's sources: each has a route, POST /v1/events/<name>, and keys valid only there. */
  readonly sources?: Readonly<Record<string, { readonly apiKeys: readonly string[] }>>;
  readonly maxBodyBytes: number;
  /** Most body bytes held by requests in flight, as received and again after gunzip (`server.maxInflightBytes`). */
  readonly maxInflightBytes: number;
  readonly requestTimeoutMs: number;
  readonly maxConnections: number;
  /** Longest a POST /v1/flush runs before its cycle is aborted and it answers 504 (`server.flushTimeoutMs`). */
  readonly flushTimeoutMs: number;
  /** Loopback peers without an API key may read error details (`server.loopbackDetails`). */
  readonly loopbackDetails: boolean;
  readonly tls: { cert: string; key: string } | null;
}

/** A reason to refuse new events (spool full, disk low, draining), or undefined to admit. */
export type Admission = () => { reason: string; retryAfterSeconds: number } | undefined;

/** Stable reason codes of `/readyz` (README, "Other endpoints"). */
export type ReadinessCode = 'draining' | 'spool_full' | 'disk_low' | 'spool_write_failed' | 'destination_unverified';

/** Codes that stop ingest: `GET /readyz?scope=ingest` reports only these. */
export const ingestReadinessCodes: ReadonlySet<ReadinessCode> = new Set<ReadinessCode>(['draining', 'spool_full', 'disk_low', 'spool_write_failed']);

/** One reason the daemon is not ready. */
export interface ReadinessReason {
  readonly code: ReadinessCode;
  /** For destination_unverified: the typed verify failure (`access_denied`, `unreachable`, …), or `pending` before the first verify finished. */
  readonly failure?: string;
  /** The full message; it can carry a cloud error text, so only trusted callers get it. */
  readonly detail: string;
}

/** The reasons the daemon is not ready now; empty when it is. */
export type Readiness = () => ReadinessReason[];

/** What `/readyz` answers for: everything (`all`, the default) or accepting events only (`ingest`). */
export type ReadinessScope = 'all' | 'ingest';

/** The `/readyz` body. */
export interface ReadinessBody {
  readonly ready: boolean;
  /** Distinct codes, in the order the reasons came. */
  readonly reasons: ReadinessCode[];
  /** Distinct typed failures of unverified destinations; present only with destination_unverified. */
  readonly verifyFailures?: string[];
  /** The full messages; present only for trusted callers. */
  readonly details?: string[];
}

/** Builds the `/readyz` body from the reasons: codes for anyone, messages only when `trusted`. */
export function readinessBody(reasons: readonly ReadinessReason[], options: { scope: ReadinessScope; trusted: boolean }): ReadinessBody {
  const inScope = options.scope === 'ingest' ? reasons.filter((r) => ingestReadinessCodes.has(r.code)) : reasons;
  const failures = [...new Set(inScope.flatMap((r) => (r.code === 'destination_unverified' && r.failure ? [r.failure] : [])))];
  return {
    ready: inScope.length === 0,
    reasons: [...new Set(inScope.map((r) => r.code))],
    ...(failures.length > 0 ? { verifyFailures: failures } : {}),
    ...(options.trusted ? { details: inScope.map((r) => r.detail) } : {}),
  };
}

/** One export's outcome in a POST /v1/flush answer; `error` can carry a cloud error text. */
export interface FlushExportResult {
  readonly export: string;
  readonly error?: string;
}

/** Stands in for an export's error in flush answers to callers not trusted with details. */
const withheldError = 'export failed; the daemon log has the error';

/** Dependencies of the ingest server. */
export interface IngestServerDeps {
  readonly options: ServerOptions;
  readonly preparer: Preparer;
  readonly committer: GroupCommitter;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly admission: Admission;
  readonly readiness: Readiness;
  /**
   * Runs an export cycle now (POST /v1/flush) under `signal`, which aborts at
   * server.flushTimeoutMs or when the server closes; absent means the route answers 404.
   */
  readonly flush?: (signal: AbortSignal) => Promise<{ exports: readonly FlushExportResult[] }>;
}

/** The running ingest server. */
export interface IngestServer {
  readonly server: Server;
  /** Starts listening; resolves with the bound address. */
  listen(): Promise<AddressInfo>;
  /**
   * Stops accepting connections, aborts running POST /v1/flush requests (they answer 503), and
   * waits for in-flight requests to finish; requestTimeoutMs still cuts off slow ones.
   */
  close(): Promise<void>;
}

/** Most distinct unknown field names (and conflicting ids) warned about, so hostile input cannot grow the sets forever. */
const maxWarnedFields = 1000;
const maxWarnedConflicts = 10_000;

/** Reads a PEM file named by `server.tls.<field>`; a missing or unreadable file is a config error naming the key. */
function readTlsFile(field: 'cert' | 'key', path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new LogbargeError('CONFIG_INVALID', `read server.tls.${field} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      cause: err,
      hint: `point server.tls.${field} at a readable PEM file, or set server.tls to null for plain HTTP`,
    });
  }
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/**
 * A failed listen as an operator reads it: where, why, and the setting to change. It keeps the
 * system error's `code` (EADDRINUSE …) for a caller that tells them apart.
 */
function listenError(err: NodeJS.ErrnoException, host: string, port: number): NodeJS.ErrnoException {
  const where = `server: listen on ${host}:${port}`;
  const why =
    err.code === 'EADDRINUSE'
      ? 'the address is in use (EADDRINUSE): another process listens there; stop it, or set server.port'
      : err.code === 'EACCES'
        ? 'permission denied (EACCES): ports below 1024 need privileges; set server.port to 1024 or above'
        : err.code === 'EADDRNOTAVAIL'
          ? 'no interface of this machine has that address (EADDRNOTAVAIL); set server.host'
          : err.message;
  return Object.assign(new Error(`${where}: ${why}`), err.code === undefined ? {} : { code: err.code });
}

/** Creates the ingest server; call listen() to start it. */
export function createIngestServer(deps: IngestServerDeps): IngestServer {
  const { options, metrics, logger } = deps;
  const auth = createAuthenticator({ keys: options.apiKeys, headerName: options.apiKeyHeader });
  const budget = createByteBudget(options.maxInflightBytes, (used) => metrics.inflightBytes.set(used));
  const warnedFields = new Set<string>();
  const warnedConflicts = new Set<string>();
  /** Who may read error details: a caller with a valid key, or a loopback peer while loopbackDetails allows. */
  const trusted = (req: IncomingMessage): boolean =>
    auth.presentsKey(req.headers) || (options.loopbackDetails && isLoopbackPeer(req.socket.remoteAddress));

  const answer = (res: ServerResponse, route: string, status: number, body: unknown, headers?: Record<string, string>) => {
    metrics.requests.inc({ route, status: String(status) });
    send(res, status, body, headers);
  };

  function noteCounters(prepared: Prepared): void {
    if (prepared.unknownEventTypes > 0) metrics.unknownEventTypes.inc(prepared.unknownEventTypes);
    for (const [field, count] of prepared.unknownFields) {
      metrics.unknownFields.inc(count);
      if (!warnedFields.has(field) && warnedFields.size < maxWarnedFields) {
        warnedFields.add(field);
        logger.warn({ field: field.slice(0, 100) }, 'dropping input field that matches no column (warned once per name)');
      }
    }
  }

  function countByShape(prepared: Prepared, outcome: AppendOutcome): void {
    const duplicate = new Set(outcome.duplicateRows);
    const accepted = new Map<string, number>();
    const duplicates = new Map<string, number>();
    prepared.rowShapes.forEach((shape, i) => {
      if (shape === 'quarantine') return; // counted in logbarge_events_quarantined_total
      const into = duplicate.has(i) ? duplicates : accepted;
      into.set(shape, (into.get(shape) ?? 0) + 1);
    });
    for (const [shape, n] of accepted) metrics.eventsAccepted.inc({ shape }, n);
    for (const [shape, n] of duplicates) metrics.eventsDuplicate.inc({ shape }, n);
    for (const i of outcome.conflictRows) {
      const row = prepared.rows[i];
      metrics.eventsConflict.inc({ shape: prepared.rowShapes[i] ?? 'canonical' });
      if (row && !warnedConflicts.has(row.eventId) && warnedConflicts.size < maxWarnedConflicts) {
        warnedConflicts.add(row.eventId);
        logger.warn(
          { eventId: row.eventId.slice(0, 200), eventTime: new Date(row.eventMs).toISOString() },
          'EVENT_ID already stored at this EVENT_TIME with other content; both are kept (logged once per id)',
        );
      }
    }
  }

  /** Authenticators of the source routes: the source's own keys (its header, or Bearer) and the server's. */
  const sourceAuth = new Map(
    Object.entries(options.sources ?? {}).map(([name, source]) => {
      const compiled = deps.preparer.source(name);
      return [name, createAuthenticator({ keys: source.apiKeys, headerName: compiled?.apiKeyHeader ?? options.apiKeyHeader })] as const;
    }),
  );
  const anyKeys = !auth.open || [...sourceAuth.values()].some((a) => !a.open);
  /** True when the request may post to `source` (undefined: POST /v1/events, server keys only). */
  const allowed = (req: IncomingMessage, source: string | undefined): boolean => {
    if (!anyKeys) return true; // no key anywhere: loopback-only deployment
    const server = auth.presentsKey(req.headers);
    const own = source === undefined ? false : (sourceAuth.get(source)?.presentsKey(req.headers) ?? false);
    return server || own;
  };

  async function postEvents(req: IncomingMessage, res: ServerResponse, source: string | undefined): Promise<void> {
    const route = source === undefined ? '/v1/events' : '/v1/events/:source';
    if (!allowed(req, source)) {
      return answer(res, route, 401, { error: 'missing or wrong API key' }, { 'www-authenticate': 'Bearer' });
    }
    const refusal = deps.admission();
    if (refusal) {
      return answer(res, route, 503, { error: refusal.reason }, { 'retry-after': String(refusal.retryAfterSeconds) });
    }
    const kind = bodyKind(req.headers['content-type']);
    if (!kind) {
      return answer(res, route, 415, {
        error: `Content-Type ${req.headers['content-type'] ?? '(none)'} is not supported; send UTF-8 ${acceptedContentTypes.join(', ')}`,
      }, { connection: 'close' });
    }
    const hold = budget.hold();
    try {
      await readAndStore(req, res, source, route, kind, hold);
    } finally {
      hold.release();
    }
  }

  /** Refuses a request the byte budget cannot hold: 503, and the connection closes (its body is not read). */
  function overBudget(res: ServerResponse, route: string, message: string): void {
    metrics.inflightRefused.inc();
    return answer(res, route, 503, { error: message }, { 'retry-after': '1', connection: 'close' });
  }

  async function readAndStore(
    req: IncomingMessage,
    res: ServerResponse,
    source: string | undefined,
    route: string,
    kind: NonNullable<ReturnType<typeof bodyKind>>,
    hold: BudgetHold,
  ): Promise<void> {
    // A declared length is held before reading, so a request that cannot fit is refused at once.
    const declared = Number(req.headers['content-length']);
    const prepaid = Number.isFinite(declared) && declared > 0 && declared <= options.maxBodyBytes ? declared : 0;
    if (!hold.reserve(prepaid)) {
      return overBudget(res, route, `request bodies in flight would exceed server.maxInflightBytes (${options.maxInflightBytes}); retry shortly`);
    }
    const body = await readBody(req, options.maxBodyBytes, { reserve: (n) => hold.reserve(n), prepaid });
    if (!body.ok) {
      if (body.kind === 'over_budget') return overBudget(res, route, `${body.message} (${options.maxInflightBytes})`);
      const status = body.kind === 'too_large' ? 413 : body.kind === 'unsupported_encoding' ? 415 : 400;
      if (body.kind === 'aborted') return;
      const details = status === 400 ? { details: [{ index: 0, field: '(body)', message: body.message }] } : {};
      return answer(res, route, status, { error: body.message, ...details }, { connection: 'close' });
    }
    const arrival = { receivedAt: Date.now(), ...(source === undefined ? {} : { source }) };
    const quarantining = source !== undefined && deps.preparer.source(source)?.onInvalid === 'quarantine';
    const text = decodeUtf8(body.bytes);
    if (text === undefined && !quarantining) {
      metrics.eventsRejected.inc({ reason: 'invalid' });
      return answer(res, route, 400, {
        error: 'body is not valid UTF-8',
        details: [{ index: 0, field: '(body)', message: 'is not valid UTF-8' }],
      });
    }
    let prepared: Prepared;
    if (text === undefined) {
      // Kept as text with the bytes that are not UTF-8 replaced: the sender will not retry.
      prepared = deps.preparer.prepareReadable([], [{ index: 0, text: body.bytes.toString('utf8'), message: '(body): is not valid UTF-8' }], arrival);
    } else {
      const decoded = await decodeBodySliced(text, kind);
      if (!decoded.ok && !quarantining) {
        metrics.eventsRejected.inc({ reason: 'invalid' }, decoded.errors.length);
        return answer(res, route, 400, { error: 'body is not valid JSON', details: decoded.errors });
      }
      prepared = decoded.ok
        ? await prepareSliced(deps.preparer, decoded.records, arrival)
        : deps.preparer.prepareReadable(decoded.readable, decoded.unreadable, arrival);
      if (prepared.errorCount > 0) {
        const records = decoded.ok ? decoded.records.length : decoded.readable.length;
        metrics.eventsRejected.inc({ reason: 'invalid' }, records);
        return answer(res, route, 400, {
          error: `rejected ${records} record(s): ${prepared.errorCount} problem(s); nothing was stored`,
          details: prepared.errors,
          ...(prepared.errorCount > prepared.errors.length ? { omitted: prepared.errorCount - prepared.errors.length } : {}),
        });
      }
    }
    try {
      const outcome = await deps.committer.append(prepared.rows);
      noteCounters(prepared);
      countByShape(prepared, outcome);
      const events = prepared.rows.length - prepared.quarantineRows;
      const quarantineDuplicates = outcome.duplicateRows.filter((i) => i >= events).length;
      if (prepared.quarantineRows > 0) {
        metrics.eventsQuarantined.inc({ source: source ?? '(default)' }, prepared.quarantineRows - quarantineDuplicates);
      }
      const accepted = source === undefined ? undefined : deps.preparer.source(source)?.acceptedStatus;
      if (accepted === 204) {
        metrics.requests.inc({ route, status: '204' });
        res.writeHead(204);
        res.end();
        return;
      }
      return answer(res, route, 202, {
        accepted: outcome.accepted - (prepared.quarantineRows - quarantineDuplicates),
        duplicates: outcome.duplicates - quarantineDuplicates,
        ...(outcome.conflictRows.length > 0 ? { conflicts: outcome.conflictRows.length } : {}),
        ...(prepared.quarantined.length > 0
          ? { quarantined: prepared.quarantined.length, quarantine: prepared.quarantined.slice(0, maxErrors).map((q) => ({ index: q.index, ...(q.path ? { path: q.path } : {}), errors: q.errors })) }
          : {}),
      });
    } catch (err) {
      const full = isCode(err, 'SPOOL_FULL');
      metrics.eventsRejected.inc({ reason: full ? 'spool_full' : 'spool_error' }, prepared.rows.length);
      if (!full) logger.error({ err: describeError(err) }, 'spool append failed');
      return answer(
        res,
        route,
        503,
        { error: full ? 'spool is full; retry later' : 'spool is unavailable; retry later' },
        { 'retry-after': full ? '30' : '5' },
      );
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const path = url.split('?', 1)[0];
    const method = req.method ?? 'GET';
    if (path === '/v1/events' && method === 'POST') return postEvents(req, res, undefined);
    const sourceRoute = /^\/v1\/events\/([a-z0-9][a-z0-9_-]{0,62})$/.exec(path ?? '');
    if (sourceRoute && !sourceAuth.has(sourceRoute[1]!)) {
      return answer(res, 'other', 404, { error: `no source named ${sourceRoute[1]} (configure it under sources)` });
    }
    if (sourceRoute && method === 'POST') return postEvents(req, res, sourceRoute[1]);
    if ((path === '/v1/events' || sourceRoute) && method === 'GET' && req.headers['x-okta-verification-challenge']) {
      // Okta event hooks verify an endpoint once by echoing this challenge.
      const route = sourceRoute ? '/v1/events/:source' : '/v1/events';
      if (!allowed(req, sourceRoute?.[1])) return answer(res, route, 401, { error: 'missing or wrong API key' });
      return answer(res, route, 200, { verification: String(req.headers['x-okta-verification-challenge']) });
    }
    if (path === '/v1/flush' && method === 'POST' && deps.flush) {
      // Server keys only: a source's key may post that source's events, nothing else.
      if (!allowed(req, undefined)) return answer(res, path, 401, { error: 'missing or wrong API key' });
      const details = trusted(req);
      const timeout = AbortSignal.timeout(options.flushTimeoutMs);
      metrics.flushesInFlight.inc();
      try {
        const result = await deps.flush(AbortSignal.any([closing.signal, timeout]));
        const shown = details ? result : { ...result, exports: result.exports.map((e) => (e.error === undefined ? e : { ...e, error: withheldError })) };
        if (closing.signal.aborted) {
          return answer(res, path, 503, { error: 'logbarge is shutting down; the flush was cut short (its final cycle exports the rest)', ...shown }, { 'retry-after': '5' });
        }
        if (timeout.aborted) {
          return answer(res, path, 504, {
            error: `flush did not finish within server.flushTimeoutMs (${options.flushTimeoutMs} ms); what it delivered stays delivered, the next cycle exports the rest`,
            ...shown,
          });
        }
        return answer(res, path, 200, shown);
      } catch (err) {
        logger.error({ err: describeError(err) }, 'flush failed');
        return answer(res, path, 500, { error: details ? describeError(err) : 'flush failed; the daemon log has the error' });
      } finally {
        metrics.flushesInFlight.dec();
      }
    }
    if (path === '/healthz' && method === 'GET') return answer(res, path, 200, { status: 'ok' });
    if (path === '/readyz' && method === 'GET') {
      const scope = new URLSearchParams(url.slice((path ?? '').length + 1)).get('scope') ?? 'all';
      if (scope !== 'all' && scope !== 'ingest') {
        return answer(res, path, 400, { error: 'check readiness: query parameter scope must be "all" or "ingest"' });
      }
      const body = readinessBody(deps.readiness(), { scope, trusted: trusted(req) });
      return answer(res, path, body.ready ? 200 : 503, body);
    }
    if (path === '/metrics' && method === 'GET') {
      const text = await metrics.registry.metrics();
      metrics.requests.inc({ route: path, status: '200' });
      res.writeHead(200, { 'content-type': metrics.registry.contentType });
      res.end(text);
      return;
    }
    const known = ['/v1/events', '/v1/flush', '/healthz', '/readyz', '/metrics'];
    if (known.includes(path ?? '')) return answer(res, 'other', 405, { error: `${method} is not allowed on ${path}` });
    return answer(res, 'other', 404, { error: `no route ${method} ${path}` });
  }

  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch((err: unknown) => {
      logger.error({ err: describeError(err) }, 'request failed');
      if (!res.headersSent) send(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  };

  // requestTimeout is enforced by a sweep every connectionsCheckingInterval (30 s by default):
  // sweep often enough that a slow client is cut off close to the configured timeout.
  const sweep = { connectionsCheckingInterval: Math.min(1000, options.requestTimeoutMs) };
  const server: Server = options.tls
    ? (createHttpsServer({ cert: readTlsFile('cert', options.tls.cert), key: readTlsFile('key', options.tls.key), ...sweep }, listener) as unknown as Server)
    : createHttpServer(sweep, listener);
  server.requestTimeout = options.requestTimeoutMs;
  server.headersTimeout = Math.min(options.requestTimeoutMs, 60_000);
  server.keepAliveTimeout = 5_000;
  server.maxConnections = options.maxConnections;

  /** Aborted when close() begins: running POST /v1/flush requests stop and answer 503. */
  const closing = new AbortController();

  return {
    server,
    listen() {
      return new Promise<AddressInfo>((resolve, reject) => {
        const failed = (err: NodeJS.ErrnoException): void => reject(listenError(err, options.host, options.port));
        server.once('error', failed);
        server.listen(options.port, options.host, () => {
          server.off('error', failed);
          resolve(server.address() as AddressInfo);
        });
      });
    },
    close() {
      closing.abort(new Error('the server is closing'));
      return new Promise<void>((resolve) => {
        // http.Server#close() also stops the sweep that enforces requestTimeout and headersTimeout,
        // which would let a slow client hold the drain open indefinitely. net.Server#close() only
        // stops accepting; once the last connection is gone, http.Server#close() stops the sweep.
        NetServer.prototype.close.call(server, () => {
          server.close();
          resolve();
        });
        server.closeIdleConnections();
      });
    },
  };
}
