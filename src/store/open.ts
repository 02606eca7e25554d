/**
 * Opening a destination: the URL scheme picks the backend (`s3://` or `file://`).
 */
import type { Config } from '../config/schema.js';
import { createFileStore } from './file.js';
import { createS3Store, type S3StoreOptions } from './s3.js';
import { StoreError, type ObjectStore } from './store.js';

/** Per-client settings that only tests and tools override; the daemon passes none. */
export type OpenStoreOptions = Pick<S3StoreOptions, 'maxAttempts' | 'credentials'>;

/** Opens the store for an export destination (`s3://bucket/prefix/`, `file:///dir/`, `file://./dir/`). */
export function openStore(destination: string, s3Config: Config['s3'], options: OpenStoreOptions = {}): ObjectStore {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(destination)?.[1]?.toLowerCase();
  if (scheme === 's3') return createS3Store({ url: destination, s3: s3Config, ...options });
  if (scheme === 'file') return createFileStore({ url: destination });
  throw new StoreError('other', `open destination ${destination}: ${scheme ? `unsupported scheme "${scheme}:"` : 'not a URL'}`, {
    retryable: false,
    hint: 'use s3://bucket/prefix/, file:///absolute/dir/ or file://./relative/dir/',
  });
}
