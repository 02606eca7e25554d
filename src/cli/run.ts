/**
 * `logbarge run [-c FILE]`: the daemon. Exits 0 after a clean SIGTERM/SIGINT drain.
 */
import type { Command } from 'commander';
import { startDaemon } from '../app/daemon.js';
import { createLogger } from '../log.js';
import { commandConfig, type ConfigOption } from './common.js';

/** Runs the daemon until SIGTERM or SIGINT, then drains and resolves. */
export async function runCommand(options: ConfigOption): Promise<void> {
  const config = commandConfig(options);
  const logger = createLogger(config.log.level);
  // Process warnings (e.g. the AWS SDK's Node version notice) become one JSON log line each.
  process.removeAllListeners('warning');
  process.on('warning', (w) => logger.warn({ warning: w.name }, w.message.split('\n')[0] ?? w.name));
  // Signal handlers go in before the daemon starts listening, so a SIGTERM right after start-up
  // still drains instead of killing the process with Node's default action.
  let daemon: Awaited<ReturnType<typeof startDaemon>> | undefined;
  let stopRequested: NodeJS.Signals | undefined;
  let signals = 0;
  let wake: () => void = () => {};
  const stopped = new Promise<void>((resolve) => (wake = resolve));
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) {
      logger.warn({ signal }, 'second signal: exiting without finishing the drain');
      process.exit(1);
    }
    stopRequested = signal;
    if (daemon) daemon.stop(`received ${signal}`).then(wake, wake);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  daemon = await startDaemon({ config, logger });
  if (stopRequested) daemon.stop(`received ${stopRequested}`).then(wake, wake);
  await stopped;
}

/** Registers the command. */
export function register(program: Command): void {
  program
    .command('run')
    .description('run the daemon: HTTP ingest into the spool and scheduled exports')
    .option('-c, --config <file>', 'config file (default: $LOGBARGE_CONFIG, else built-in defaults)')
    .addHelpText(
      'after',
      `
Examples:
  logbarge run                          # loopback :8080, ./data/spool.db, Parquet to ./data/exports/
  logbarge run -c /etc/logbarge.json
  LOGBARGE_CONFIG=/etc/logbarge.json logbarge run`,
    )
    .action(runCommand);
}
