import { Partitioners, type Consumer, type Producer } from 'kafkajs';
import { retryPolicyFrom, type AppConfig } from '../config/load.js';
import { timeBudget } from '../config/time-budget.js';
import { formatCents } from '../domain/money.js';
import { clusterView, type ClusterStatsView } from '../domain/partition-stats.js';
import { RunningAverage } from '../domain/running-average.js';
import { startHttpServer, type HttpServer } from '../adapters/http/server.js';
import { eachBatchOf } from '../adapters/kafka/batch-payload.js';
import { createKafka } from '../adapters/kafka/client.js';
import { waitForBrokerAccess } from '../adapters/kafka/broker-access.js';
import { assertCodecsAvailable } from '../adapters/kafka/codecs.js';
import { ConsumerHealth } from '../adapters/kafka/consumer-health.js';
import { DeadLetterPublisher } from '../adapters/kafka/dead-letter-publisher.js';
import { DeadLetterWriter } from '../adapters/kafka/dead-letter-writer.js';
import { assertKafkajsIsHardened } from '../adapters/kafka/kafkajs-guard.js';
import { LagPoller } from '../adapters/kafka/lag-poller.js';
import { LazyAdmin } from '../adapters/kafka/lazy-admin.js';
import { PartitionOwners } from '../adapters/kafka/partition-owners.js';
import { assertAbortedRecordsStayHidden } from '../adapters/kafka/read-committed-guard.js';
import { StatsChangelog } from '../adapters/kafka/stats-changelog.js';
import { TransactionWriter } from '../adapters/kafka/transaction-writer.js';
import { registerClusterMetrics } from '../adapters/metrics/cluster-metrics.js';
import { registerConsumerMetrics } from '../adapters/metrics/consumer-metrics.js';
import { createMetricsRegistry } from '../adapters/metrics/registry.js';
import { assertAvroDecodingBounded } from '../adapters/registry/avro-guard.js';
import { OrderCodec, subjectFor } from '../adapters/registry/order-codec.js';
import { registryReachable } from '../adapters/registry/registry-probe.js';
import { createSchemaRegistry } from '../adapters/registry/schema-registry-client.js';
import { createTracing } from '../adapters/tracing/index.js';
import type { Tracing } from '../ports/tracing.js';
import { processLogger, type Logger } from '../logger.js';
import { AtLeastOnceCommit } from './at-least-once-commit.js';
import { BatchLoop } from './batch-loop.js';
import type { CommitStrategy } from './commit-strategy.js';
import { simulatedDownstream, type DownstreamStep } from './downstream.js';
import { ConsumerEventBus } from './events.js';
import { OrderProcessor } from './order-processor.js';
import { OutcomeRecorder } from './outcome-recorder.js';
import { TransactionalCommit } from './transactional-commit.js';

export interface ConsumerOptions {
  readonly logger?: Logger;
  /** Replaces the simulated downstream step (tests inject deterministic failures here). */
  readonly downstream?: DownstreamStep;
  readonly bus?: ConsumerEventBus;
  /**
   * Tracing to use (tests: an in-memory exporter), owned by the caller. Default: the OTEL_* settings
   * decide, and the consumer shuts it down when it stops.
   */
  readonly tracing?: Tracing;
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
  const logger = options.logger ?? processLogger(config, 'order-consumer');
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
    maxBytesPerPartition: config.fetchMaxBytesPerPartition,
  });
  const dlqProducer: Producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
    // A dead letter that cannot be written makes its partition wait and try again; kafkajs need not
    // retry for long (the write is bounded by KAFKA_REQUEST_TIMEOUT_MS anyway).
    retry: { initialRetryTime: 100, maxRetryTime: 1000, retries: 3 },
  });
  const admin = new LazyAdmin(kafka);

  const health = new ConsumerHealth({
    consumer,
    ordersTopic: config.ordersTopic,
    onJoin: (partitions) => {
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
    onRebalance: () => {
      bus.emit('rebalance');
    },
  });

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
  const recorder = new OutcomeRecorder({ average, bus, logger });
  let retried = 0;
  bus.on('order.retrying', () => (retried += 1));

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
    policy: retryPolicyFrom(config),
    groupId: config.groupId,
    stepTimeoutMs: budget.downstreamStepMs,
  });

  let stopping = false;
  const deadLetters = new DeadLetterWriter({
    topic: config.dlqTopic,
    admin,
    writeTimeoutMs: budget.kafkaWriteMs,
    logger,
  });
  const changelog =
    config.processingMode === 'exactly-once'
      ? new StatsChangelog({
          kafka,
          topic: config.statsTopic,
          groupPrefix: config.groupId,
          logger,
          onUnreadable: (reason) => bus.emit('changelog.rejected', { partition: undefined, reason }),
        })
      : undefined;
  if (changelog) registerClusterMetrics(metrics, changelog, config.groupId, config.ordersTopic);
  const commits: CommitStrategy = changelog
    ? new TransactionalCommit({
        owners: new PartitionOwners({
          kafka,
          admin,
          changelog,
          transactions: new TransactionWriter({
            topics: config,
            deadLetters,
            writeTimeoutMs: budget.kafkaWriteMs,
          }),
          settings: config,
          bus,
          logger,
        }),
        recorder,
        orderIdOf: (value) => processor.orderIdOf(value),
        logger,
        maxRecords: config.transactionMaxRecords,
        // loadConfig guarantees this is positive in exactly-once mode.
        closeAfterMs: budget.transactionCloseAfterMs,
      })
    : new AtLeastOnceCommit({
        deadLetters: new DeadLetterPublisher(dlqProducer, deadLetters),
        recorder,
        logger,
      });
  // Decided once: with tracing off there is no tracing object at all, and the batch loop does nothing for it.
  const ownTracing = options.tracing === undefined;
  const tracing = options.tracing ?? (await createTracing(config, 'order-consumer', logger));
  const loop = new BatchLoop({ processor, recorder, commits, heartbeatEveryMs, tracing });
  consumer.on(consumer.events.GROUP_JOIN, (event) => {
    const partitions = event.payload.memberAssignment[config.ordersTopic] ?? [];
    loop
      .onAssignment(partitions)
      .catch((error: unknown) => logger.warn({ err: error }, 'releasing partitions failed'));
  });

  for (const line of consumerBanner(config)) logger.info(line);
  // A refused login or an untrusted broker: one clear error, then a capped backoff, before any client connects.
  await waitForBrokerAccess(kafka, config, { logger });
  if (changelog) await changelog.start();
  else await dlqProducer.connect();
  await consumer.connect();
  await consumer.subscribe({ topics: [config.ordersTopic], fromBeginning: true });
  await consumer.run({
    partitionsConsumedConcurrently: config.partitionsConsumedConcurrently,
    eachBatchAutoResolve: false,
    // In exactly-once mode offsets are committed inside each transaction, never by kafkajs.
    autoCommit: changelog === undefined,
    autoCommitInterval: 1000,
    eachBatch: eachBatchOf(
      consumer,
      (batch, control) => loop.handle(batch, control),
      () => stopping,
    ),
  });
  const lagPoller = new LagPoller({
    admin,
    groupId: config.groupId,
    topic: config.ordersTopic,
    ownedPartitions: () => health.assignedPartitions,
    bus,
    logger,
    everyMs: config.lagPollIntervalMs,
  });
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
      await loop.close();
      await changelog?.stop();
      await admin.close();
      await dlqProducer
        .disconnect()
        .catch((error: unknown) => logger.warn({ err: error }, 'DLQ producer disconnect failed'));
      // The last spans are exported (bounded) before the process goes.
      if (ownTracing) await tracing?.shutdown();
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
