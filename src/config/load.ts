/**
 * Loads the configuration: `-c FILE`, else `$LOGBARGE_CONFIG`, else the built-in defaults.
 * `${VAR}` and `${VAR:-default}` in strings are replaced from the `env` passed in; this is the
 * only place that reads environment variables for configuration.
 */
import { readFileSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { isIP } from 'node:net';
import { LogbargeError } from '../errors.js';
import { loadNamedSchema } from '../schema/schema.js';
import { configSchema, type Config } from './schema.js';

/** Inputs of loadConfig. */
export interface LoadConfigOptions {
  /** Path given with `-c`, if any. */
  readonly path?: string | undefined;
  /** Environment to interpolate from (pass `process.env`). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Host name for the default writer id. */
  readonly hostname?: string;
  /**
   * Leave `${VAR}` of unset variables as they are instead of refusing the config: for commands
   * that only print derived text (`ddl`) and must not need, say, the API key to be set.
   */
  readonly keepUnsetPlaceholders?: boolean;
}

const placeholder = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(top level)' : out;
}

function configError(source: string, lines: string[]): LogbargeError {
  return new LogbargeError('CONFIG_INVALID', `load config ${source}: ${lines.join('; ')}`, {
    hint: 'see docs/config.md for every key, its type and default',
  });
}

/** Replaces `${VAR}` / `${VAR:-default}` in every string of a parsed JSON tree. */
export function interpolate(
  value: unknown,
  env: Readonly<Record<string, string | undefined>>,
  path: PropertyKey[] = [],
  missing?: string[],
): unknown {
  if (typeof value === 'string') {
    return value.replace(placeholder, (match: string, name: string, fallback: string | undefined) => {
      const found = env[name];
      if (found !== undefined) return found;
      if (fallback !== undefined) return fallback;
      if (!missing) return match; // kept as written
      missing.push(`${formatPath(path)}: environment variable ${name} is not set`);
      return '';
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, env, [...path, i], missing));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) {
      Object.defineProperty(out, key, {
        value: interpolate(v, env, [...path, key], missing),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return value;
}

/** True for addresses that only this machine can reach. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1' || host === '[::1]';
}

function sanitizeWriterId(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 63);
  return cleaned === '' ? 'logbarge' : cleaned;
}

/** Parses and checks a config object (already read from JSON); throws CONFIG_INVALID naming each bad field. */
export function parseConfig(
  raw: unknown,
  options: { env: Readonly<Record<string, string | undefined>>; source: string; hostname?: string; keepUnsetPlaceholders?: boolean },
): Config {
  const missing: string[] = [];
  const interpolated = interpolate(raw, options.env, [], options.keepUnsetPlaceholders ? undefined : missing);
  if (missing.length > 0) throw configError(options.source, missing);
  const parsed = configSchema.safeParse(interpolated);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      if (issue.code === 'unrecognized_keys') {
        return issue.keys.map((k) => `${formatPath([...issue.path, k])}: unknown key`).join('; ');
      }
      return `${formatPath(issue.path)}: ${issue.message}`;
    });
    throw configError(options.source, lines);
  }
  const config = parsed.data;
  try {
    loadNamedSchema(config.schema);
  } catch (err) {
    throw new LogbargeError('CONFIG_INVALID', `load config ${options.source}: schema: ${(err as Error).message}`, {
      hint:
        (err as LogbargeError).hint ??
        'set "schema" to null (the Airkit schema), a shipped schema\'s name (okta-security.v1) or the path of a valid schema file; see README "Schema extensions"',
    });
  }
  const apiKeys = config.server.apiKeys.filter((k) => k !== '');
  const sources = Object.fromEntries(
    Object.entries(config.sources).map(([name, source]) => [name, { ...source, apiKeys: source.apiKeys.filter((k) => k !== '') }]),
  );
  const sourceKeys = Object.values(sources).reduce((n, source) => n + source.apiKeys.length, 0);
  if (!isLoopback(config.server.host) && apiKeys.length === 0 && sourceKeys === 0) {
    throw configError(options.source, [
      `server.apiKeys: at least one key is required when server.host (${config.server.host}) is not a loopback address`,
    ]);
  }
  return {
    ...config,
    writerId: config.writerId ?? sanitizeWriterId(options.hostname ?? osHostname()),
    server: { ...config.server, apiKeys },
    sources,
  };
}

/** Loads the config from `-c`, `$LOGBARGE_CONFIG` or the defaults. */
export function loadConfig(options: LoadConfigOptions): Config {
  const path = options.path ?? options.env.LOGBARGE_CONFIG;
  const base = {
    env: options.env,
    ...(options.hostname ? { hostname: options.hostname } : {}),
    ...(options.keepUnsetPlaceholders ? { keepUnsetPlaceholders: true } : {}),
  };
  if (path === undefined || path === '') return parseConfig({}, { ...base, source: '(built-in defaults)' });
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new LogbargeError('CONFIG_INVALID', `read config ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      cause: err,
      hint: 'pass an existing file with -c, or unset LOGBARGE_CONFIG to use the built-in defaults',
    });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw configError(path, [`not valid JSON (${(err as Error).message})`]);
  }
  return parseConfig(raw, { ...base, source: path });
}
