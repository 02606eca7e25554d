/**
 * SHA-256 and size of a staged file, read once as a stream (the staged file was just written, so
 * the read is served from the page cache), for the digest of an export with `integrity`: Parquet
 * files, which DuckDB writes (the text encoders hash their bytes as they write them).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** Hex SHA-256 and byte count of a file or a buffer. */
export interface ContentHash {
  readonly sha256: string;
  readonly bytes: number;
}

/** Streams `path` once through SHA-256 (bounded memory). */
export async function hashFile(path: string, signal?: AbortSignal): Promise<ContentHash> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path, signal ? { signal } : {})) {
    hash.update(chunk as Buffer);
    bytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

/** Streams a readable (an object read back from a store) once through SHA-256 (bounded memory). */
export async function hashStream(stream: AsyncIterable<unknown>): Promise<ContentHash> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of stream) {
    const buffer = chunk as Buffer;
    hash.update(buffer);
    bytes += buffer.length;
  }
  return { sha256: hash.digest('hex'), bytes };
}
