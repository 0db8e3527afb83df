#!/usr/bin/env node
import { loadConfig } from '../config/load.js';
import { OrderSystemError } from '../errors.js';
import { runProducer } from '../producer/index.js';
import { processLogger } from '../logger.js';
import { configOrExit, exitOnUnhandled } from './process-lifecycle.js';
import { PRODUCER_USAGE, producerEnvFromArgs } from './producer-flags.js';

const { env, help } = configOrExit(() => {
  try {
    return producerEnvFromArgs(process.argv.slice(2), process.env);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${PRODUCER_USAGE}\n`);
    process.exit(2);
  }
});
if (help) {
  process.stdout.write(`${PRODUCER_USAGE}\n`);
  process.exit(0);
}
const config = configOrExit(() => loadConfig('producer', env));
const logger = processLogger(config, 'order-producer');
exitOnUnhandled(logger);

// A signal stops generating orders; what was handed to Kafka is still flushed before exit.
const abort = new AbortController();
let firstSignalAt: number | undefined;
const onSignal = (signal: NodeJS.Signals) => {
  // One Ctrl-C can arrive twice (terminal and npm); only a later second signal forces the exit.
  if (firstSignalAt !== undefined) {
    if (performance.now() - firstSignalAt > 1000) process.exit(130);
    return;
  }
  firstSignalAt = performance.now();
  logger.info({ signal }, `Received ${signal}: flushing in-flight orders, then exiting`);
  abort.abort();
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

const result = await runProducer(config, { logger, signal: abort.signal }).catch((error: unknown) => {
  if (error instanceof OrderSystemError) {
    // The registry said no (incompatible schema, compatibility mismatch, credentials, not registered)
    // or could not be reached: name that, not the brokers.
    logger.error({ err: error, code: error.code }, `${error.code}: ${error.message}`);
    process.exit(1);
  }
  // Typically the brokers stayed unreachable through every connection retry: say so plainly, exit 1.
  logger.error(
    { err: error, brokers: config.brokers },
    `Could not produce to ${config.brokers.join(',')}: ${error instanceof Error ? error.message : String(error)}`,
  );
  process.exit(1);
});
const unacknowledged = result.requested - result.acknowledged;
if (result.failed > 0 || (unacknowledged > 0 && !abort.signal.aborted)) {
  logger.error({ failed: result.failed, unacknowledged }, 'Some orders were not acknowledged');
  process.exit(1);
}
process.exit(0);
