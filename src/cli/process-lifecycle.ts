import { ConfigError } from '../errors.js';
import type { Logger } from '../logger.js';

/**
 * Loads config or exits 2 with every bad variable listed. A config error is
 * the one failure a restart cannot fix, so it must not crash-loop silently.
 */
export function configOrExit<T>(load: () => T): T {
  try {
    return load();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
}

/**
 * First SIGINT/SIGTERM: graceful stop, bounded by `timeoutMs`. A second
 * signal, or the timeout, exits at once: at-least-once delivery means an
 * unfinished record is simply redone by the next owner.
 */
export function onShutdownSignal(logger: Logger, timeoutMs: number, stop: () => Promise<void>): void {
  let firstSignalAt: number | undefined;
  const handler = (signal: NodeJS.Signals) => {
    // npm and a terminal both deliver Ctrl-C, so one key press can arrive twice within milliseconds.
    if (firstSignalAt !== undefined && performance.now() - firstSignalAt < 1000) return;
    if (firstSignalAt !== undefined) {
      logger.warn({ signal }, 'Second signal: exiting now');
      process.exit(130);
    }
    firstSignalAt = performance.now();
    logger.info({ signal }, `Received ${signal}, shutting down gracefully`);
    const timer = setTimeout(() => {
      logger.error({ timeoutMs }, 'Graceful shutdown took too long; exiting');
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    stop().then(
      () => process.exit(process.exitCode ?? 0),
      (error: unknown) => {
        logger.error({ err: error }, 'Shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}

/** Last resort: log what escaped every handler, then exit non-zero so the orchestrator restarts us. */
export function exitOnUnhandled(logger: Logger): void {
  const die = (kind: string) => (error: unknown) => {
    logger.fatal({ err: error }, `${kind}: exiting`);
    process.exit(1);
  };
  process.on('uncaughtException', die('Uncaught exception'));
  process.on('unhandledRejection', die('Unhandled rejection'));
}
