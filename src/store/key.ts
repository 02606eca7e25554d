/**
 * Key rules shared by every backend, so a key that works on one destination works on all of them:
 * relative, `/`-separated, no empty, `.` or `..` segments, and never a backend's temp-file name.
 */
import { StoreError } from './store.js';

/** Prefix of the temp files the file backend writes before renaming; such names are never keys. */
export const tempFilePrefix = '.logbarge-tmp-';

/** Why `key` is not a valid key, or undefined when it is. */
function keyProblem(key: string, { isPrefix }: { isPrefix: boolean }): string | undefined {
  if (key === '') return isPrefix ? undefined : 'the key is empty';
  if (key.startsWith('/') || key.startsWith('\\') || /^[A-Za-z]:/.test(key)) return 'the key is absolute';
  if (key.includes('\0')) return 'the key contains a NUL character';
  const segments = key.split('/');
  // A prefix may end with `/` ("dt=2026-03-14/"), which leaves one empty last segment.
  const checked = isPrefix && key.endsWith('/') ? segments.slice(0, -1) : segments;
  for (const segment of checked) {
    if (segment === '') return 'the key has an empty segment (a leading, doubled or trailing "/")';
    if (segment === '.' || segment === '..') return `the key has a "${segment}" segment`;
    if (segment.startsWith(tempFilePrefix)) return `the key has a segment starting with "${tempFilePrefix}", reserved for temp files`;
  }
  return undefined;
}

/** Throws a non-retryable StoreError when `key` could escape the destination or is malformed. */
export function checkKey(key: string): void {
  const problem = keyProblem(key, { isPrefix: false });
  if (problem !== undefined) {
    throw new StoreError('other', `check key ${JSON.stringify(key)}: ${problem}`, {
      retryable: false,
      hint: 'keys are relative paths like "dt=2026-03-14/name.parquet" without "." or ".." segments',
    });
  }
}

/** Throws a non-retryable StoreError when a list `prefix` is malformed (the empty prefix is fine). */
export function checkPrefix(prefix: string): void {
  const problem = keyProblem(prefix, { isPrefix: true });
  if (problem !== undefined) {
    throw new StoreError('other', `check prefix ${JSON.stringify(prefix)}: ${problem}`, { retryable: false });
  }
}

/** Orders keys as S3 does: by their UTF-8 bytes (JS string order differs beyond the BMP). */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** The StoreError for an operation cancelled by the caller's AbortSignal. */
export function abortedError(action: string, cause?: unknown): StoreError {
  return new StoreError('aborted', `${action}: aborted by the caller`, { cause, retryable: false });
}
