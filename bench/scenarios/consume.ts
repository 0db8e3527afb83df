import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { startConsumer } from '../../src/consumer/index.js';
import { ConsumerEventBus } from '../../src/consumer/events.js';
import { waitUntil } from '../../test/helpers/wait.js';
import type { Message } from 'kafkajs';
import { countWithKafkajs } from '../clients/raw-kafkajs-count.js';
import { consumerPerformance } from '../java-tools.js';
import { encodeOrders, processingModes, quiet, REPO, sendRaw, type BenchTopics } from '../kit.js';
import { imageNodeBinary } from '../node-lts.js';
import { startOtlpSink, type OtlpSink } from '../otlp-sink.js';
import { spread } from '../stats.js';
import type { BenchRow } from '../types.js';
import { fmt, rate, type Sample, type ScenarioContext } from './context.js';

const execFileAsync = promisify(execFile);

/** The images' Node, for the @platformatic/kafka baseline; undefined (baseline skipped) when unavailable. */
function platformaticNode(ctx: ScenarioContext): string | undefined {
  if (!ctx.options.extraClients) return undefined;
  try {
    return imageNodeBinary();
  } catch (error) {
    ctx.kit.warn(`consume: @platformatic/kafka baseline skipped, no Node LTS binary: ${String(error)}`);
    return undefined;
  }
}

/**
 * Every client is timed from joining the group to the last record done, so the
 * group join (seconds in kafkajs) is left out, as in ConsumerPerformance's
 * fetch.nMsg.sec, while fetching is counted.
 */
const timeoutMs = (orders: number): number => 60_000 + orders;

/** The mode of the tracing-on row, measured beside the same mode with tracing off. */
const TRACED_MODE = 'at-least-once';

/** Our consumer pipeline: decode, validate, aggregate, commit (in the given processing mode). */
async function ours(
  ctx: ScenarioContext,
  topics: BenchTopics,
  mode: string,
  rep: number,
  /** Extra settings (the tracing rows' OTEL_* variables). */
  env: Record<string, string> = {},
  /** Names the group and the changelog: the mode, or the row's mode when one mode has several rows. */
  label: string = mode,
): Promise<Sample> {
  const orders = ctx.options.consumeOrders;
  const config = ctx.kit.config('consumer', topics, {
    KAFKA_GROUP_ID: `${topics.groupId}-ours-${label}-${rep}`,
    PROCESSING_MODE: mode,
    ...(await ctx.kit.freshStatsTopic(topics, `${label}-${rep}`)),
    ...env,
  });
  const bus = new ConsumerEventBus();
  let joinedAt: number | undefined;
  let doneAt: number | undefined;
  let done = 0;
  bus.on('partitions.assigned', () => (joinedAt ??= performance.now()));
  const onDone = (count = 1): void => {
    done += count;
    if (done >= orders) doneAt ??= performance.now();
  };
  bus.on('orders.processed', ({ count }) => onDone(count));
  bus.on('order.dead_lettered', () => onDone());
  const consumer = await startConsumer({ ...config, httpPort: 0 }, { logger: quiet, bus });
  try {
    await waitUntil(
      () => `our consumer to finish ${orders} orders (done ${done})`,
      () => doneAt !== undefined,
      timeoutMs(orders),
      20,
    );
  } finally {
    await consumer.stop();
  }
  const stats = consumer.stats();
  if (stats.deadLettered > 0)
    ctx.kit.warn(`consume ours ${mode}: ${stats.deadLettered} orders dead-lettered`);
  return rate(orders, ((doneAt ?? 0) - (joinedAt ?? 0)) / 1000, ctx.recordBytes);
}

/**
 * kafkajs alone, with our consumer's client settings (the fetch size included: what a fetch brings is
 * a setting of the deployment, not work of our code), counting records and committing like ours
 * (autocommit).
 */
async function raw(ctx: ScenarioContext, topics: BenchTopics, rep: number): Promise<Sample> {
  const orders = ctx.options.consumeOrders;
  const { joinedAt, doneAt } = await countWithKafkajs(ctx.kit.kafka, {
    topic: topics.ordersTopic,
    groupId: `${topics.groupId}-raw-${rep}`,
    records: orders,
    timeoutMs: timeoutMs(orders),
    maxBytesPerPartition: ctx.kit.config('consumer', topics).fetchMaxBytesPerPartition,
  });
  return rate(orders, (doneAt - joinedAt) / 1000, ctx.recordBytes);
}

/**
 * @platformatic/kafka (pure JavaScript, a newer protocol layer than kafkajs) counting records, in a
 * child process on the images' Node LTS: how far another JavaScript client moves the ceiling.
 */
async function platformatic(
  ctx: ScenarioContext,
  topics: BenchTopics,
  rep: number,
  node: string,
): Promise<Sample> {
  const orders = ctx.options.consumeOrders;
  const script = path.join(REPO, 'bench/clients/platformatic-count.ts');
  const args = [
    script,
    ctx.kit.brokers.join(','),
    topics.ordersTopic,
    `${topics.groupId}-platformatic-${rep}`,
  ];
  const { stdout } = await execFileAsync(node, [...args, String(orders)], {
    cwd: REPO,
    timeout: timeoutMs(orders) + 30_000,
  });
  const result = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as {
    records?: number;
    seconds?: number;
  };
  if (result.records !== orders || !result.seconds) throw new Error(`platformatic client printed ${stdout}`);
  return rate(orders, result.seconds, ctx.recordBytes);
}

/** Kafka's ConsumerPerformance, over the same records after reading `warmup` of them untimed. */
async function java(ctx: ScenarioContext, topics: BenchTopics, rep: number, warmup: number): Promise<Sample> {
  if (!ctx.java) throw new Error('java tools unavailable');
  const result = await consumerPerformance(ctx.java, {
    brokers: ctx.kit.brokers.join(','),
    topic: topics.ordersTopic,
    records: ctx.options.consumeOrders,
    warmupRecords: warmup,
    group: `${topics.groupId}-java-${rep}`,
  });
  return rate(result.timedRecords, result.timedRecords / result.recordsPerSec, ctx.recordBytes);
}

/**
 * The orders again, each with the `traceparent` header a traced producer writes (a trace of its own):
 * what a traced consumer reads and links its run spans to. One order in `sampledEvery` is sampled, as
 * a producer sampling 1/`sampledEvery` of its orders writes them; the consumer's runs follow them.
 */
async function tracedTopic(
  ctx: ScenarioContext,
  messages: readonly Message[],
  sampledEvery = 1,
): Promise<BenchTopics> {
  const topics = await ctx.kit.newTopics('consume-traced');
  const traced = messages.map((m, i) => {
    const ids = randomBytes(24).toString('hex');
    const flags = i % sampledEvery === 0 ? '01' : '00';
    return { ...m, headers: { traceparent: `00-${ids.slice(0, 32)}-${ids.slice(32)}-${flags}` } };
  });
  await sendRaw(ctx.kit.kafka, topics.ordersTopic, traced, { chunk: 1000, idempotent: true });
  return topics;
}

/**
 * Our consumer with tracing on, its spans posted over OTLP/HTTP to `sink`: every order sampled, so
 * every run recorded (the default sampler); and 1 % of the orders sampled by their producer
 * (`parentbased_traceidratio` at 0.01 on both sides, what a busy deployment runs), each run recorded
 * when one of its orders is, linked to those only.
 */
function tracedOurs(
  ctx: ScenarioContext,
  everyOrder: BenchTopics,
  onePercent: BenchTopics,
  sink: OtlpSink,
): Client[] {
  const variants: [string, BenchTopics, Record<string, string>][] = [
    ['tracing', everyOrder, {}],
    [
      'tracing-1%',
      onePercent,
      { OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.01' },
    ],
  ];
  return variants.map(([label, topics, sampling]) => ({
    client: 'ours',
    mode: `${TRACED_MODE}+${label}`,
    inProcess: true,
    run: (_t: BenchTopics, rep: number) =>
      ours(
        ctx,
        topics,
        TRACED_MODE,
        rep,
        { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: sink.url, ...sampling },
        label.replace('%', 'pct'),
      ),
  }));
}

interface Client {
  readonly client: string;
  readonly mode: string;
  /** Runs in this process, so its first round would also pay V8's compile-and-optimize warm-up. */
  readonly inProcess: boolean;
  run(topics: BenchTopics, rep: number): Promise<Sample>;
}

export async function consumeScenario(ctx: ScenarioContext): Promise<BenchRow[]> {
  const topics = await ctx.kit.newTopics('consume');
  // Extra records, read untimed by the Java tool as JVM warm-up; the kafkajs clients stop at `orders`.
  const warmup = ctx.java ? Math.ceil(ctx.options.consumeOrders / 2) : 0;
  const messages = await encodeOrders(ctx.kit.config('producer', topics), ctx.options.consumeOrders + warmup);
  await sendRaw(ctx.kit.kafka, topics.ordersTopic, messages, { chunk: 1000, idempotent: true });
  // Tracing on, side by side with tracing off: the same orders with trace headers, spans to a local sink.
  const traced = await tracedTopic(ctx, messages.slice(0, ctx.options.consumeOrders));
  const tracedOnePercent = await tracedTopic(ctx, messages.slice(0, ctx.options.consumeOrders), 100);
  const sink = await startOtlpSink();
  try {
    return await consumeClients(ctx, topics, warmup, tracedOurs(ctx, traced, tracedOnePercent, sink));
  } finally {
    await sink.close();
    ctx.log(
      `consume tracing: ${sink.received.exports} OTLP exports, ${(sink.received.bytes / 1024 ** 2).toFixed(1)} MB`,
    );
    if (sink.received.exports === 0) ctx.kit.warn('consume ours with tracing: no span reached the OTLP sink');
  }
}

async function consumeClients(
  ctx: ScenarioContext,
  topics: BenchTopics,
  warmup: number,
  traced: readonly Client[],
): Promise<BenchRow[]> {
  const node = platformaticNode(ctx);
  const [headline, ...otherModes] = processingModes().map((mode): Client => ({
    client: 'ours',
    mode,
    inProcess: true,
    run: (t: BenchTopics, r: number) => ours(ctx, t, mode, r),
  }));
  if (headline === undefined) throw new Error('no processing mode to measure');
  const rawKafkajs: Client = {
    client: 'raw-kafkajs',
    mode: 'at-least-once',
    inProcess: true,
    run: (t, r) => raw(ctx, t, r),
  };
  // The headline comparison, ours at-least-once against raw kafkajs, runs back to back (see below).
  const clients: Client[] = [
    headline,
    rawKafkajs,
    ...otherModes,
    ...traced,
    ...(node
      ? [
          {
            client: 'raw-platformatic',
            mode: 'at-least-once',
            inProcess: false,
            run: (t: BenchTopics, r: number) => platformatic(ctx, t, r, node),
          },
        ]
      : []),
    ...(ctx.java
      ? [
          {
            client: 'java',
            mode: 'at-least-once',
            inProcess: false,
            run: (t: BenchTopics, r: number) => java(ctx, t, r, warmup),
          },
        ]
      : []),
  ];
  const samples = clients.map(() => [] as Sample[]);
  // A replica consumes for hours, so steady state is what counts: like the Java tool's warm-up
  // records, an untimed round of each in-process client comes first (one shared process).
  for (let round = 1; round <= ctx.options.warmupRounds; round += 1) {
    for (const c of clients.filter((client) => client.inProcess)) {
      const sample = await c.run(topics, -round);
      ctx.log(
        `consume ${c.client} ${c.mode} warm-up ${round}: ${fmt(sample.ordersPerSec)} orders/s (untimed)`,
      );
    }
  }
  // Every repetition reads the same topic with a fresh group; clients take turns. The headline pair
  // runs back to back, in turns swapped each repetition (ours first, then raw kafkajs first): the
  // machine's drift over a repetition (tens of seconds) and whatever the first of two runs leaves the
  // second (a heap to collect) then fall on both alike.
  for (let rep = 1; rep <= ctx.options.repetitions; rep += 1) {
    const order = [...clients.entries()];
    if (rep % 2 === 0) order.unshift(...order.splice(1, 1));
    for (const [i, c] of order) {
      const sample = await c.run(topics, rep);
      samples[i]?.push(sample);
      ctx.log(`consume ${c.client} ${c.mode} #${rep}: ${fmt(sample.ordersPerSec)} orders/s`);
    }
  }
  return clients.map((c, i) => {
    const list = samples[i] ?? [];
    return {
      scenario: 'consume',
      client: c.client,
      mode: c.mode,
      ordersPerSec: spread(list.map((s) => s.ordersPerSec)),
      mbPerSec: spread(list.map((s) => s.mbPerSec)),
      orders: ctx.options.consumeOrders,
      repetitions: list.length,
    };
  });
}
