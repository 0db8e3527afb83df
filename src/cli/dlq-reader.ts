#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.js';
import { decodeDeadLetterHeaders } from '../domain/dead-letter.js';
import { createKafka } from '../adapters/kafka/client.js';
import { readTopic } from '../adapters/kafka/topic-reader.js';
import { createLogger } from '../logger.js';
import { configOrExit } from './process-lifecycle.js';

/** Prints dead letters with their headers decoded, like the seed's `kafka-console-consumer --topic orders-dlq`. */
const { values } = parseArgs({
  options: { max: { type: 'string', default: '5' }, 'idle-ms': { type: 'string', default: '3000' } },
});
const config = configOrExit(() => loadConfig('consumer'));
const logger = createLogger({ level: 'warn', format: config.logFormat, name: 'dlq-reader' });
const kafka = createKafka(config, logger, 'dlq-reader');
const records = await readTopic(kafka, {
  topic: config.dlqTopic,
  max: Number(values.max),
  idleMs: Number(values['idle-ms']),
});
for (const { partition, message } of records) {
  let headers: ReturnType<typeof decodeDeadLetterHeaders> | string;
  try {
    headers = decodeDeadLetterHeaders(message.headers ?? {});
  } catch (error) {
    headers = `not a dead letter of ours: ${(error as Error).message}`;
  }
  const summary = {
    dlq: `${config.dlqTopic}[${partition}]@${message.offset}`,
    key: message.key?.toString('utf8') ?? null,
    valueBytes: message.value?.length ?? 0,
    valueHex: message.value?.subarray(0, 32).toString('hex') ?? null,
    headers:
      typeof headers === 'string' ? headers : { ...headers, stacktrace: headers.stacktrace.split('\n')[0] },
  };
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
}
process.stdout.write(`${records.length} dead letter(s) shown from ${config.dlqTopic}\n`);
