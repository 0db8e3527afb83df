#!/usr/bin/env node
import { loadConfig } from '../config/load.js';
import { startConsumer } from '../consumer/index.js';
import { createLogger } from '../logger.js';
import { configOrExit, exitOnUnhandled, onShutdownSignal } from './process-lifecycle.js';

const config = configOrExit(() => loadConfig('consumer'));
const logger = createLogger({ level: config.logLevel, format: config.logFormat, name: 'order-consumer' });
exitOnUnhandled(logger);

const consumer = await startConsumer(config, { logger });
logger.info(
  { port: consumer.httpPort },
  `Metrics and health on :${consumer.httpPort} (/metrics, /healthz, /readyz)`,
);
onShutdownSignal(logger, config.shutdownTimeoutMs, () => consumer.stop());
