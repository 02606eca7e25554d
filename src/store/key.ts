/**
 * Key and metadata rules shared by every backend, so a key or metadata that works on one
 * destination works on all of them. Keys: relative, `/`-separated, no empty, `.` or `..` segments,
 * never a backend's temp-file name or metadata folder. Metadata: what S3 takes as user metadata.
 */
import { StoreError, type ObjectMetadata } from './store.js';

/** Prefix of the temp files the file backend writes before renaming; such names are never keys. */
export const tempFilePrefix = '.logbarge-tmp-';

/** Top-level folder where the file backend keeps object metadata; no key may start with it. */
export const metadataFolder = '.logbarge-meta';

/** S3's limit on user metadata: 2 KB, counting the UTF-8 bytes of every name and value. */
export const maxMetadataBytes = 2048;

/** Why `key` is not a valid key, or undefined when it is. */
function keyProblem(key: string, { isPrefix }: { isPrefix: boolean }): string | undefined {
  if (key === '') return isPrefix ? undefined : 'the key is empty';
  if (key.startsWith('/') || key.startsWith('\\') || /^[A-Za-z]:/.test(key)) return 'the key is absolute';
  if (key.includes('\0')) return 'the key contains a NUL character';
  const segments = key.split('/');
  if (segments[0] === metadataFolder) return `the key starts with "${metadataFolder}/", reserved for object metadata`;
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

/** A metadata name S3 keeps as sent: lowercase letters, digits and inner `-` (it lowercases the rest). */
const metadataName = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
/** A metadata value that survives an HTTP header unchanged: printable ASCII, no space at either end. */
const metadataValue = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;

/** Throws a non-retryable StoreError naming the bad field when `metadata` of `key` breaks the rules. */
export function checkMetadata(key: string, metadata: ObjectMetadata): void {
  const fail = (problem: string): never => {
    throw new StoreError('other', `check metadata of ${JSON.stringify(key)}: ${problem}`, {
      retryable: false,
      hint: 'metadata names are lowercase letters, digits and "-"; values are printable ASCII without leading or trailing spaces',
    });
  };
  let bytes = 0;
  for (const [name, value] of Object.entries(metadata)) {
    if (!metadataName.test(name)) fail(`name ${JSON.stringify(name)} is not lowercase letters, digits and inner "-"`);
    if (typeof value !== 'string' || !metadataValue.test(value)) fail(`value of ${JSON.stringify(name)} is not printable ASCII without spaces at either end`);
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value);
  }
  if (bytes > maxMetadataBytes) fail(`${bytes} bytes of names and values, over S3's limit of ${maxMetadataBytes}`);
}

/** Orders keys as S3 does: by their UTF-8 bytes (JS string order differs beyond the BMP). */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** The StoreError for an operation cancelled by the caller's AbortSignal. */
export function abortedError(action: string, cause?: unknown): StoreError {
  return new StoreError('aborted', `${action}: aborted by the caller`, { cause, retryable: false });
}
