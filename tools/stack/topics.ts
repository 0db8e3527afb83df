import { createKafka } from '../../src/adapters/kafka/client.js';
import {
  describeTopicOutcomes,
  ensureTopics,
  type TopicOutcome,
} from '../../src/adapters/kafka/ensure-topics.js';
import { loadConfig, type AppConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { StackError } from './errors.js';
import { createLogger } from '../../src/logger.js';
import { resolveTopics } from '../../src/topics.js';

/**
 * Creates the application's topics (src/topics.ts, with ORDERS_TOPIC/DLQ_TOPIC
 * applied) through the same client code the application uses, so SASL/TLS
 * settings of an external cluster apply here too.
 */
export async function ensureAppTopics(
  env: Readonly<Record<string, string | undefined>>,
  options: { readonly replicationFactor?: number } = {},
): Promise<{ outcomes: TopicOutcome[]; lines: string[] }> {
  let config: AppConfig;
  try {
    config = loadConfig('producer', env);
  } catch (error) {
    if (error instanceof ConfigError) throw new StackError(`cannot create the topics: ${error.message}`);
    throw error;
  }
  const logger = createLogger({ level: 'error', format: 'json', name: 'stack' });
  const admin = createKafka(config, logger, 'stack-topics').admin();
  await admin.connect();
  try {
    const outcomes = await ensureTopics(admin, resolveTopics(config), options);
    return { outcomes, lines: describeTopicOutcomes(outcomes) };
  } finally {
    await admin.disconnect();
  }
}
