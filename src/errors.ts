/**
 * Typed errors. Anything a caller branches on carries a stable `code`; errors an operator sees
 * carry a `hint` saying what to try. Messages read "verb noun: cause".
 */

/** Stable error codes that callers (CLI exit codes, HTTP status mapping) branch on. */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'SCHEMA_INVALID'
  | 'INPUT_REJECTED'
  | 'SPOOL_FULL'
  | 'SPOOL_UNAVAILABLE'
  | 'EXPORT_FAILED'
  | 'SEAL_FAILED'
  | 'USAGE';

/** An error with a stable code and an optional operator hint ("Try: …"). */
export class LogbargeError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; hint?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LogbargeError';
    this.code = code;
    this.hint = options.hint;
  }
}

/** True when `err` is a LogbargeError with the given code. */
export function isCode(err: unknown, code: ErrorCode): err is LogbargeError {
  return err instanceof LogbargeError && err.code === code;
}

/** The message of any thrown value, with its cause chain, for one log line or CLI output. */
export function describeError(err: unknown): string {
  const parts: string[] = [];
  let current: unknown = err;
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    if (current instanceof Error) {
      if (!parts.includes(current.message)) parts.push(current.message);
      current = (current as { cause?: unknown }).cause;
    } else {
      parts.push(String(current));
      break;
    }
  }
  const text = parts.join(': ');
  const hint = err instanceof LogbargeError && err.hint ? `\nTry: ${err.hint}` : '';
  return text + hint;
}
