#!/usr/bin/env node
import { loadConfig } from '../config/load.js';
import { startConsumer } from '../consumer/index.js';
import { createLogger } from '../logger.js';
import { configOrExit, exitOnUnhandled, onShutdownSignal } from './process-lifecycle.js';

const config = configOrExit(() => loadConfig('consumer'));
const logger = createLogger({ level: config.logLevel, format: config.logFormat, name: 'order-consumer' });
exitOnUnhandled(logger);

const starting = startConsumer(config, { logger });
// Installed before startup finishes, so a SIGTERM during a slow start (scale-down, rollout) is still graceful.
onShutdownSignal(logger, config.shutdownTimeoutMs, async () => {
  const consumer = await starting;
  await consumer.stop();
});
const consumer = await starting;
logger.info(
  { port: consumer.httpPort },
  `Metrics and health on :${consumer.httpPort} (/metrics, /healthz, /readyz, /stats)`,
);
