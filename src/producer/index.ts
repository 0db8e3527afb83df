import {
  Partitioners,
  type Message,
  type PartitionMetadata,
  type Producer,
  type RecordMetadata,
} from 'kafkajs';
import type { AppConfig } from '../config/load.js';
import { classifyError } from '../errors.js';
import { formatCents } from '../domain/money.js';
import { generateOrders, seededRandom, type GeneratedOrder } from '../domain/order-generator.js';
import { createKafka } from '../adapters/kafka/client.js';
import { waitForBrokerAccess } from '../adapters/kafka/broker-access.js';
import { startHttpServer } from '../adapters/http/server.js';
import { registerProducerMetrics } from '../adapters/metrics/producer-metrics.js';
import { PUSHGATEWAY_JOB, pushFinalMetrics } from '../adapters/metrics/pushgateway.js';
import { createMetricsRegistry } from '../adapters/metrics/registry.js';
import { OrderCodec } from '../adapters/registry/order-codec.js';
import { registryReachable } from '../adapters/registry/registry-probe.js';
import { createSchemaRegistry } from '../adapters/registry/schema-registry-client.js';
import { createTracing } from '../adapters/tracing/index.js';
import type { TraceContext, TraceSpan, Tracing } from '../ports/tracing.js';
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
  /** Per-order console lines ("Produced Order ...") at LOG_LEVEL=info or below; default: on for up to 1000 orders. */
  readonly printEachOrder?: boolean;
  /** Serve /metrics, /healthz, /readyz while running (default true). */
  readonly http?: boolean;
  /**
   * Tracing to use (tests: an in-memory exporter), owned by the caller. Default: the OTEL_* settings
   * decide, and the producer shuts it down when it is done.
   */
  readonly tracing?: Tracing;
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

/** A batch's records, ready to send, and (tracing on) each order's `create` span. */
interface EncodedBatch {
  readonly messages: (Message & { partition: number })[];
  readonly created: readonly TraceContext[];
}

/** `sending`, ending `span` when it settles: ok when it resolves, failed when it rejects. */
async function endedWith<T>(span: TraceSpan, sending: Promise<T>): Promise<T> {
  let result: T;
  try {
    result = await sending;
  } catch (error) {
    span.end(error);
    throw error;
  }
  span.end();
  return result;
}

/** A send under way: `acked` settles with the broker's answer, `done` once its orders are counted. */
interface SentBatch {
  readonly acked: Promise<void>;
  readonly done: Promise<void>;
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

  // Decided once: with tracing off there is no tracing object, and no order gets a header.
  const tracing = options.tracing ?? (await createTracing(config, 'order-producer', logger));
  // The original tutorial's two lines per order, when the log level shows them: below info (the bench's
  // warn) not even their text is built.
  const printEach = (options.printEachOrder ?? config.orderCount <= 1000) && logger.isLevelEnabled('info');
  const ledger: AcknowledgedOrder[] = [];
  const totals = { acknowledged: 0, failed: 0, valid: 0, invalid: 0, validSum: 0n };
  let schemaId: number;
  const codec = new OrderCodec(createSchemaRegistry(config), {
    registration: { autoRegister: config.schemaAutoRegister, compatibility: config.schemaCompatibility },
  });

  try {
    // A refused login or an untrusted broker: one clear error, then a capped backoff (Ctrl-C stops it).
    await waitForBrokerAccess(kafka, config, {
      logger,
      ...(options.signal ? { signal: options.signal } : {}),
    });
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
    // One send in flight (idempotent, acks=all), and the next batch generated and encoded while it is:
    // otherwise the event loop would sit idle for each round trip, then the broker for each encoding.
    // The acknowledgements of a send are counted while the next one is in flight, too.
    let previous: SentBatch | undefined;
    while (remaining > 0 && !options.signal?.aborted) {
      const size = await pacer.take(Math.min(remaining, MAX_BATCH), options.signal);
      const batch: GeneratedOrder[] = [];
      for (let i = 0; i < size; i += 1) batch.push(orders.next().value);
      remaining -= size;
      const encoded = encodeBatch(batch);
      await previous?.acked;
      const current = sendBatch(batch, encoded);
      await previous?.done;
      previous = current;
    }
    await previous?.done;
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
    if (options.tracing === undefined) await tracing?.shutdown();
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

  /** The batch's records, each with its partition (murmur2 of the key, as the Java client does). */
  function encodeBatch(batch: readonly GeneratedOrder[]): EncodedBatch {
    const topic = config.ordersTopic;
    // Tracing on: each order gets a `create` span, whose context its `traceparent` header carries.
    const created: TraceContext[] = [];
    const messages = batch.map(({ order }): Message & { partition: number } => {
      // The key as bytes once: the partitioner and kafkajs's encoder would each convert a string. No
      // timestamp: kafkajs stamps the send's time, as the Java client does (the order's own creation
      // time travels in its `createdAt` field); records of a batch then share one timestamp, which
      // kafkajs encodes as a delta of 0, instead of sorting 500 timestamp strings per send.
      const message: Message = { key: Buffer.from(order.orderId), value: codec.encode(order) };
      if (tracing) {
        const headers: Record<string, Buffer> = {};
        created.push(tracing.createOrder(topic, order.orderId, headers));
        message.headers = headers;
      }
      // No partition on the message yet: kafkajs's partitioner returns one that is set as it is.
      return { ...message, partition: partitioner({ topic, partitionMetadata, message }) };
    });
    return { messages, created };
  }

  /** Sends the batch; neither promise rejects: a failed send is counted and logged. */
  function sendBatch(batch: readonly GeneratedOrder[], encoded: EncodedBatch): SentBatch {
    const started = performance.now();
    const send = tracing?.startSend(config.ordersTopic, encoded.created);
    const sent = producer.send({ topic: config.ordersTopic, acks: -1, messages: encoded.messages });
    // The span is the send's, ended once, when it is acknowledged or fails: not by what follows it.
    const result = send === undefined ? sent : endedWith(send, sent);
    const acked = result.then(
      () => undefined,
      () => undefined,
    );
    return { acked, done: settle(batch, encoded.messages, result, started) };
  }

  async function settle(
    batch: readonly GeneratedOrder[],
    messages: readonly (Message & { partition: number })[],
    result: Promise<RecordMetadata[]>,
    started: number,
  ): Promise<void> {
    try {
      const metadata = await result;
      const sendSeconds = (performance.now() - started) / 1000;
      // After the loop has started the next send (it resumes on `acked`, in this same turn): the
      // bookkeeping of 500 orders then overlaps that send's round trip instead of delaying it.
      await new Promise<void>((resolve) => setImmediate(resolve));
      let invalid = 0;
      for (const generated of batch) {
        if (generated.invalid) invalid += 1;
        else totals.validSum += generated.order.priceCents;
      }
      totals.acknowledged += batch.length;
      totals.invalid += invalid;
      totals.valid += batch.length - invalid;
      bus.emit('orders.acknowledged', { valid: batch.length - invalid, invalid, sendSeconds });
      if (options.keepLedger || printEach) recordOffsets(batch, messages, metadata);
    } catch (error) {
      const failure = classifyError(error);
      totals.failed += batch.length;
      const sendSeconds = (performance.now() - started) / 1000;
      bus.emit('orders.failed', { count: batch.length, reason: failure.code, sendSeconds });
      logger.error(
        { err: error, orders: batch.length },
        `Failed to deliver ${batch.length} orders: ${failure.message}`,
      );
    }
  }

  /** Each order's offset, for the ledger and the tutorial's console lines (only they need it). */
  function recordOffsets(
    batch: readonly GeneratedOrder[],
    messages: readonly (Message & { partition: number })[],
    metadata: readonly RecordMetadata[],
  ): void {
    // kafkajs reports one base offset per partition; records of a partition keep their order.
    const nextOffset = new Map(metadata.map((m) => [m.partition, BigInt(m.baseOffset ?? '0')]));
    batch.forEach((generated, index) => {
      const partition = messages[index]?.partition ?? 0;
      const offset = nextOffset.get(partition) ?? 0n;
      nextOffset.set(partition, offset + 1n);
      if (options.keepLedger) ledger.push({ ...generated, partition, offset: offset.toString() });
      if (printEach) printOrder(generated, partition, offset);
    });
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

  /** The original tutorial's two lines per order. */
  function printOrder({ order, invalid }: GeneratedOrder, partition: number, offset: bigint): void {
    logger.info(
      { orderId: order.orderId, invalid },
      `Produced Order ${order.orderId}: ${order.product} - $${formatCents(order.priceCents)}${invalid ? ` (invalid: ${invalid})` : ''}`,
    );
    logger.info(`Message delivered to ${config.ordersTopic} [${partition}] at offset ${offset}`);
  }
}
