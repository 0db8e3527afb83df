import { Partitioners, type Message, type PartitionMetadata, type Producer } from 'kafkajs';
import type { AppConfig } from '../config/load.js';
import { classifyError } from '../errors.js';
import { formatCents } from '../domain/money.js';
import { generateOrders, seededRandom, type GeneratedOrder } from '../domain/order-generator.js';
import { createKafka } from '../adapters/kafka/client.js';
import { startHttpServer } from '../adapters/http/server.js';
import { registerProducerMetrics } from '../adapters/metrics/producer-metrics.js';
import { PUSHGATEWAY_JOB, pushFinalMetrics } from '../adapters/metrics/pushgateway.js';
import { createMetricsRegistry } from '../adapters/metrics/registry.js';
import { OrderCodec } from '../adapters/registry/order-codec.js';
import { registryReachable } from '../adapters/registry/registry-probe.js';
import { createSchemaRegistry } from '../adapters/registry/schema-registry-client.js';
import { processLogger, type Logger } from '../logger.js';
import { ProducerEventBus } from './events.js';
import { Pacer } from './pacer.js';

export interface ProducerOptions {
  readonly logger?: Logger;
  readonly bus?: ProducerEventBus;
  /** Aborting stops generating new orders; what is in flight is still flushed. */
  readonly signal?: AbortSignal;
  /** Keep every acknowledged order in the result (tests compare it with what the consumers saw). */
  readonly keepLedger?: boolean;
  /** Per-order console lines ("Produced Order ..."); default: on for up to 1000 orders. */
  readonly printEachOrder?: boolean;
  /** Serve /metrics, /healthz, /readyz while running (default true). */
  readonly http?: boolean;
}

export interface AcknowledgedOrder extends GeneratedOrder {
  readonly partition: number;
  readonly offset: string;
}

export interface ProducerResult {
  readonly requested: number;
  readonly acknowledged: number;
  readonly failed: number;
  readonly validAcknowledged: number;
  readonly invalidAcknowledged: number;
  /** Sum of the valid acknowledged prices, exact. */
  readonly validSumCents: bigint;
  readonly schemaId: number;
  readonly ledger: readonly AcknowledgedOrder[];
}

/** Largest batch in one send: big enough for throughput, small enough to report progress. */
const MAX_BATCH = 500;

export async function runProducer(config: AppConfig, options: ProducerOptions = {}): Promise<ProducerResult> {
  const logger = options.logger ?? processLogger(config, 'order-producer');
  const bus = options.bus ?? new ProducerEventBus();
  const metrics = createMetricsRegistry({ service: 'producer' });
  registerProducerMetrics(metrics, bus);

  const kafka = createKafka(config, logger, 'producer');
  const producer: Producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  // The Java client's murmur2 partitioner, so keys land where other clients put them. We pick the
  // partition ourselves (not inside kafkajs) to know each record's offset from the batch's base offset.
  const partitioner = Partitioners.DefaultPartitioner();
  let partitionMetadata: PartitionMetadata[] = [];
  let connected = false;
  producer.on(producer.events.CONNECT, () => (connected = true));
  producer.on(producer.events.DISCONNECT, () => (connected = false));

  const http =
    options.http === false
      ? undefined
      : await startHttpServer({
          host: config.httpHost,
          port: config.httpPort,
          registry: metrics,
          logger,
          readiness: [
            { name: 'broker', check: () => connected },
            { name: 'registry', check: () => registryReachable(config) },
          ],
        });

  const printEach = options.printEachOrder ?? config.orderCount <= 1000;
  const ledger: AcknowledgedOrder[] = [];
  const totals = { acknowledged: 0, failed: 0, valid: 0, invalid: 0, validSum: 0n };
  let schemaId: number;
  const codec = new OrderCodec(createSchemaRegistry(config), {
    registration: { autoRegister: config.schemaAutoRegister, compatibility: config.schemaCompatibility },
  });

  try {
    schemaId = await codec.register(config.ordersTopic);
    partitionMetadata = await fetchPartitions();
    logger.info({ schemaId, subject: `${config.ordersTopic}-value` }, `Using schema id ${schemaId}`);
    await producer.connect();

    const orders = generateOrders({
      startOrderId: config.startOrderId,
      invalidRatio: config.invalidRatio,
      random: seededRandom(config.producerSeed ?? Math.floor(Math.random() * 2 ** 31)),
    });
    const pacer = new Pacer(config.orderRate);
    let remaining = config.orderCount;
    while (remaining > 0 && !options.signal?.aborted) {
      const size = await pacer.take(Math.min(remaining, MAX_BATCH), options.signal);
      const batch: GeneratedOrder[] = [];
      for (let i = 0; i < size; i += 1) batch.push(orders.next().value);
      remaining -= size;
      await sendBatch(batch);
    }
    if (options.signal?.aborted) logger.warn({ remaining }, 'Interrupted: in-flight orders were flushed');
  } finally {
    await producer
      .disconnect()
      .catch((error: unknown) => logger.warn({ err: error }, 'producer disconnect failed'));
    logger.info(
      // The valid orders and their sum are what the consumers' /stats must add up to, to the cent.
      {
        acknowledged: totals.acknowledged,
        failed: totals.failed,
        invalid: totals.invalid,
        valid: totals.valid,
        validSum: formatCents(totals.validSum),
      },
      `Producer finished: ${totals.acknowledged} acknowledged (${totals.invalid} deliberately invalid), ${totals.failed} failed`,
    );
    if (config.pushgatewayUrl)
      await pushFinalMetrics(config.pushgatewayUrl, metrics, PUSHGATEWAY_JOB, logger);
    await http?.close();
  }

  return {
    requested: config.orderCount,
    acknowledged: totals.acknowledged,
    failed: totals.failed,
    validAcknowledged: totals.valid,
    invalidAcknowledged: totals.invalid,
    validSumCents: totals.validSum,
    schemaId,
    ledger,
  };

  async function sendBatch(batch: readonly GeneratedOrder[]): Promise<void> {
    const messages: (Message & { partition: number })[] = batch.map(({ order }) => {
      const message: Message = {
        key: order.orderId,
        value: codec.encode(order),
        timestamp: String(order.createdAtMs),
      };
      return {
        ...message,
        partition: partitioner({ topic: config.ordersTopic, partitionMetadata, message }),
      };
    });
    const started = performance.now();
    try {
      const metadata = await producer.send({ topic: config.ordersTopic, acks: -1, messages });
      const sendSeconds = (performance.now() - started) / 1000;
      // kafkajs reports one base offset per partition; records of a partition keep their order.
      const nextOffset = new Map(metadata.map((m) => [m.partition, BigInt(m.baseOffset ?? '0')]));
      batch.forEach((generated, index) => {
        const partition = messages[index]?.partition ?? 0;
        const offset = nextOffset.get(partition) ?? 0n;
        nextOffset.set(partition, offset + 1n);
        acknowledge(generated, partition, offset.toString(), sendSeconds);
      });
    } catch (error) {
      const failure = classifyError(error);
      totals.failed += batch.length;
      const sendSeconds = (performance.now() - started) / 1000;
      for (let i = 0; i < batch.length; i += 1)
        bus.emit('order.failed', { reason: failure.code, sendSeconds });
      logger.error(
        { err: error, orders: batch.length },
        `Failed to deliver ${batch.length} orders: ${failure.message}`,
      );
    }
  }

  async function fetchPartitions(): Promise<PartitionMetadata[]> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: [config.ordersTopic] });
      const partitions = topics[0]?.partitions ?? [];
      if (partitions.length === 0) throw new Error(`topic ${config.ordersTopic} has no partitions`);
      return partitions;
    } finally {
      await admin.disconnect();
    }
  }

  function acknowledge(
    generated: GeneratedOrder,
    partition: number,
    offset: string,
    sendSeconds: number,
  ): void {
    const { order, invalid } = generated;
    totals.acknowledged += 1;
    if (invalid) totals.invalid += 1;
    else {
      totals.valid += 1;
      totals.validSum += order.priceCents;
    }
    if (options.keepLedger) ledger.push({ ...generated, partition, offset });
    bus.emit('order.acknowledged', { partition, offset, sendSeconds, valid: invalid === undefined });
    if (printEach) {
      logger.info(
        { orderId: order.orderId, invalid },
        `Produced Order ${order.orderId}: ${order.product} - $${formatCents(order.priceCents)}${invalid ? ` (invalid: ${invalid})` : ''}`,
      );
      logger.info(`Message delivered to ${config.ordersTopic} [${partition}] at offset ${offset}`);
    }
  }
}
