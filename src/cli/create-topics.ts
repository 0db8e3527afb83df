#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka } from 'kafkajs';
import { kafkaClientConfig } from '../adapters/kafka/client.js';
import { describeTopicOutcomes, ensureTopics } from '../adapters/kafka/ensure-topics.js';
import { loadConfig } from '../config/load.js';
import { processLogger } from '../logger.js';
import { resolveTopics } from '../topics.js';
import { configOrExit } from './process-lifecycle.js';

/**
 * Creates the application's topics (src/topics.ts, with ORDERS_TOPIC/DLQ_TOPIC
 * applied) if they are missing; the compose and chart topic-init jobs run this.
 * It waits for the brokers, because an init job usually starts before them.
 */
const { values } = parseArgs({
  options: {
    'replication-factor': { type: 'string', default: '-1' },
    'wait-ms': { type: 'string', default: '180000' },
  },
});
const replicationFactor = Number(values['replication-factor']);
const waitMs = Number(values['wait-ms']);
if (!Number.isInteger(replicationFactor) || replicationFactor === 0 || replicationFactor < -1) {
  process.stderr.write('--replication-factor must be a positive integer, or -1 for the broker default\n');
  process.exit(2);
}
if (!Number.isInteger(waitMs) || waitMs < 0) {
  process.stderr.write('--wait-ms must be a non-negative integer\n');
  process.exit(2);
}

const config = configOrExit(() => loadConfig('producer'));
const logger = processLogger(config, 'create-topics');
const topics = resolveTopics(config);
const deadline = Date.now() + waitMs;

for (let attempt = 1; ; attempt++) {
  // Short client retries: the loop around them owns the overall wait (--wait-ms).
  const clientConfig = kafkaClientConfig(config, logger, 'create-topics');
  const admin = new Kafka({
    ...clientConfig,
    retry: { initialRetryTime: 300, maxRetryTime: 2000, retries: 3 },
  }).admin();
  try {
    await admin.connect();
    const outcomes = await ensureTopics(admin, topics, { replicationFactor });
    const lines = describeTopicOutcomes(outcomes);
    outcomes.forEach((outcome, i) => {
      const mismatch = outcome.partitions !== outcome.expectedPartitions;
      const { name: topic, ...rest } = outcome;
      logger[mismatch ? 'warn' : 'info']({ topic, ...rest }, lines[i] ?? topic);
    });
    break;
  } catch (error) {
    if (Date.now() >= deadline) {
      logger.error({ err: error, brokers: config.brokers }, 'Could not create the topics; giving up');
      process.exit(1);
    }
    logger.warn({ err: (error as Error).message, attempt }, 'Brokers not ready yet; retrying');
    await sleep(2000);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
