import { Partitioners, type Consumer, type EachBatchPayload, type Producer } from 'kafkajs';
import type { AppConfig } from '../config/load.js';
import { formatCents } from '../domain/money.js';
import type { RetryPolicy } from '../domain/retry-policy.js';
import { RunningAverage } from '../domain/running-average.js';
import { createKafka } from '../adapters/kafka/client.js';
import { DeadLetterPublisher } from '../adapters/kafka/dead-letter-publisher.js';
import { startHttpServer, type HttpServer } from '../adapters/http/server.js';
import { registerConsumerMetrics } from '../adapters/metrics/consumer-metrics.js';
import { createMetricsRegistry } from '../adapters/metrics/registry.js';
import { OrderCodec } from '../adapters/registry/order-codec.js';
import { registryReachable } from '../adapters/registry/registry-probe.js';
import { createSchemaRegistry } from '../adapters/registry/schema-registry-client.js';
import { createLogger, type Logger } from '../logger.js';
import { ConsumerHealth } from './consumer-health.js';
import { simulatedDownstream, type DownstreamStep } from './downstream.js';
import { ConsumerEventBus } from './events.js';
import { OrderProcessor, type IncomingRecord, type ProcessingContext } from './order-processor.js';

export interface ConsumerOptions {
  readonly logger?: Logger;
  /** Replaces the simulated downstream step (tests inject deterministic failures here). */
  readonly downstream?: DownstreamStep;
  readonly bus?: ConsumerEventBus;
}

export interface ConsumerStats {
  readonly processed: number;
  readonly deadLettered: number;
  readonly retried: number;
  readonly count: bigint;
  readonly sumCents: bigint;
  readonly averageCents: bigint;
}

export interface ConsumerHandle {
  readonly httpPort: number;
  readonly bus: ConsumerEventBus;
  readonly health: ConsumerHealth;
  stats(): ConsumerStats;
  /** Graceful: stop fetching, finish or abandon the in-flight record, commit, leave the group. */
  stop(): Promise<void>;
}

export function retryPolicyFrom(config: AppConfig): RetryPolicy {
  return {
    maxRetries: config.maxRetries,
    backoffMs: config.retryBackoffMs,
    strategy: config.retryBackoffStrategy,
    maxBackoffMs: config.retryBackoffMaxMs,
    jitter: config.retryJitter,
  };
}

export function consumerBanner(config: AppConfig): string[] {
  return [
    '='.repeat(60),
    'KAFKA ORDER CONSUMER',
    '='.repeat(60),
    `Subscribed to topic: ${config.ordersTopic}`,
    `Consumer group: ${config.groupId}`,
    'Real-time aggregation enabled',
    `Retry logic: ${config.maxRetries} attempts`,
    `DLQ topic: ${config.dlqTopic}`,
    'Waiting for messages...',
  ];
}

export async function startConsumer(
  config: AppConfig,
  options: ConsumerOptions = {},
): Promise<ConsumerHandle> {
  const logger =
    options.logger ??
    createLogger({ level: config.logLevel, format: config.logFormat, name: 'order-consumer' });
  const bus = options.bus ?? new ConsumerEventBus();
  const metrics = createMetricsRegistry({ service: 'consumer' });
  registerConsumerMetrics(metrics, bus);

  const kafka = createKafka(config, logger, 'consumer');
  const consumer: Consumer = kafka.consumer({
    groupId: config.groupId,
    readUncommitted: false,
    sessionTimeout: 30_000,
    heartbeatInterval: 3000,
    maxWaitTimeInMs: 500,
  });
  const dlqProducer: Producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });

  const health = new ConsumerHealth(
    consumer,
    config.ordersTopic,
    (partitions) => {
      bus.emit('partitions.assigned', { partitions });
      logger.info({ partitions }, `Assigned partitions of ${config.ordersTopic}: [${partitions.join(', ')}]`);
    },
    () => {
      bus.emit('rebalance');
    },
  );

  // Probes must answer while Kafka is still being reached, so HTTP comes first.
  const http: HttpServer = await startHttpServer({
    host: config.httpHost,
    port: config.httpPort,
    registry: metrics,
    logger,
    readiness: [
      { name: 'broker', check: () => health.connected },
      { name: 'group', check: () => health.joined },
      { name: 'registry', check: () => registryReachable(config) },
    ],
  });
  consumer.on(consumer.events.CRASH, (event) => {
    // kafkajs restarts the consumer on retriable crashes; only a final one makes the pod unhealthy.
    if (!event.payload.restart) http.markFatal(event.payload.error);
  });

  const average = new RunningAverage();
  const counters = { processed: 0, deadLettered: 0, retried: 0 };
  bus.on('order.processed', () => (counters.processed += 1));
  bus.on('order.dead_lettered', () => (counters.deadLettered += 1));
  bus.on('order.retrying', () => (counters.retried += 1));

  const codec = new OrderCodec(createSchemaRegistry(config));
  const processor = new OrderProcessor({
    decoder: codec,
    downstream: options.downstream ?? simulatedDownstream(config.simulatedFailureRate),
    deadLetters: new DeadLetterPublisher(dlqProducer, config.dlqTopic),
    policy: retryPolicyFrom(config),
    groupId: config.groupId,
    average,
    bus,
    logger,
  });

  let stopping = false;

  async function eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale } = payload;
    const ctx: ProcessingContext = {
      heartbeat,
      shouldAbandon: () => stopping || !isRunning() || isStale(),
    };
    let lastDone: string | undefined;
    for (const message of batch.messages) {
      if (ctx.shouldAbandon()) break;
      const record: IncomingRecord = {
        topic: batch.topic,
        partition: batch.partition,
        offset: message.offset,
        timestamp: message.timestamp,
        key: message.key,
        value: message.value,
      };
      const outcome = await processor.handle(record, ctx);
      if (outcome.kind === 'abandoned') break;
      resolveOffset(message.offset);
      lastDone = message.offset;
      await commitOffsetsIfNecessary();
    }
    if (lastDone !== undefined) {
      bus.emit('lag', [
        {
          partition: batch.partition,
          lag: Math.max(0, Number(BigInt(batch.highWatermark) - BigInt(lastDone) - 1n)),
        },
      ]);
      // kafkajs does not commit on stop; do it here so a graceful shutdown leaves nothing to redo.
      if (stopping || !isRunning()) {
        await commitOffsetsIfNecessary({
          topics: [
            {
              topic: batch.topic,
              partitions: [{ partition: batch.partition, offset: (BigInt(lastDone) + 1n).toString() }],
            },
          ],
        });
      }
    }
  }

  for (const line of consumerBanner(config)) logger.info(line);
  await dlqProducer.connect();
  await consumer.connect();
  await consumer.subscribe({ topics: [config.ordersTopic], fromBeginning: true });
  await consumer.run({
    partitionsConsumedConcurrently: config.partitionsConsumedConcurrently,
    eachBatchAutoResolve: false,
    autoCommitInterval: 1000,
    eachBatch,
  });

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      stopping = true;
      logger.info('Shutting down: finishing the in-flight order, committing and leaving the group');
      await consumer
        .disconnect()
        .catch((error: unknown) => logger.warn({ err: error }, 'consumer disconnect failed'));
      await dlqProducer
        .disconnect()
        .catch((error: unknown) => logger.warn({ err: error }, 'DLQ producer disconnect failed'));
      logger.info(
        { processed: counters.processed, deadLettered: counters.deadLettered, retried: counters.retried },
        `Consumer stopped: ${counters.processed} processed, ${counters.deadLettered} dead-lettered, ` +
          `${counters.retried} retries, average $${formatCents(average.averageCents)}`,
      );
      // Last, so probes and a final scrape still answer during shutdown.
      await http.close();
    })();
    return stopped;
  };

  return {
    httpPort: http.port,
    bus,
    health,
    stats: () => ({
      ...counters,
      count: average.count,
      sumCents: average.sumCents,
      averageCents: average.averageCents,
    }),
    stop,
  };
}
