import { Partitioners, type Consumer, type Producer } from 'kafkajs';
import { retryPolicyFrom, type AppConfig } from '../config/load.js';
import { formatCents } from '../domain/money.js';
import { RunningAverage } from '../domain/running-average.js';
import { createKafka } from '../adapters/kafka/client.js';
import { DeadLetterPublisher } from '../adapters/kafka/dead-letter-publisher.js';
import { DeadLetterWriter } from '../adapters/kafka/dead-letter-writer.js';
import { LazyAdmin } from '../adapters/kafka/lazy-admin.js';
import { assertAvroDecodingBounded } from '../adapters/registry/avro-guard.js';
import { assertCodecsAvailable } from '../adapters/kafka/codecs.js';
import { assertKafkajsIsHardened } from '../adapters/kafka/kafkajs-guard.js';
import { timeBudget } from '../config/time-budget.js';
import { StatsChangelog } from '../adapters/kafka/stats-changelog.js';
import { assertAbortedRecordsStayHidden } from '../adapters/kafka/read-committed-guard.js';
import { registerClusterMetrics } from '../adapters/metrics/cluster-metrics.js';
import { clusterView, type ClusterStatsView } from '../domain/partition-stats.js';
import { AtLeastOnceHandler } from './at-least-once-handler.js';
import type { BatchHandler } from './batch-handler.js';
import { OutcomeRecorder } from './outcome-recorder.js';
import { TransactionalHandler } from './transactional-handler.js';
import { startHttpServer, type HttpServer } from '../adapters/http/server.js';
import { registerConsumerMetrics } from '../adapters/metrics/consumer-metrics.js';
import { createMetricsRegistry } from '../adapters/metrics/registry.js';
import { OrderCodec, subjectFor } from '../adapters/registry/order-codec.js';
import { registryReachable } from '../adapters/registry/registry-probe.js';
import { createSchemaRegistry } from '../adapters/registry/schema-registry-client.js';
import { createLogger, type Logger } from '../logger.js';
import { ConsumerHealth } from './consumer-health.js';
import { simulatedDownstream, type DownstreamStep } from './downstream.js';
import { ConsumerEventBus } from './events.js';
import { LagPoller } from './lag-poller.js';
import { OrderProcessor } from './order-processor.js';

export interface ConsumerOptions {
  readonly logger?: Logger;
  /** Replaces the simulated downstream step (tests inject deterministic failures here). */
  readonly downstream?: DownstreamStep;
  readonly bus?: ConsumerEventBus;
  /** Sees the kafkajs consumer before it connects, for instrumentation (`npm run bench:fetch-split`). */
  readonly instrument?: (consumer: Consumer) => void;
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
  /** The cluster-wide aggregate read from the changelog (exactly-once mode; empty otherwise). */
  clusterStats(): ClusterStatsView;
  /** Graceful: stop fetching, finish or abandon the in-flight record, commit, leave the group. */
  stop(): Promise<void>;
}

export function consumerBanner(config: AppConfig): string[] {
  return [
    '='.repeat(60),
    'KAFKA ORDER CONSUMER',
    '='.repeat(60),
    `Subscribed to topic: ${config.ordersTopic}`,
    `Consumer group: ${config.groupId}`,
    `Real-time aggregation enabled (${config.processingMode}${config.processingMode === 'exactly-once' ? `, changelog ${config.statsTopic}` : ''})`,
    `Retry logic: ${config.maxRetries} retries (up to ${config.maxRetries + 1} attempts, ${config.retryBackoffMs} ms backoff)`,
    `DLQ topic: ${config.dlqTopic}`,
    'Waiting for messages...',
  ];
}

/**
 * While the group is being joined, fetch the subject's latest schema, so the first batch does not
 * wait for the registry. Best effort: any other id, or a failure here, is fetched when first seen.
 */
function preloadWriterSchema(codec: OrderCodec, topic: string, logger: Logger): void {
  codec.preload(topic).then(
    (id) => {
      if (id === undefined) logger.info(`No schema registered under ${subjectFor(topic)} yet`);
      else logger.debug({ schemaId: id }, `Cached the latest schema of ${subjectFor(topic)}`);
    },
    (error: unknown) =>
      logger.warn({ err: error }, `Could not preload ${subjectFor(topic)}; records will fetch it`),
  );
}

export async function startConsumer(
  config: AppConfig,
  options: ConsumerOptions = {},
): Promise<ConsumerHandle> {
  // Before anything connects: a client that leaks aborted records would corrupt the aggregate silently,
  // and a decoder that trusts block counts could hang on the first hostile record.
  if (config.processingMode === 'exactly-once') assertAbortedRecordsStayHidden();
  assertAvroDecodingBounded();
  // Nothing a client writes may take kafkajs minutes or crash it: headers, keys, batches it cannot read.
  assertKafkajsIsHardened();
  assertCodecsAvailable();
  const logger =
    options.logger ??
    createLogger({ level: config.logLevel, format: config.logFormat, name: 'order-consumer' });
  const bus = options.bus ?? new ConsumerEventBus();
  const metrics = createMetricsRegistry({ service: 'consumer' });
  registerConsumerMetrics(metrics, bus);

  const kafka = createKafka(config, logger, 'consumer');
  const heartbeatEveryMs = Math.min(3000, Math.floor(config.sessionTimeoutMs / 3));
  const consumer: Consumer = kafka.consumer({
    groupId: config.groupId,
    readUncommitted: false,
    sessionTimeout: config.sessionTimeoutMs,
    // A rebalance waits for every member's batch: at least as long as a batch may take (time-budget.ts).
    rebalanceTimeout: Math.max(60_000, config.sessionTimeoutMs),
    heartbeatInterval: heartbeatEveryMs,
    maxWaitTimeInMs: 500,
  });
  options.instrument?.(consumer);
  const dlqProducer: Producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
    // A dead letter that cannot be written makes its partition wait and try again; kafkajs need not
    // retry for long (the write is bounded by KAFKA_REQUEST_TIMEOUT_MS anyway).
    retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 3 },
  });
  const admin = new LazyAdmin(kafka);

  const health = new ConsumerHealth(
    consumer,
    config.ordersTopic,
    (partitions) => {
      bus.emit('partitions.assigned', { partitions });
      if (partitions.length > 0)
        logger.info(
          { partitions },
          `Assigned partitions of ${config.ordersTopic}: [${partitions.join(', ')}]`,
        );
      // More consumers than partitions (a kubectl scale past the topic's partitions): say why it does nothing.
      else
        logger.warn(
          { partitions },
          `No partition of ${config.ordersTopic} assigned: this consumer stays idle until one is free (the group has more members than the topic has partitions)`,
        );
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
    routes: (app) => {
      app.get('/stats', (_req, res) => {
        res.json(
          clusterView(
            changelog?.all() ?? [],
            config.groupId,
            config.ordersTopic,
            changelog?.caughtUp ?? false,
          ),
        );
      });
    },
    readiness: [
      { name: 'broker', check: () => health.connected },
      { name: 'group', check: () => health.joined },
      { name: 'registry', check: () => registryReachable(config) },
      // A partition that cannot write its dead letters is stuck until an operator acts: say so.
      { name: 'dlq', check: () => recorder.waits.assertNoneWaitFor('dlq') },
    ],
  });
  consumer.on(consumer.events.CRASH, (event) => {
    // kafkajs restarts the consumer on retriable crashes; only a final one makes the pod unhealthy.
    if (!event.payload.restart) http.markFatal(event.payload.error);
  });

  const average = new RunningAverage();
  const recorder = new OutcomeRecorder(average, bus, logger);
  let retried = 0;
  bus.on('order.retrying', () => (retried += 1));

  const policy = retryPolicyFrom(config);
  // The limits every step of a batch keeps to (loadConfig checked that they fit the session).
  const budget = timeBudget(config);
  const codec = new OrderCodec(createSchemaRegistry(config));
  preloadWriterSchema(codec, config.ordersTopic, logger);
  const processor = new OrderProcessor({
    decoder: codec,
    // With no failures to simulate there is no step: good orders then go in runs (OrderProcessor.takeRun).
    downstream:
      options.downstream ??
      (config.simulatedFailureRate > 0 ? simulatedDownstream(config.simulatedFailureRate) : undefined),
    policy,
    groupId: config.groupId,
    stepTimeoutMs: budget.downstreamStepMs,
  });

  let stopping = false;
  const isStopping = () => stopping;
  const exactlyOnce = config.processingMode === 'exactly-once';
  const changelog = exactlyOnce
    ? new StatsChangelog(kafka, config.statsTopic, config.groupId, logger, (reason) =>
        bus.emit('changelog.rejected', { partition: undefined, reason }),
      )
    : undefined;
  if (changelog) registerClusterMetrics(metrics, changelog, config.groupId, config.ordersTopic);
  const handler: BatchHandler = changelog
    ? new TransactionalHandler({
        kafka,
        consumer,
        admin,
        config,
        policy,
        processor,
        recorder,
        changelog,
        bus,
        logger,
        isStopping,
        heartbeatEveryMs,
      })
    : new AtLeastOnceHandler({
        processor,
        recorder,
        deadLetters: new DeadLetterPublisher(
          dlqProducer,
          config.dlqTopic,
          new DeadLetterWriter(config.dlqTopic, admin, budget.kafkaWriteMs, logger),
        ),
        bus,
        logger,
        isStopping,
        heartbeatEveryMs,
      });
  consumer.on(consumer.events.GROUP_JOIN, (event) => {
    const partitions = event.payload.memberAssignment[config.ordersTopic] ?? [];
    handler
      .onAssignment(partitions)
      .catch((error: unknown) => logger.warn({ err: error }, 'releasing partitions failed'));
  });

  for (const line of consumerBanner(config)) logger.info(line);
  if (changelog) await changelog.start();
  else await dlqProducer.connect();
  await consumer.connect();
  await consumer.subscribe({ topics: [config.ordersTopic], fromBeginning: true });
  await consumer.run({
    partitionsConsumedConcurrently: config.partitionsConsumedConcurrently,
    eachBatchAutoResolve: false,
    // In exactly-once mode offsets are committed inside each transaction, never by kafkajs.
    autoCommit: !exactlyOnce,
    autoCommitInterval: 1000,
    eachBatch: (payload) => handler.handle(payload),
  });
  const lagPoller = new LagPoller(
    kafka,
    config.groupId,
    config.ordersTopic,
    () => health.assignedPartitions,
    bus,
    logger,
    config.lagPollIntervalMs,
  );
  lagPoller.start();

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      stopping = true;
      logger.info('Shutting down: finishing the in-flight order, committing and leaving the group');
      await consumer
        .disconnect()
        .catch((error: unknown) => logger.warn({ err: error }, 'consumer disconnect failed'));
      await lagPoller.stop();
      // After the consumer: no batch can need a partition's producer any more.
      await handler.close();
      await changelog?.stop();
      await admin.close();
      await dlqProducer
        .disconnect()
        .catch((error: unknown) => logger.warn({ err: error }, 'DLQ producer disconnect failed'));
      const { processed, deadLettered } = recorder.counters;
      logger.info(
        { processed, deadLettered, retried },
        `Consumer stopped: ${processed} processed, ${deadLettered} dead-lettered, ` +
          `${retried} retries, average $${formatCents(average.averageCents)}`,
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
    clusterStats: () =>
      clusterView(changelog?.all() ?? [], config.groupId, config.ordersTopic, changelog?.caughtUp ?? false),
    stats: () => ({
      ...recorder.counters,
      retried,
      count: average.count,
      sumCents: average.sumCents,
      averageCents: average.averageCents,
    }),
    stop,
  };
}
