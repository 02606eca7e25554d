/**
 * API key authentication: the configured header, or `Authorization: Bearer KEY`. Keys are
 * compared as SHA-256 digests with timingSafeEqual, against every key (no early exit), so timing
 * reveals neither a key's prefix nor which key matched. Keys are never logged.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** Checks requests against a set of keys. */
export interface Authenticator {
  /** True when no keys are configured (loopback-only deployments). */
  readonly open: boolean;
  /** True when the request carries one of the keys, or when no keys are configured. */
  check(headers: IncomingHttpHeaders): boolean;
  /** True only when keys are configured and the request carries one of them (who may read error details). */
  presentsKey(headers: IncomingHttpHeaders): boolean;
}

/** Builds an authenticator for `keys`, read from `headerName` or `Authorization: Bearer`. */
export function createAuthenticator(options: { keys: readonly string[]; headerName: string }): Authenticator {
  const digests = options.keys.map(digest);
  const header = options.headerName.toLowerCase();
  const matches = (candidate: string | undefined): boolean => {
    if (candidate === undefined || candidate === '') return false;
    const given = digest(candidate);
    let found = false;
    for (const d of digests) found = timingSafeEqual(d, given) || found;
    return found;
  };
  const presentsKey = (headers: IncomingHttpHeaders): boolean => {
    if (digests.length === 0) return false;
    const direct = headers[header];
    const fromHeader = Array.isArray(direct) ? direct[0] : direct;
    const authorization = headers.authorization;
    const bearer = authorization && /^Bearer\s+(.+)$/i.exec(authorization)?.[1]?.trim();
    // Both are evaluated, so timing does not depend on which header carries the key.
    const a = matches(fromHeader);
    const b = matches(bearer || undefined);
    return a || b;
  };
  return {
    open: digests.length === 0,
    check: (headers) => digests.length === 0 || presentsKey(headers),
    presentsKey,
  };
}
