/**
 * Reads a request body with a size limit that applies to the bytes on the wire and again to the
 * bytes after gunzip, so neither a large body nor a gzip bomb gets past `maxBytes`.
 */
import type { IncomingMessage } from 'node:http';
import { createGunzip, type Gunzip } from 'node:zlib';

/** Why a body could not be read; maps to an HTTP status. */
export type BodyFailure =
  | { kind: 'too_large'; message: string }
  | { kind: 'bad_encoding'; message: string }
  | { kind: 'unsupported_encoding'; message: string }
  | { kind: 'aborted'; message: string }
  | { kind: 'over_budget'; message: string };

/** A body, or why there is none. */
export type BodyResult = { ok: true; bytes: Buffer } | ({ ok: false } & BodyFailure);

/** Content-Encoding values accepted; `identity` and absent mean none. */
export function contentEncoding(header: string | undefined): 'identity' | 'gzip' | undefined {
  const value = (header ?? 'identity').trim().toLowerCase();
  if (value === '' || value === 'identity') return 'identity';
  if (value === 'gzip' || value === 'x-gzip') return 'gzip';
  return undefined;
}

/**
 * Reads the whole body of `req`, enforcing `maxBytes` before and after decompression. With
 * `reserve`, every byte received and every byte gunzip produces is reserved first (the bytes
 * `reserve` already got up front, `prepaid`, are not asked again); a refusal ends the read as
 * `over_budget`.
 */
export function readBody(req: IncomingMessage, maxBytes: number, budget?: { reserve: (n: number) => boolean; prepaid: number }): Promise<BodyResult> {
  const encoding = contentEncoding(req.headers['content-encoding']);
  if (encoding === undefined) {
    return Promise.resolve({
      ok: false,
      kind: 'unsupported_encoding',
      message: `Content-Encoding ${req.headers['content-encoding']} is not supported; send identity or gzip`,
    });
  }
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    return Promise.resolve({
      ok: false,
      kind: 'too_large',
      message: `body of ${declared} bytes is larger than server.maxBodyBytes (${maxBytes})`,
    });
  }
  return new Promise<BodyResult>((resolve) => {
    const chunks: Buffer[] = [];
    let wire = 0;
    let size = 0;
    let settled = false;
    let gunzip: Gunzip | undefined;
    const finish = (result: BodyResult): void => {
      if (settled) return;
      settled = true;
      req.off('data', onWire);
      if (gunzip) gunzip.destroy();
      if (!result.ok) req.resume(); // discard the rest; the answer closes the connection
      resolve(result);
    };
    const tooLarge = (what: string): void =>
      finish({ ok: false, kind: 'too_large', message: `${what} is larger than server.maxBodyBytes (${maxBytes})` });
    let prepaid = budget?.prepaid ?? 0;
    const overBudget = (): void =>
      finish({ ok: false, kind: 'over_budget', message: 'request bodies in flight would exceed server.maxInflightBytes; retry shortly' });
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) return tooLarge(encoding === 'gzip' ? 'body after gunzip' : 'body');
      // The decoded bytes of a gzip body are held as well as its compressed bytes.
      if (gunzip && budget && !budget.reserve(chunk.length)) return overBudget();
      chunks.push(chunk);
    };
    const onWire = (chunk: Buffer): void => {
      wire += chunk.length;
      if (wire > maxBytes) return tooLarge('body');
      if (budget) {
        const fromPrepaid = Math.min(prepaid, chunk.length);
        prepaid -= fromPrepaid;
        if (!budget.reserve(chunk.length - fromPrepaid)) return overBudget();
      }
      if (gunzip) gunzip.write(chunk);
      else onData(chunk);
    };
    if (encoding === 'gzip') {
      gunzip = createGunzip();
      gunzip.on('data', onData);
      gunzip.on('error', (err) =>
        finish({ ok: false, kind: 'bad_encoding', message: `body is not valid gzip: ${err.message}` }),
      );
      gunzip.on('end', () => finish({ ok: true, bytes: Buffer.concat(chunks) }));
    }
    req.on('data', onWire);
    req.on('end', () => {
      if (gunzip) gunzip.end();
      else finish({ ok: true, bytes: Buffer.concat(chunks) });
    });
    req.on('error', (err) => finish({ ok: false, kind: 'aborted', message: `read body: ${err.message}` }));
    req.on('aborted', () => finish({ ok: false, kind: 'aborted', message: 'read body: client went away' }));
  });
}
