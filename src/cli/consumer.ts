#!/usr/bin/env node
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../config/load.js';
import { startConsumer, type ConsumerHandle } from '../consumer/index.js';
import { processLogger } from '../logger.js';
import { configOrExit, exitOnUnhandled, onShutdownSignal } from './process-lifecycle.js';

const config = configOrExit(() => loadConfig('consumer'));
const logger = processLogger(config, 'order-consumer');
exitOnUnhandled(logger);

/** How long a shutdown during startup waits for the start to finish, to then leave the group cleanly. */
const STARTUP_GRACE_MS = 3000;

const starting = startConsumer(config, { logger });
let started: ConsumerHandle | undefined;
void starting.then((handle) => (started = handle)).catch(() => undefined);
// Installed before startup finishes, so a SIGTERM during a slow start (scale-down, rollout) is still graceful.
onShutdownSignal(logger, config.shutdownTimeoutMs, async () => {
  const handle = started ?? (await Promise.race([starting, sleep(STARTUP_GRACE_MS).then(() => undefined)]));
  if (handle) {
    await handle.stop();
    return;
  }
  // Still connecting (kafkajs retries an unreachable broker for ever): no record was fetched yet, so
  // there is nothing to finish or commit, and waiting would only run into the shutdown timeout.
  logger.info('Stopped before Kafka was reached: nothing was consumed, nothing to commit');
});
const consumer = await starting;
logger.info(
  { port: consumer.httpPort },
  `Metrics and health on :${consumer.httpPort} (/metrics, /healthz, /readyz, /stats)`,
);
