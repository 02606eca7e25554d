#!/usr/bin/env node
/**
 * The health check of the container image and the Kubernetes probes:
 *
 *   node dist/cli/healthcheck.js [-c FILE] [--ready [--scope all|ingest]] [--timeout MS]
 *
 * Loads the same config as the daemon (`-c`, else `$LOGBARGE_CONFIG`, else the defaults), asks
 * `/healthz` (or `/readyz` with `--ready`) on the configured port, over HTTPS when `server.tls`
 * is set, and exits 0 on a 200 answer, 1 otherwise (also for a bad config or usage: Docker
 * reserves exit code 2). On failure it prints what it asked and the answer on stderr.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.js';
import { describeError } from '../errors.js';
import { defaultProbeTimeoutMs, probe, probeTarget, type ProbeKind } from './probe.js';

const usage = 'usage: healthcheck.js [-c FILE] [--ready [--scope all|ingest]] [--timeout MS]';

/** Runs the check for `argv` (without node and the script) and returns the exit code. */
async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string', short: 'c' },
      ready: { type: 'boolean', default: false },
      scope: { type: 'string' },
      timeout: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  if (values.scope !== undefined && (!values.ready || (values.scope !== 'all' && values.scope !== 'ingest'))) {
    throw new Error(`check health: --scope takes "all" or "ingest" and needs --ready\n${usage}`);
  }
  const timeoutMs = values.timeout === undefined ? defaultProbeTimeoutMs : Number(values.timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new Error(`check health: --timeout must be a positive number of milliseconds\n${usage}`);
  const config = loadConfig({ path: values.config, env: process.env });
  const what: ProbeKind = values.ready ? { kind: 'ready', scope: values.scope === 'ingest' ? 'ingest' : 'all' } : { kind: 'live' };
  const target = probeTarget(config.server, what);
  const result = await probe(target, timeoutMs);
  if (!result.ok) {
    const where = `${target.protocol}://${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}${target.path}`;
    process.stderr.write(`logbarge healthcheck: GET ${where}: ${result.status === undefined ? '' : `${result.status} `}${result.text}\n`);
  }
  return result.ok ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`logbarge healthcheck: ${describeError(err)}\n`);
    process.exitCode = 1;
  },
);
