/**
 * Object naming: a pure function of the batch, so a retried upload rewrites the same key with
 * the same rows. `<destination>dt=YYYY-MM-DD/<writer>-<spool>-<first seq>-<last seq><ext>`.
 * A batch whose key holds another spool's rows moves to `…-<last seq>-<rows tag><ext>`.
 */
import { quarantineDate } from '../spool/spool.js';
import { extensionOf, type Compression, type Format } from './encoders/types.js';

/** Digits of a zero-padded sequence number: keys sort in sequence order up to 10^12 events. */
const seqDigits = 12;

/** What names a data object. */
export interface KeyParts {
  /** The events' own UTC date, `YYYY-MM-DD`. */
  readonly dt: string;
  /** The writer id (distinct per replica). */
  readonly writerId: string;
  /** The spool file's random id (guards against two spools sharing a writer id). */
  readonly spoolId: string;
  readonly seqFrom: number;
  readonly seqTo: number;
  readonly format: Format;
  readonly compression: Compression;
}

/** Folder of quarantine objects under a destination (outside every `dt=` partition of data). */
export const quarantineFolder = '_quarantine/';

/**
 * The key of a data object, relative to the destination prefix; for quarantine rows (dt
 * `quarantine:YYYY-MM-DD`) `_quarantine/dt=<receive date>/<name>.ndjson.gz`, whatever the export's format.
 */
export function objectKey(parts: KeyParts): string {
  const received = quarantineDate(parts.dt);
  if (received !== undefined) return quarantineFolder + objectKey({ ...parts, dt: received, format: 'ndjson', compression: 'gzip' });
  if (!/^\d{4}-\d{2}-\d{2}$/.test(parts.dt)) throw new Error(`object key: dt ${JSON.stringify(parts.dt)} is not YYYY-MM-DD`);
  if (!/^[A-Za-z0-9._-]+$/.test(parts.writerId)) throw new Error(`object key: writer id ${JSON.stringify(parts.writerId)} has unsafe characters`);
  if (!(parts.seqFrom >= 1 && parts.seqTo >= parts.seqFrom)) throw new Error(`object key: bad sequence range ${parts.seqFrom}-${parts.seqTo}`);
  const pad = (n: number): string => String(n).padStart(seqDigits, '0');
  return `dt=${parts.dt}/${parts.writerId}-${parts.spoolId}-${pad(parts.seqFrom)}-${pad(parts.seqTo)}${extensionOf(parts.format, parts.compression)}`;
}

/** Hex digits of the rows' SHA-256 in a re-keyed name: 64 bits, so two different batches practically never share one. */
const tagDigits = 16;

/**
 * The key a batch moves to when its planned key (`key`, ending in `ext`) holds other rows: the
 * planned name with the first 16 hex digits of the rows' SHA-256 before the extension. The same
 * rows always get the same key; undefined when `key` already carries this tag (moving again would
 * give the same key).
 */
export function conflictKey({ key, ext, sha256 }: { key: string; ext: string; sha256: string }): string | undefined {
  if (!key.endsWith(ext)) throw new Error(`object key: ${JSON.stringify(key)} does not end with ${ext}`);
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`object key: ${JSON.stringify(sha256)} is not a hex SHA-256`);
  const tag = `-${sha256.slice(0, tagDigits)}`;
  const stem = key.slice(0, key.length - ext.length);
  return stem.endsWith(tag) ? undefined : `${stem}${tag}${ext}`;
}
