/**
 * The configuration schema. Every leaf has a description and a default, so that `logbarge run`
 * works with no file at all and docs/config.md is generated from this one place.
 */
import { z } from 'zod';
import { resolve as resolvePath } from 'node:path';
import cron from 'node-cron';
import { isProblem, parseTimestamp } from '../schema/coerce.js';
import { mapValueSchema } from './map-rule.js';

/** Default size limit of one request body, before and after gunzip: 5 MiB, API Gateway's own cap is 10 MiB. */
const defaultMaxBodyBytes = 5 * 1024 * 1024;

/** Default spool byte budget (sum of canonical event sizes): 4 GiB, about 7 million typical events. */
const defaultSpoolMaxBytes = 4 * 1024 ** 3;

/**
 * Default plausible EVENT_TIME range: from 2000 (older "times" are almost always epoch seconds
 * read as milliseconds) to one day past the receive time (room for senders' clock skew).
 */
export const defaultEventTime = { min: '2000-01-01T00:00:00Z', maxAheadMs: 86_400_000 } as const;

const nullableString = (description: string) =>
  z.string().min(1).nullable().default(null).describe(description);

const tlsSchema = z
  .strictObject({
    cert: z.string().min(1).describe('Path of the PEM certificate chain.'),
    key: z.string().min(1).describe('Path of the PEM private key.'),
  })
  .nullable()
  .default(null)
  .describe('Serve HTTPS with this certificate and key; null serves plain HTTP.');

const serverSchema = z
  .strictObject({
    host: z
      .string()
      .min(1)
      .default('127.0.0.1')
      .describe('Address to listen on. Anything but loopback requires at least one API key.'),
    port: z.number().int().min(0).max(65535).default(8080).describe('TCP port to listen on (0 picks a free port).'),
    apiKeyHeader: z
      .string()
      .regex(/^[A-Za-z0-9-]+$/, 'must be an HTTP header name')
      .default('x-api-key')
      .describe('Header that carries the API key; `Authorization: Bearer KEY` is accepted too.'),
    apiKeys: z
      .array(z.string())
      .default([])
      .describe(
        'Accepted API keys; several allow rotation without downtime. Empty strings (an unset `${VAR:-}`) are ignored. Empty list: no authentication, loopback only.',
      ),
    loopbackDetails: z
      .boolean()
      .default(true)
      .describe(
        'Give error details (verify messages, which can name accounts, roles and keys) in `/readyz` and `POST /v1/flush` answers to callers on a loopback address that send no API key. Set false when a proxy on the same host (an Envoy or Istio sidecar, nginx) forwards outside callers, who then all appear to come from loopback; details then need a valid API key. Other callers get `/readyz` reason codes only, and flush errors replaced by a fixed text.',
      ),
    maxBodyBytes: z
      .number()
      .int()
      .min(1024)
      .default(defaultMaxBodyBytes)
      .describe('Largest request body in bytes, counted again after gunzip; larger gets 413.'),
    maxInflightBytes: z
      .number()
      .int()
      .min(1024 * 1024)
      .default(128 * 1024 * 1024)
      .describe('Most request body bytes held by all requests in flight together, counted as received and again after gunzip (a declared Content-Length is held before the body is read). A request that would exceed it gets 503 with Retry-After: 1; a request alone in flight always fits. Parsing expands what is held a few times more.'),
    requestTimeoutMs: z
      .number()
      .int()
      .min(1000)
      .default(30_000)
      .describe('A request must be received completely within this many milliseconds (slow clients get 408).'),
    maxConnections: z
      .number()
      .int()
      .min(1)
      .default(1024)
      .describe('Most concurrent TCP connections; further connections are refused.'),
    flushTimeoutMs: z
      .number()
      .int()
      .min(1000)
      .default(300_000)
      .describe('Longest a `POST /v1/flush` runs: past it the flush is stopped (what it delivered stays delivered, the next cycle exports the rest) and answers 504. A flush running when the daemon starts to drain answers 503.'),
    tls: tlsSchema,
  })
  .prefault({})
  .describe('HTTP ingest server.');

const spoolSchema = z
  .strictObject({
    path: z.string().min(1).default('./data/spool.db').describe('SQLite spool file (relative to the working directory).'),
    maxEvents: z
      .number()
      .int()
      .min(1)
      .default(5_000_000)
      .describe('Most events held in the spool; beyond it ingest answers 503 with Retry-After.'),
    maxBytes: z
      .number()
      .int()
      .min(1024)
      .default(defaultSpoolMaxBytes)
      .describe('Most bytes of event data held in the spool; beyond it ingest answers 503.'),
    minFreeBytes: z
      .number()
      .int()
      .min(0)
      .default(256 * 1024 * 1024)
      .describe('Ingest answers 503 while the spool file system has less free space than this.'),
    synchronous: z
      .enum(['FULL', 'NORMAL'])
      .default('FULL')
      .describe('SQLite synchronous mode. FULL: a 202 survives power loss; NORMAL: it survives a process crash only.'),
    idempotencyWindowDays: z
      .number()
      .min(0)
      .default(7)
      .describe('How long an event stays remembered for duplicate detection after every export has delivered it (undelivered events are always remembered); measured on the spool clock, which a wall-clock jump while running does not advance.'),
  })
  .prefault({})
  .describe('The durable local spool.');

const ingestSchema = z
  .strictObject({
    strictEventTypes: z
      .boolean()
      .default(false)
      .describe('Reject EVENT_TYPE values outside the published list (default: accept and count them).'),
    unknownFields: z
      .enum(['drop', 'reject'])
      .default('drop')
      .describe('What to do with input keys that match no column: drop (counted, warned once per name) or reject.'),
    maxStringLength: z
      .number()
      .int()
      .min(1)
      .default(4096)
      .describe('Longest accepted string value, in characters.'),
    organizationId: nullableString(
      'ORGANIZATION_ID for Okta System Log events; when null it is taken from the EventBridge source `aws.partner/okta.com/<org>/…`.',
    ),
    eventTime: z
      .strictObject({
        min: z
          .string()
          .refine((text) => !isProblem(parseTimestamp(text)), 'must be an ISO-8601 timestamp, e.g. 2000-01-01T00:00:00Z')
          .default(defaultEventTime.min)
          .describe(
            'Earliest accepted EVENT_TIME (ISO-8601; no zone is UTC). An earlier time makes the record invalid, with a hint when a number looks like epoch seconds. Lower it to load older events.',
          ),
        maxAheadMs: z
          .number()
          .int()
          .min(0)
          .default(defaultEventTime.maxAheadMs)
          .describe(
            'How far past the receive time an EVENT_TIME may be, in milliseconds; a later time makes the record invalid. `logbarge ddl athena` projects dt= partitions as far ahead.',
          ),
      })
      .prefault({})
      .describe('Plausible event times: applies to EVENT_TIME and every other TIMESTAMPNTZ column.'),
  })
  .prefault({})
  .describe('Validation of incoming events.');

/** The built-in source profiles (src/sources/; a test checks this list matches them). */
export const sourceProfiles = ['auto', 'airkit', 'eventbridge', 'okta', 'okta-hook', 'strivacity', 'generic'] as const;

const sourceSchema = z.strictObject({
  profile: z
    .enum(sourceProfiles)
    .default('auto')
    .describe('How records become rows: auto, airkit, eventbridge, okta, okta-hook, strivacity or generic (see docs/sources/).'),
  organizationId: nullableString(
    'ORGANIZATION_ID of every event through this source: it overrides what a record says, so a sender cannot write another tenant\'s events. Null: the record\'s own (or, for Okta through EventBridge, the org in its source).',
  ),
  eventType: nullableString('EVENT_TYPE for records without one (profiles that derive it: strivacity, generic); null uses the source\'s name.'),
  apiKeys: z
    .array(z.string())
    .default([])
    .describe('Keys accepted on this source\'s route only (POST /v1/events/<name>); empty strings are ignored. server.apiKeys are accepted here too.'),
  apiKeyHeader: z
    .string()
    .regex(/^[A-Za-z0-9-]+$/, 'must be an HTTP header name')
    .nullable()
    .default(null)
    .describe('Header carrying this source\'s key, compared whole (with `authorization`, `Bearer KEY` works too). Null: the profile\'s (authorization for okta, okta-hook and eventbridge; x-api-key for strivacity), else server.apiKeyHeader.'),
  onInvalid: z
    .enum(['reject', 'quarantine'])
    .nullable()
    .default(null)
    .describe('An invalid record: reject (400, nothing of the request stored) or quarantine (202; kept and exported under <destination>_quarantine/). Null: quarantine for push senders that never retry a 4xx (eventbridge, okta, okta-hook, strivacity), reject otherwise.'),
  map: z
    .record(z.string(), mapValueSchema)
    .default({})
    .describe('Column ← rule(s), tried before the profile\'s own: a JSON path, {path, json, capture, map, nullIf}, {const}, {derive}, or {when, then}. An unknown column or a bad path is refused at start (exit 2).'),
});

const s3Schema = z
  .strictObject({
    region: nullableString('AWS region; null uses the SDK chain (`AWS_REGION`, profile), then us-east-1.'),
    endpoint: nullableString('Custom S3 endpoint (MinIO, LocalStack); null uses AWS (or `AWS_ENDPOINT_URL_S3`).'),
    forcePathStyle: z.boolean().default(false).describe('Path-style addressing, for most S3-compatible servers.'),
    serverSideEncryption: z
      .enum(['AES256', 'aws:kms', 'aws:kms:dsse'])
      .nullable()
      .default(null)
      .describe('SSE header sent on every write (data and verify objects); null leaves the bucket default.'),
    kmsKeyId: nullableString('KMS key id or ARN for SSE-KMS.'),
    storageClass: nullableString('Storage class for every write (e.g. STANDARD_IA); null is STANDARD.'),
  })
  .prefault({})
  .describe('Amazon S3 client settings, shared by all s3:// destinations.');

const formats = ['ndjson', 'csv', 'parquet'] as const;
const textCompressions = ['none', 'gzip'] as const;
const parquetCompressions = ['snappy', 'zstd', 'gzip'] as const;

/** Default target size of a sealed file: 256 MiB, inside the 128–512 MB AWS recommends for Athena. */
const defaultSealFileBytes = 256 * 1024 * 1024;

const sealSchema = z
  .strictObject({
    afterHours: z
      .number()
      .min(0)
      .default(48)
      .describe('A day (UTC) is finished this many hours after it ends, time for every writer to upload it; a run without --date seals finished days only.'),
    schedule: z
      .string()
      .refine((expr) => cron.validate(expr), 'is not a valid cron expression')
      .nullable()
      .default(null)
      .describe('Cron schedule (UTC) on which the daemon seals finished days; null: only `logbarge seal` does.'),
    lookbackDays: z
      .number()
      .int()
      .min(1)
      .default(7)
      .describe('How many finished days, counting back from the newest, a run seals if unsealed (and checks for late objects); older days need `seal --date`.'),
    targetFileBytes: z
      .number()
      .int()
      .min(1024)
      .default(defaultSealFileBytes)
      .describe('A sealed file is closed once it passes this many bytes (checked at row-group boundaries).'),
    memoryLimit: z
      .string()
      .regex(/^\d+(\.\d+)?\s*(KB|MB|GB|KiB|MiB|GiB)$/, 'must be a size like 512MB or 2GiB')
      .default('512MB')
      .describe("DuckDB's memory limit while sealing a day; past it DuckDB spills to disk in the staging directory."),
    stagingDir: nullableString('Directory for downloaded objects and DuckDB scratch while sealing; null: `work/` next to the spool file.'),
    leaseSeconds: z
      .number()
      .int()
      .min(1)
      .default(900)
      .describe('How long a day\'s seal lease lasts; the sealer renews it while working, and another replica may take a day over once it expired.'),
    deleteRaw: z
      .boolean()
      .default(false)
      .describe('Delete the raw objects of a sealed day deleteAfterHours after the seal (the record says when); whatever reads the raw objects (a Snowflake stage or external table) then no longer finds them.'),
    deleteAfterHours: z
      .number()
      .min(0)
      .default(24)
      .describe('Delay before a run deletes what a seal replaced: the raw objects (with deleteRaw) and the sealed files of an earlier seal of the day.'),
  })
  .nullable()
  .default(null)
  .describe('Sealing (docs/sealing.md): one deduplicated, sorted set of Parquet files per finished day under `_sealed/`; null: the export is not sealed.');

/**
 * True for a digest period like `15m`, `1h`, `1d` (1 minute to 1 day). The same rule as
 * parsePeriod in src/export/digest.ts (config imports no export code; a test keeps them equal).
 */
export function isDigestPeriod(text: string): boolean {
  const m = /^(\d+)(s|m|h|d)$/.exec(text);
  if (!m) return false;
  const ms = Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
  return ms >= 60_000 && ms <= 86_400_000;
}

const integritySchema = z
  .strictObject({
    privateKeyFile: z
      .string()
      .min(1)
      .describe('Ed25519 private key (PKCS#8 PEM, e.g. from `logbarge keygen`) that signs the digests; read at start, an unreadable or non-Ed25519 key is refused (exit 2).'),
    every: z
      .string()
      .refine(isDigestPeriod, 'must be a period like 15m, 1h or 1d (1 minute to 1 day)')
      .default('1h')
      .describe('Digest period, aligned to UTC multiples of it since the epoch: a digest is written at each period end, at drain and at the end of `logbarge flush`.'),
  })
  .nullable()
  .default(null)
  .describe('Tamper evidence (docs/integrity.md): signed, chained digests under `<destination>_digest/` listing every object delivered (key, bytes, SHA-256); null: no digests.');

const exportSchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'must be lowercase letters, digits, - or _')
      .describe('Export name: its cursor in the spool and its `--export` handle.'),
    format: z.enum(formats).default('parquet').describe('File format: ndjson, csv or parquet.'),
    compression: z
      .enum([...textCompressions, ...parquetCompressions])
      .optional()
      .describe('none|gzip for ndjson/csv, snappy|zstd|gzip for parquet. Default: zstd for parquet, gzip otherwise.'),
    destination: z
      .string()
      .regex(/^(s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?|file:\/\/.+)$/, 'must be s3://bucket/prefix/ or file:///dir/')
      .describe('Where objects go: s3://bucket/prefix/ or file:///absolute/dir/ (file://./relative/).'),
    schedule: z
      .string()
      .refine((expr) => cron.validate(expr), 'is not a valid cron expression')
      .default('*/5 * * * *')
      .describe('Cron schedule (UTC) of this export.'),
    maxRowsPerFile: z
      .number()
      .int()
      .min(1)
      .max(50_000_000)
      .default(1_000_000)
      .describe('Most rows per object; an export also runs early when this many rows are pending.'),
    raw: z
      .boolean()
      .default(true)
      .describe(
        'Write the RAW column after the schema\'s columns: the record as the sender sent it, as JSON text, or NULL when the typed columns hold all of it. false writes exactly the schema\'s columns (and `logbarge ddl` leaves RAW out).',
      ),
    seal: sealSchema,
    integrity: integritySchema,
  })
  .superRefine((value, ctx) => {
    if (value.compression === undefined) return;
    const allowed: readonly string[] = value.format === 'parquet' ? parquetCompressions : textCompressions;
    if (!allowed.includes(value.compression)) {
      ctx.addIssue({
        code: 'custom',
        path: ['compression'],
        message: `${value.compression} is not available for ${value.format}; use ${allowed.join(', ')}`,
      });
    }
  })
  .transform((value) => ({
    ...value,
    compression: value.compression ?? (value.format === 'parquet' ? 'zstd' : 'gzip'),
  }));

/** The built-in export used when the config names none. */
export const defaultExports = [
  {
    name: 'default',
    format: 'parquet',
    compression: 'zstd',
    destination: 'file://./data/exports/',
    schedule: '*/5 * * * *',
    maxRowsPerFile: 1_000_000,
    raw: true,
    seal: null,
    integrity: null,
  },
];

/** The whole configuration file. */
export const configSchema = z
  .strictObject({
    writerId: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'must be letters, digits, ., - or _ (at most 63)')
      .optional()
      .describe('Writer id in object names; distinct per replica. Default: the host name (the pod name in Kubernetes).'),
    schema: z
      .string()
      .min(1)
      .nullable()
      .default(null)
      .describe(
        'The columns of the files: null is the Airkit schema (schemas/airkit-audit-event.v1.json); a shipped schema\'s name, e.g. `okta-security.v1` (the Airkit columns, then Okta security columns); or the path of a schema file, relative to the working directory (it contains a `/` or ends in `.json`). Validation, every encoder and the generated DDL follow it. An unknown name or a bad file is refused at start (exit 2).',
      ),
    server: serverSchema,
    spool: spoolSchema,
    ingest: ingestSchema,
    sources: z
      .record(z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'source names are lowercase letters, digits, - or _'), sourceSchema)
      .default({})
      .describe('Named senders, each posting to POST /v1/events/<name> with its own profile, organization, keys and invalid-record policy.'),
    s3: s3Schema,
    exports: z
      .array(exportSchema)
      .min(1)
      .default(defaultExports as never)
      .describe('Exports; each reads the same spool with its own cursor.'),
    shutdownTimeoutMs: z
      .number()
      .int()
      .min(0)
      .default(30_000)
      .describe('On SIGTERM, the drain (requests in flight, the final export cycle, any cycle still running) may take this long; then every cycle is aborted, open connections are closed and the daemon exits. Unfinished batches stay in the spool for the next start.'),
    log: z
      .strictObject({
        level: z
          .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
          .default('info')
          .describe('Log level of the JSON log on stdout.'),
      })
      .prefault({})
      .describe('Logging.'),
  })
  .superRefine((value, ctx) => {
    const seen = new Set<string>();
    value.exports.forEach((e, i) => {
      if (seen.has(e.name)) {
        ctx.addIssue({ code: 'custom', path: ['exports', i, 'name'], message: `"${e.name}" is used by two exports` });
      }
      seen.add(e.name);
    });
    // Two exports writing one destination (or one inside the other) would put every event there
    // twice for a query over it, and their object keys would collide: refused.
    value.exports.forEach((e, i) => {
      for (let j = 0; j < i; j++) {
        const other = value.exports[j]!;
        if (destinationsOverlap(other.destination, e.destination)) {
          ctx.addIssue({
            code: 'custom',
            path: ['exports', i, 'destination'],
            message: `exports "${other.name}" and "${e.name}" both write ${e.destination === other.destination ? e.destination : `${other.destination} and ${e.destination}, one inside the other`}; give each export its own destination`,
          });
        }
      }
    });
  });

/** A destination URL as a comparable location: `s3://bucket/prefix/` or `file:` + absolute directory + `/`. */
function destinationLocation(url: string): string {
  if (url.startsWith('file://')) {
    const rest = url.slice('file://'.length);
    const dir = rest.startsWith('/') ? decodeURIComponent(rest) : resolvePath(process.cwd(), decodeURIComponent(rest));
    const normal = resolvePath(dir);
    return `file:${normal.endsWith('/') ? normal : `${normal}/`}`;
  }
  return url.endsWith('/') ? url : `${url}/`;
}

/** True when two destinations are the same place or one lies inside the other. */
export function destinationsOverlap(a: string, b: string): boolean {
  const x = destinationLocation(a);
  const y = destinationLocation(b);
  return x.startsWith(y) || y.startsWith(x);
}

/** The configuration as the program sees it, after defaults. */
export type Config = z.output<typeof configSchema> & { writerId: string };

/** One source's configuration. */
export type SourceConfig = Config['sources'][string];

/** One export's configuration. */
export type ExportConfig = Config['exports'][number];

/** An export's `seal` section, when it has one. */
export type SealConfig = NonNullable<ExportConfig['seal']>;
