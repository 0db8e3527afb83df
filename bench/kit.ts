import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { CompressionTypes, type Admin, type Kafka, type Message } from 'kafkajs';
import { pino } from 'pino';
import { loadConfig, type AppConfig, type Role } from '../src/config/load.js';
import { SETTINGS } from '../src/config/settings.js';
import { TOPICS } from '../src/topics.js';
import { createKafka } from '../src/adapters/kafka/client.js';
import { OrderCodec } from '../src/adapters/registry/order-codec.js';
import { createSchemaRegistry } from '../src/adapters/registry/schema-registry-client.js';
import { generateOrders, seededRandom } from '../src/domain/order-generator.js';
import { scrape } from '../test/helpers/health.js';
import { sampleValue, type Sample } from '../test/helpers/metrics-text.js';
import { freePort } from '../test/helpers/processes.js';

export { freePort, scrape };

export const REPO = fileURLToPath(new URL('..', import.meta.url));

export const quiet = pino({ level: 'silent' });

/** Env var of each topic role, so a bench topic set reaches the processes like in production. */
const TOPIC_ENV = {
  orders: 'ORDERS_TOPIC',
  dlq: 'DLQ_TOPIC',
  stats: 'STATS_TOPIC',
  redrive: 'DLQ_REDRIVE_TOPIC',
} as const;

export interface BenchTopics {
  readonly ordersTopic: string;
  readonly groupId: string;
  /** ORDERS_TOPIC, DLQ_TOPIC, STATS_TOPIC, KAFKA_GROUP_ID for this run. */
  readonly env: Readonly<Record<string, string>>;
  readonly names: readonly string[];
}

/** Processing modes of our consumer; exactly-once appears once the setting exists. */
export function processingModes(): string[] {
  return 'processingMode' in SETTINGS ? ['at-least-once', 'exactly-once'] : ['at-least-once'];
}

/** The processing mode a deployment runs: PROCESSING_MODE when set, else the product's default. */
export function defaultMode(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const config: Readonly<Record<string, unknown>> = loadConfig('consumer', {
    PROCESSING_MODE: env['PROCESSING_MODE'],
  });
  const mode = config['processingMode'];
  return typeof mode === 'string' ? mode : 'at-least-once';
}

export class BenchKit {
  readonly kafka: Kafka;
  readonly brokers: readonly string[];
  readonly warnings: string[] = [];
  readonly #created: string[] = [];
  readonly #baseEnv: Readonly<Record<string, string | undefined>>;

  constructor(env: Readonly<Record<string, string | undefined>> = process.env) {
    // The processes' own defaults are chatty; the bench measures them quiet, like a tuned deployment.
    this.#baseEnv = { ...env, LOG_LEVEL: env['BENCH_LOG_LEVEL'] ?? 'warn', LOG_FORMAT: 'json' };
    const config = loadConfig('consumer', this.#baseEnv);
    this.brokers = config.brokers;
    this.kafka = createKafka({ ...config, logLevel: 'silent' }, quiet, 'bench');
  }

  warn(message: string): void {
    this.warnings.push(message);
    console.warn(`  ! ${message}`);
  }

  /** Fresh topics (orders with `partitions` partitions) and a fresh group, deleted at the end of the run. */
  async newTopics(label: string, partitions = 3): Promise<BenchTopics> {
    const id = `bench-${label}-${randomUUID().slice(0, 8)}`;
    const env: Record<string, string> = { KAFKA_GROUP_ID: `${id}-group` };
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const topics = TOPICS.map((t) => ({ ...t, name: `${id}-${t.role}` }));
      for (const t of topics) env[TOPIC_ENV[t.role]] = t.name;
      await admin.createTopics({
        waitForLeaders: true,
        topics: topics.map((t) => ({
          topic: t.name,
          numPartitions: t.role === 'orders' ? partitions : t.partitions,
          replicationFactor: -1,
          configEntries: Object.entries(t.config).map(([name, value]) => ({ name, value })),
        })),
      });
      const names = topics.map((t) => t.name);
      this.#created.push(...names);
      return { ordersTopic: `${id}-orders`, groupId: `${id}-group`, env, names };
    } finally {
      await admin.disconnect();
    }
  }

  /**
   * A fresh STATS_TOPIC for one consumer group. The exactly-once changelog is keyed by orders
   * partition, not by group, so a second group on the same changelog would resume the first
   * group's aggregates and skip every record; each measured group gets its own, like a new deployment.
   */
  async freshStatsTopic(topics: BenchTopics, suffix: string): Promise<Record<string, string>> {
    const definition = TOPICS.find((t) => t.role === 'stats');
    if (!definition) return {};
    const name = `${topics.ordersTopic.replace(/-orders$/, '')}-stats-${suffix}`;
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: [
          {
            topic: name,
            numPartitions: definition.partitions,
            replicationFactor: -1,
            configEntries: Object.entries(definition.config).map(([k, value]) => ({ name: k, value })),
          },
        ],
      });
      this.#created.push(name);
      return { STATS_TOPIC: name };
    } finally {
      await admin.disconnect();
    }
  }

  /** The environment a process of ours gets for `topics`, plus `extra`. */
  env(topics: BenchTopics, extra: Record<string, string> = {}): Record<string, string> {
    const defined = Object.entries(this.#baseEnv).filter((e): e is [string, string] => e[1] !== undefined);
    return {
      ...Object.fromEntries(defined),
      HTTP_HOST: '127.0.0.1',
      HTTP_PORT: '0',
      ...topics.env,
      ...extra,
    };
  }

  config(role: Role, topics: BenchTopics, extra: Record<string, string> = {}): AppConfig {
    return loadConfig(role, this.env(topics, extra));
  }

  /**
   * Records of `topic` whose offsets `groupId` has committed: the broker's view of
   * durable progress, readable while a consumer's event loop is busy with a batch.
   */
  async committed(admin: Admin, groupId: string, topic: string): Promise<number> {
    // The coordinator lookup fails now and then on a busy broker; that is no reason to lose the run.
    for (let attempt = 1; ; attempt += 1) {
      try {
        const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
        return (offsets?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
      } catch (error) {
        if (attempt >= 10) throw error;
        await sleep(100 * attempt);
      }
    }
  }

  async cleanup(): Promise<void> {
    if (this.#created.length === 0) return;
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      await admin.deleteTopics({ topics: this.#created.splice(0) }).catch(() => undefined);
    } finally {
      await admin.disconnect();
    }
  }
}

/**
 * Real orders, Avro-encoded with the schema registered for `topic`: what our
 * producer would write, made ahead of time so a baseline sends the same bytes.
 */
export async function encodeOrders(config: AppConfig, count: number, seed = 42): Promise<Message[]> {
  const codec = new OrderCodec(createSchemaRegistry(config));
  await codec.register(config.ordersTopic);
  const orders = generateOrders({ startOrderId: 1, invalidRatio: 0, random: seededRandom(seed) });
  const messages: Message[] = [];
  for (let i = 0; i < count; i += 1) {
    const { order } = orders.next().value;
    messages.push({ key: order.orderId, value: codec.encode(order) });
  }
  return messages;
}

/** Mean framed size (Confluent header + Avro body) of `messages`' values, rounded. */
export function meanValueBytes(messages: readonly Message[]): number {
  let total = 0;
  for (const m of messages) total += Buffer.isBuffer(m.value) ? m.value.length : 0;
  return messages.length === 0 ? 0 : Math.round(total / messages.length);
}

export interface SendOptions {
  readonly chunk: number;
  readonly idempotent: boolean;
  /** Refresh each record's timestamp at send time (so end-to-end latency starts at the send). */
  readonly stampNow?: boolean;
  /** Send every chunk at once (filling a backlog), instead of one send at a time (measuring). */
  readonly parallel?: boolean;
}

/**
 * Sends `messages` with a plain kafkajs producer, `chunk` records per send, one
 * send at a time (acks=all); returns the seconds from the first send to the last ack.
 */
export async function sendRaw(
  kafka: Kafka,
  topic: string,
  messages: readonly Message[],
  options: SendOptions,
): Promise<number> {
  const producer = kafka.producer({
    idempotent: options.idempotent,
    ...(options.parallel ? {} : { maxInFlightRequests: 1 }),
    allowAutoTopicCreation: false,
  });
  await producer.connect();
  try {
    // Metadata first, so the timed part is sending, as in the other clients' numbers.
    await producer.send({ topic, acks: -1, messages: [] }).catch(() => undefined);
    const started = performance.now();
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < messages.length; i += options.chunk) {
      let slice = messages.slice(i, i + options.chunk);
      if (options.stampNow) {
        const now = String(Date.now());
        slice = slice.map((m) => ({ ...m, timestamp: now }));
      }
      const sent = producer.send({ topic, acks: -1, compression: CompressionTypes.None, messages: slice });
      if (options.parallel) pending.push(sent);
      else await sent;
    }
    await Promise.all(pending);
    return (performance.now() - started) / 1000;
  } finally {
    await producer.disconnect();
  }
}

export function metric(
  samples: readonly Sample[],
  name: string,
  labels: Record<string, string> = {},
): number {
  return sampleValue(samples, name, labels) ?? 0;
}

export const mb = (bytes: number): number => bytes / (1024 * 1024);
