import { runProducer } from '../../src/producer/index.js';
import { ProducerEventBus } from '../../src/producer/events.js';
import { producerPerformance } from '../java-tools.js';
import { encodeOrders, quiet, sendRaw } from '../kit.js';
import { spread } from '../stats.js';
import type { BenchRow } from '../types.js';
import { fmt, rate, type Sample, type ScenarioContext } from './context.js';

/** Same settings everywhere: idempotent, acks=all, one request in flight, 500 records per send. */
const MODE = 'idempotent';
const CHUNK = 500;

/** Our producer: Avro encoding, registry, partitioner and bookkeeping included. */
async function ours(ctx: ScenarioContext): Promise<Sample> {
  const { kit, options } = ctx;
  const topics = await kit.newTopics('produce-ours');
  const config = kit.config('producer', topics, { ORDER_COUNT: String(options.orders), ORDER_RATE: '0' });
  const bus = new ProducerEventBus();
  let startedAt: number | undefined;
  let lastAckAt = 0;
  // The send window: from the start of the first send (its ack minus its duration) to the last ack,
  // so registry registration and connecting are not counted, as for the baselines.
  bus.on('orders.acknowledged', ({ sendSeconds }) => {
    lastAckAt = performance.now();
    startedAt ??= lastAckAt - sendSeconds * 1000;
  });
  const result = await runProducer(config, { logger: quiet, bus, http: false, printEachOrder: false });
  if (result.acknowledged !== options.orders || startedAt === undefined) {
    throw new Error(
      `our producer acknowledged ${result.acknowledged}/${options.orders} (${result.failed} failed)`,
    );
  }
  return rate(result.acknowledged, (lastAckAt - startedAt) / 1000, ctx.recordBytes);
}

/** kafkajs alone, sending the same pre-encoded bytes with the same settings. */
async function raw(ctx: ScenarioContext): Promise<Sample> {
  const topics = await ctx.kit.newTopics('produce-raw');
  const messages = await encodeOrders(ctx.kit.config('producer', topics), ctx.options.orders);
  const seconds = await sendRaw(ctx.kit.kafka, topics.ordersTopic, messages, {
    chunk: CHUNK,
    idempotent: true,
  });
  return rate(messages.length, seconds, ctx.recordBytes);
}

async function java(ctx: ScenarioContext): Promise<Sample & { p50Ms: number; p99Ms: number }> {
  if (!ctx.java) throw new Error('java tools unavailable');
  const topics = await ctx.kit.newTopics('produce-java');
  const result = await producerPerformance(ctx.java, {
    brokers: ctx.kit.brokers.join(','),
    topic: topics.ordersTopic,
    records: ctx.options.orders,
    recordSize: ctx.recordBytes,
  });
  return {
    ...rate(result.records, result.records / result.recordsPerSec, ctx.recordBytes),
    p50Ms: result.p50Ms,
    p99Ms: result.p99Ms,
  };
}

export async function produceScenario(ctx: ScenarioContext): Promise<BenchRow[]> {
  const clients: [string, (c: ScenarioContext) => Promise<Sample>][] = [
    ['ours', ours],
    ['raw-kafkajs', raw],
    ...(ctx.java ? ([['java', java]] as [string, (c: ScenarioContext) => Promise<Sample>][]) : []),
  ];
  const samples = new Map<string, Sample[]>(clients.map(([name]) => [name, []]));
  // As in the consume scenario: an untimed round of each client first. Both kafkajs clients run in this
  // process, so without it the first one timed pays V8's compile-and-optimize warm-up of kafkajs for both.
  for (let round = 1; round <= ctx.options.warmupRounds; round += 1) {
    for (const [name, run] of clients.filter(([client]) => client !== 'java')) {
      const sample = await run(ctx);
      ctx.log(`produce ${name} warm-up ${round}: ${fmt(sample.ordersPerSec)} orders/s (untimed)`);
    }
  }
  // Clients take turns within each repetition, so drifting machine load hits them alike.
  for (let rep = 1; rep <= ctx.options.repetitions; rep += 1) {
    for (const [name, run] of clients) {
      const sample = await run(ctx);
      samples.get(name)?.push(sample);
      ctx.log(`produce ${name} #${rep}: ${fmt(sample.ordersPerSec)} orders/s`);
    }
  }
  return clients.map(([client]) => {
    const list = samples.get(client) ?? [];
    return {
      scenario: 'produce',
      client,
      mode: MODE,
      ordersPerSec: spread(list.map((s) => s.ordersPerSec)),
      mbPerSec: spread(list.map((s) => s.mbPerSec)),
      orders: ctx.options.orders,
      repetitions: list.length,
    };
  });
}
