/**
 * The `file` backend: objects are files under a directory, keys are relative paths. Every write
 * goes to a temp name in the target directory, is fsynced, then renamed (or hard-linked, for
 * `ifAbsent`) into place and the directory fsynced, so a reader or a crash never sees half a file.
 * Symbolic links inside the directory are refused, not followed: every operation first checks
 * (lstat) each path component below the directory (the directory itself may be a link).
 *
 * Metadata: a file has no user metadata, so a put with `metadata` also writes a JSON sidecar,
 * `.logbarge-meta/<key>.meta/<SHA-256 of the object's bytes>.json`, fsynced and renamed into
 * place before the object file is linked or renamed into place: an object that exists has its
 * sidecar. The folder starts with `.`, which Hive, Athena and Spark skip, sits outside every `dt=`
 * partition and is never listed; no path in it ends in a data extension (`.parquet`), so a
 * search for data files by extension does not find it. A sidecar is named by the bytes it describes, so it is never
 * overwritten by another writer's description of other bytes: when two writers race for one key,
 * the bytes that won the link find their own sidecar, the loser's is never read. `head` hashes
 * the object file to find its sidecar (only when the key has sidecars); none found means no
 * metadata. A sidecar left by a put that crashed or lost a race describes bytes no object holds.
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants as fsConstants, createReadStream } from 'node:fs';
import { chmod, copyFile, link, lstat, mkdir, open, readdir, readFile, rename, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { abortedError, checkKey, checkMetadata, checkPrefix, compareKeys, metadataFolder, tempFilePrefix } from './key.js';
import { StoreError, type ListedObject, type ObjectMetadata, type ObjectStore, type PutOptions, type PutResult } from './store.js';

/** Options of the file backend. */
export interface FileStoreOptions {
  /** `file:///absolute/dir/` or `file://./relative/dir/` (relative to the working directory at creation). */
  readonly url: string;
}

/** Resolves a `file://` destination URL to an absolute directory path. */
export function fileUrlToDirectory(url: string): string {
  if (url.startsWith('file://./') || url === 'file://.') {
    return resolve(process.cwd(), decodeURIComponent(url.slice('file://'.length)));
  }
  if (url.startsWith('file:///')) {
    const path = fileURLToPath(url);
    if (isAbsolute(path)) return resolve(path);
  }
  throw new StoreError('other', `open destination ${url}: not a file:///absolute/dir/ or file://./relative/dir/ URL`, {
    retryable: false,
    hint: 'use file:///var/lib/logbarge/exports/ or file://./data/exports/',
  });
}

/** The Node error code of `err`, if any. */
function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Maps a file-system error to a StoreError with an operator hint. */
function toStoreError(action: string, err: unknown, signal?: AbortSignal, op: 'read' | 'write' = 'read'): StoreError {
  if (err instanceof StoreError) return err;
  if (signal?.aborted || (err as { name?: unknown } | null)?.name === 'AbortError') return abortedError(action, err);
  const code = errnoCode(err);
  const cause = err instanceof Error ? err.message : String(err);
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
      if (op === 'write') {
        return new StoreError('other', `${action}: ${cause}`, {
          cause: err,
          retryable: false,
          hint: 'check that every part of the destination path is a directory (not a file)',
        });
      }
      return new StoreError('not_found', `${action}: ${cause}`, { cause: err });
    case 'EACCES':
    case 'EPERM':
      return new StoreError('access_denied', `${action}: ${cause}`, {
        cause: err,
        hint: 'give the user running logbarge write access to the export directory',
      });
    case 'EROFS':
      return new StoreError('access_denied', `${action}: the file system is read-only`, {
        cause: err,
        hint: 'point the destination at a writable volume',
      });
    case 'ENOSPC':
    case 'EDQUOT':
      return new StoreError('other', `${action}: no space left on the device`, {
        cause: err,
        hint: 'free space on the export volume, or move the destination',
      });
    default:
      return new StoreError('other', `${action}: ${cause}`, { cause: err });
  }
}

/** Fsyncs a file or directory by path (directories: so a rename or link survives a crash). */
async function fsyncPath(path: string, flags: string): Promise<void> {
  const handle = await open(path, flags);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Removes a file, ignoring a missing one. */
async function unlinkQuietly(path: string): Promise<void> {
  await unlink(path).catch(() => undefined);
}

/** True when `path` exists (as anything). */
async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return false;
    throw err;
  }
}

/** The refusal of a path that is a symbolic link inside the destination. */
function linkError(action: string, path: string): StoreError {
  return new StoreError('other', `${action}: ${path} is a symbolic link`, {
    retryable: false,
    hint: 'replace the symbolic link with a real directory or file, or remove it: logbarge does not follow links inside a destination (the destination directory itself may be a link)',
  });
}

/** Hex SHA-256 of a file's bytes, read as a stream. */
async function sha256OfFile(path: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash, { ...(signal ? { signal } : {}) });
  return hash.digest('hex');
}

/** A sidecar's content: the metadata, and which bytes it describes. */
interface Sidecar {
  readonly key: string;
  readonly bytes: number;
  readonly sha256: string;
  readonly metadata: ObjectMetadata;
}

/** Creates a store writing files under the directory named by `url`. */
export function createFileStore({ url }: FileStoreOptions): ObjectStore {
  const base = fileUrlToDirectory(url);
  const pathOf = (key: string): string => join(base, ...key.split('/'));
  /** The folder holding the sidecars of `key`. */
  const sidecarsOf = (key: string): string => `${join(base, metadataFolder, ...key.split('/'))}.meta`;

  /** Writes the sidecar of the staged object at `temp` (temp name, fsync, rename, fsync the folder); returns its path. */
  async function writeSidecar(key: string, temp: string, metadata: ObjectMetadata, signal?: AbortSignal): Promise<string> {
    const folder = sidecarsOf(key);
    const sha256 = await sha256OfFile(temp, signal);
    const sidecar: Sidecar = { key, bytes: (await stat(temp)).size, sha256, metadata };
    const path = join(folder, `${sha256}.json`);
    const staged = join(folder, `${tempFilePrefix}${process.pid}-${randomBytes(6).toString('hex')}`);
    await mkdir(folder, { recursive: true });
    try {
      await writeFile(staged, `${JSON.stringify(sidecar)}\n`, { flag: 'wx' });
      await fsyncPath(staged, 'r+');
      await rename(staged, path);
    } finally {
      await unlinkQuietly(staged);
    }
    await fsyncPath(folder, 'r');
    return path;
  }

  /** Removes the key's sidecars other than `keep` (after a replacing put, so head never finds the old metadata; on delete). */
  async function dropOtherSidecars(key: string, keep: string | undefined): Promise<void> {
    const folder = sidecarsOf(key);
    const names = await readdir(folder).catch(() => [] as string[]);
    for (const name of names) if (name.endsWith('.json') && join(folder, name) !== keep) await unlinkQuietly(join(folder, name));
  }

  /** The metadata of the object file at `path` (key `key`): from the sidecar named by its bytes, else `{}`. */
  async function readMetadata(key: string, path: string, signal?: AbortSignal): Promise<ObjectMetadata> {
    const folder = sidecarsOf(key);
    const names = await readdir(folder).catch((err: unknown) => {
      if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return [] as string[];
      throw err;
    });
    if (!names.some((n) => n.endsWith('.json'))) return {};
    const sha256 = await sha256OfFile(path, signal);
    if (!names.includes(`${sha256}.json`)) return {};
    const sidecar = JSON.parse(await readFile(join(folder, `${sha256}.json`), 'utf8')) as Sidecar;
    return sidecar.metadata;
  }

  /**
   * Throws linkError when a path below `base` along `segments` (the key's, or a prefix's
   * directories) is a symbolic link. The check stops at the first part that does not exist.
   */
  async function refuseLinks(action: string, segments: readonly string[]): Promise<void> {
    let path = base;
    for (const segment of segments) {
      path = join(path, segment);
      let info;
      try {
        info = await lstat(path);
      } catch (err) {
        if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return;
        throw err;
      }
      if (info.isSymbolicLink()) throw linkError(action, path);
    }
  }

  /**
   * Puts a staged temp file into place. Plain writes rename (replacing any old object). With
   * `ifAbsent`, link(temp, final) fails with EEXIST when another writer got there first, so two
   * concurrent writers can never both "win"; the temp name is then removed either way.
   */
  async function commit(temp: string, final: string, ifAbsent: boolean): Promise<boolean> {
    if (!ifAbsent) {
      await rename(temp, final);
      return false;
    }
    try {
      await link(temp, final);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'EEXIST') return true;
      // File systems without hard links (some FUSE and SMB mounts): an existence check plus
      // rename, which is racy between two writers of the same key; keys are per writer, so the
      // only race left is a writer with itself.
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw err;
      if (await exists(final)) return true;
      await rename(temp, final);
      return false;
    }
    await unlinkQuietly(temp);
    return false;
  }

  /** Writes through a temp file: `fill` creates the temp file's content. */
  async function put(
    key: string,
    options: PutOptions,
    fill: (temp: string) => Promise<void>,
  ): Promise<PutResult> {
    checkKey(key);
    const final = pathOf(key);
    const action = `put object ${final}`;
    const { signal, metadata } = options;
    if (signal?.aborted) throw abortedError(action, signal.reason);
    if (metadata !== undefined) checkMetadata(key, metadata);
    const temp = join(dirname(final), `${tempFilePrefix}${process.pid}-${randomBytes(6).toString('hex')}`);
    try {
      await refuseLinks(action, key.split('/'));
      if (options.ifAbsent) {
        const existing = await stat(final).catch(() => undefined);
        if (existing?.isFile()) return { bytes: existing.size, alreadyExisted: true };
      }
      await mkdir(dirname(final), { recursive: true });
      await fill(temp);
      await fsyncPath(temp, 'r+');
      if (signal?.aborted) throw abortedError(action, signal.reason);
      const bytes = (await stat(temp)).size;
      const sidecar = metadata === undefined ? undefined : await writeSidecar(key, temp, metadata, signal);
      const alreadyExisted = await commit(temp, final, options.ifAbsent === true);
      if (alreadyExisted) {
        await unlinkQuietly(temp);
        // Lost a race for the key: drop this put's sidecar unless the winner wrote the same bytes (same name).
        if (sidecar !== undefined && !sidecar.endsWith(`${await sha256OfFile(final)}.json`)) await unlinkQuietly(sidecar);
        return { bytes: (await stat(final)).size, alreadyExisted: true };
      }
      await fsyncPath(dirname(final), 'r');
      if (!options.ifAbsent) await dropOtherSidecars(key, sidecar);
      return { bytes, alreadyExisted: false };
    } catch (err) {
      await unlinkQuietly(temp);
      throw toStoreError(action, err, signal, 'write');
    }
  }

  /** Collects every file under `dir` (recursively) whose key starts with `prefix`. */
  async function walk(dir: string, keyPrefix: string, prefix: string, out: ListedObject[], signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw abortedError(`list objects under ${base}`, signal.reason);
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return;
      throw err;
    }
    for (const entry of entries) {
      if (entry.name.startsWith(tempFilePrefix)) continue;
      if (keyPrefix === '' && entry.name === metadataFolder) continue;
      const key = keyPrefix + entry.name;
      if (entry.isSymbolicLink()) {
        // Refused where a file or a directory of that name would be listed or descended into.
        if (key.startsWith(prefix) || prefix.startsWith(`${key}/`)) throw linkError(`list objects under ${base}${sep}${prefix}`, join(dir, entry.name));
        continue;
      }
      if (entry.isDirectory()) {
        // Descend only where keys below can still match the prefix.
        const dirKey = `${key}/`;
        if (dirKey.startsWith(prefix) || prefix.startsWith(dirKey)) await walk(join(dir, entry.name), dirKey, prefix, out, signal);
      } else if (entry.isFile() && key.startsWith(prefix)) {
        // A file deleted while listing is simply not listed.
        const info = await stat(join(dir, entry.name)).catch(() => undefined);
        if (info) out.push({ key, size: info.size, lastModified: info.mtime });
      }
    }
  }

  return {
    url,
    conditionalWrites: true,
    describe: (key) => pathOf(key),

    putFile: (key, path, options) =>
      put(key, options, async (temp) => {
        // copyFile gives the copy the source's mode, and staged files are private (0600); an
        // object gets the mode any new file gets here instead (0666 minus the umask), so the
        // readers of the directory can read it.
        await writeFile(temp, '', { flag: 'wx' });
        const { mode } = await stat(temp);
        await copyFile(path, temp);
        await chmod(temp, mode & 0o777);
      }),

    putBytes: (key, body, options) => put(key, options, (temp) => writeFile(temp, body, { flag: 'wx' })),

    async head(key, options = {}) {
      checkKey(key);
      const path = pathOf(key);
      if (options.signal?.aborted) throw abortedError(`head object ${path}`, options.signal.reason);
      try {
        await refuseLinks(`head object ${path}`, key.split('/'));
        const info = await lstat(path);
        return info.isFile() ? { size: info.size, metadata: await readMetadata(key, path, options.signal) } : undefined;
      } catch (err) {
        const code = errnoCode(err);
        if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
        throw toStoreError(`head object ${path}`, err, options.signal);
      }
    },

    async get(key, options = {}) {
      checkKey(key);
      const path = pathOf(key);
      try {
        await refuseLinks(`get object ${path}`, key.split('/'));
        return await readFile(path, { signal: options.signal });
      } catch (err) {
        if (errnoCode(err) === 'EISDIR') throw new StoreError('not_found', `get object ${path}: it is a directory`, { cause: err });
        throw toStoreError(`get object ${path}`, err, options.signal);
      }
    },

    async getStream(key, options = {}) {
      checkKey(key);
      const path = pathOf(key);
      const action = `get object ${path}`;
      if (options.signal?.aborted) throw abortedError(action, options.signal.reason);
      let handle;
      try {
        await refuseLinks(action, key.split('/'));
        handle = await open(path, 'r');
        if (!(await handle.stat()).isFile()) throw new StoreError('not_found', `${action}: it is a directory`);
      } catch (err) {
        await handle?.close();
        throw toStoreError(action, err, options.signal);
      }
      // The stream owns the handle from here: it closes it when it ends or is destroyed.
      return handle.createReadStream({ ...(options.signal ? { signal: options.signal } : {}) });
    },

    async delete(key, options = {}) {
      checkKey(key);
      const path = pathOf(key);
      if (options.signal?.aborted) throw abortedError(`delete object ${path}`, options.signal.reason);
      try {
        await refuseLinks(`delete object ${path}`, key.split('/'));
        await unlink(path);
        await fsyncPath(dirname(path), 'r');
      } catch (err) {
        const code = errnoCode(err);
        if (code !== 'ENOENT' && code !== 'ENOTDIR') throw toStoreError(`delete object ${path}`, err, options.signal);
      }
      // The key's sidecars go with it (its folder may also hold the folders of keys below `<key>.meta/`).
      try {
        await dropOtherSidecars(key, undefined);
        await rmdir(sidecarsOf(key)).catch(() => undefined); // gone already, or holds other keys' folders
      } catch (err) {
        throw toStoreError(`delete metadata of ${path}`, err, options.signal);
      }
    },

    async list(prefix, options = {}) {
      checkPrefix(prefix);
      const out: ListedObject[] = [];
      // Start at the deepest directory the prefix names completely ("dt=2026-03-14/x" → "dt=2026-03-14/").
      const dirPart = prefix.slice(0, prefix.lastIndexOf('/') + 1);
      try {
        await refuseLinks(`list objects under ${base}${sep}${prefix}`, dirPart.split('/').filter(Boolean));
        await walk(dirPart === '' ? base : join(base, ...dirPart.split('/').filter(Boolean)), dirPart, prefix, out, options.signal);
      } catch (err) {
        throw toStoreError(`list objects under ${base}${sep}${prefix}`, err, options.signal);
      }
      return out.sort((a, b) => compareKeys(a.key, b.key));
    },

    async sweepTemp({ olderThanMs, now }) {
      let removed = 0;
      const visit = async (dir: string): Promise<void> => {
        let entries;
        try {
          entries = await readdir(dir, { withFileTypes: true });
        } catch {
          return; // gone or unreadable: nothing of ours to remove there
        }
        for (const entry of entries) {
          const path = join(dir, entry.name);
          if (entry.isDirectory()) await visit(path); // symbolic links are neither followed nor removed
          else if (entry.isFile() && entry.name.startsWith(tempFilePrefix)) {
            const st = await stat(path).catch(() => undefined);
            if (st !== undefined && now - st.mtimeMs >= olderThanMs) {
              await unlinkQuietly(path);
              removed++;
            }
          }
        }
      };
      await visit(base);
      return removed;
    },

    close() {
      // Nothing to release: every operation opens and closes its own handles.
    },
  };
}
