/**
 * The `file` backend: objects are files under a directory, keys are relative paths. Every write
 * goes to a temp name in the target directory, is fsynced, then renamed (or hard-linked, for
 * `ifAbsent`) into place and the directory fsynced, so a reader or a crash never sees half a file.
 * Symbolic links inside the directory are refused, not followed: every operation first checks
 * (lstat) each path component below the directory (the directory itself may be a link).
 */
import { randomBytes } from 'node:crypto';
import { chmod, copyFile, link, lstat, mkdir, open, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { abortedError, checkKey, checkPrefix, compareKeys, tempFilePrefix } from './key.js';
import { StoreError, type ListedObject, type ObjectStore, type PutOptions, type PutResult } from './store.js';

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

/** Creates a store writing files under the directory named by `url`. */
export function createFileStore({ url }: FileStoreOptions): ObjectStore {
  const base = fileUrlToDirectory(url);
  const pathOf = (key: string): string => join(base, ...key.split('/'));

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
    const { signal } = options;
    if (signal?.aborted) throw abortedError(action, signal.reason);
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
      const alreadyExisted = await commit(temp, final, options.ifAbsent === true);
      if (alreadyExisted) {
        await unlinkQuietly(temp);
        return { bytes: (await stat(final)).size, alreadyExisted: true };
      }
      await fsyncPath(dirname(final), 'r');
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
        if (info) out.push({ key, size: info.size });
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
        return info.isFile() ? { size: info.size } : undefined;
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
        if (code === 'ENOENT' || code === 'ENOTDIR') return;
        throw toStoreError(`delete object ${path}`, err, options.signal);
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

    close() {
      // Nothing to release: every operation opens and closes its own handles.
    },
  };
}
