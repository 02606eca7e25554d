/**
 * The JSON logger (pino) on stdout. Paths that could carry secrets are redacted even though
 * logbarge never logs request headers or the config's keys on purpose.
 */
import { pino, type Logger, type DestinationStream } from 'pino';

/** Log paths censored wherever they appear. */
export const redactPaths = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'headers.authorization',
  'headers["x-api-key"]',
  'apiKeys',
  '*.apiKeys',
  'config.server.apiKeys',
  'apiKey',
  '*.apiKey',
  'secretAccessKey',
  '*.secretAccessKey',
  'sessionToken',
  '*.sessionToken',
];

/** Creates the logger at `level`, writing JSON lines to `destination` (stdout by default). */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'logbarge' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: redactPaths, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}
