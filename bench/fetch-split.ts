/**
 * `npm run bench:fetch-split`: where a consumer's wall time goes, kafkajs's fetching against
 * batch handling. kafkajs fetches again only when every batch of the last fetch is handled, so the
 * two add up: raw kafkajs (which only counts) is almost all fetch; ours adds its pipeline between
 * fetches. The per-record "between" time is our pipeline's cost in place, with the fetched batch
 * alive, which `bench:hot-path` (no broker) understates. raw-reading also reads every record's
 * bytes, offset and timestamp: the part of that cost which any consumer of the records pays.
 */
import { PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Kafka, type Consumer, type ConsumerConfig } from 'kafkajs';
import { ConsumerEventBus } from '../src/consumer/events.js';
import { startConsumer } from '../src/consumer/index.js';
import { waitUntil } from '../test/helpers/wait.js';
import { countWithKafkajs } from './clients/raw-kafkajs-count.js';
import { FetchSplitClock } from './fetch-split-clock.js';
import { BenchKit, encodeOrders, quiet, sendRaw, type BenchTopics } from './kit.js';
import { median } from './stats.js';

const { values } = parseArgs({
  options: {
    orders: { type: 'string', default: '500000' },
    rounds: { type: 'string', default: '3' },
    mode: { type: 'string', default: 'at-least-once' },
  },
});
const orders = Number(values.orders);
const rounds = Number(values.rounds);
const mode = values.mode;

interface Split {
  readonly ordersPerSec: number;
  readonly fetches: number;
  readonly insideUs: number;
  readonly betweenUs: number;
  /** Garbage collection within the timed window (inside and between fetches), per record. */
  readonly gcUs: number;
}

// Every client runs in this process, so its window's collections are its own.
const collections: PerformanceEntry[] = [];
new PerformanceObserver((list) => collections.push(...list.getEntries())).observe({ entryTypes: ['gc'] });
const gcMsBetween = (from: number, to: number): number =>
  collections.reduce((ms, gc) => (gc.startTime >= from && gc.startTime < to ? ms + gc.duration : ms), 0);

function instrument(consumer: Consumer, clock: FetchSplitClock): void {
  consumer.on(consumer.events.FETCH_START, () => clock.fetchStarted(performance.now()));
  consumer.on(consumer.events.FETCH, () => clock.fetchEnded(performance.now()));
}

/**
 * Runs `start` with every kafkajs consumer created for `groupId` instrumented: kafkajs's
 * Kafka.consumer() is wrapped meanwhile, so our consumer is measured from outside (it has no hook
 * for it) exactly like the raw-kafkajs baselines.
 */
async function instrumentingGroup<T>(
  groupId: string,
  clock: FetchSplitClock,
  start: () => Promise<T>,
): Promise<T> {
  const original = Kafka.prototype.consumer;
  Kafka.prototype.consumer = function (this: Kafka, config: ConsumerConfig): Consumer {
    const consumer = original.call(this, config);
    if (config.groupId === groupId) instrument(consumer, clock);
    return consumer;
  };
  try {
    return await start();
  } finally {
    Kafka.prototype.consumer = original;
  }
}

const result = (clock: FetchSplitClock, from: number, to: number): Split => ({
  ordersPerSec: orders / ((to - from) / 1000),
  ...clock.perRecord(orders),
  gcUs: (gcMsBetween(from, to) * 1000) / orders,
});

/** The consume scenario's raw-kafkajs baseline, instrumented; `readEach` also reads every record. */
async function raw(kit: BenchKit, topics: BenchTopics, round: number, readEach: boolean): Promise<Split> {
  const clock = new FetchSplitClock();
  const { joinedAt, doneAt } = await countWithKafkajs(kit.kafka, {
    topic: topics.ordersTopic,
    groupId: `${topics.groupId}-raw-${readEach ? 'reading-' : ''}${round}`,
    readEach,
    records: orders,
    timeoutMs: 60_000 + orders,
    instrument: (c) => instrument(c, clock),
    onDone: (at) => clock.finish(at),
  });
  return result(clock, joinedAt, doneAt);
}

async function ours(kit: BenchKit, topics: BenchTopics, round: number): Promise<Split> {
  const clock = new FetchSplitClock();
  const bus = new ConsumerEventBus();
  let joinedAt = 0;
  let doneAt = 0;
  let done = 0;
  bus.on('partitions.assigned', () => (joinedAt ||= performance.now()));
  const onDone = (count = 1): void => {
    done += count;
    if (done >= orders && doneAt === 0) {
      doneAt = performance.now();
      clock.finish(doneAt);
    }
  };
  bus.on('orders.processed', ({ count }) => onDone(count));
  bus.on('order.dead_lettered', () => onDone());
  const config = kit.config('consumer', topics, {
    KAFKA_GROUP_ID: `${topics.groupId}-ours-${round}`,
    PROCESSING_MODE: mode,
    ...(await kit.freshStatsTopic(topics, `split-${round}`)),
  });
  const consumer = await instrumentingGroup(config.groupId, clock, () =>
    startConsumer({ ...config, httpPort: 0 }, { logger: quiet, bus }),
  );
  try {
    await waitUntil(`our consumer to finish ${orders}`, () => doneAt > 0, 60_000 + orders, 5);
  } finally {
    await consumer.stop();
  }
  return result(clock, joinedAt, doneAt);
}

const show = (client: string, s: Split): string =>
  `${client.padEnd(12)} ${Math.round(s.ordersPerSec).toLocaleString('en-US').padStart(9)} orders/s  ` +
  `${String(s.fetches).padStart(3)} fetches  inside fetches ${s.insideUs.toFixed(2)} µs/record  ` +
  `between fetches ${s.betweenUs.toFixed(2)} µs/record  GC ${s.gcUs.toFixed(2)} µs/record`;

const kit = new BenchKit();
try {
  const topics = await kit.newTopics('fetch-split');
  await sendRaw(kit.kafka, topics.ordersTopic, await encodeOrders(kit.config('producer', topics), orders), {
    chunk: 1000,
    idempotent: true,
  });
  console.log(`${orders} orders, ours in ${mode} mode; round 0 is an untimed warm-up`);
  const clients: Record<string, (round: number) => Promise<Split>> = {
    'raw-kafkajs': (round) => raw(kit, topics, round, false),
    'raw-reading': (round) => raw(kit, topics, round, true),
    ours: (round) => ours(kit, topics, round),
  };
  const splits = Object.fromEntries(Object.keys(clients).map((c) => [c, [] as Split[]]));
  for (let round = 0; round <= rounds; round += 1) {
    console.log(`round ${round}`);
    for (const [client, run] of Object.entries(clients)) {
      const split = await run(round);
      console.log(`  ${show(client, split)}`);
      if (round > 0) splits[client]?.push(split);
    }
  }
  const med = (list: Split[], key: keyof Split): number => median(list.map((s) => s[key]));
  console.log('medians');
  for (const [client, list] of Object.entries(splits)) {
    console.log(
      `  ${show(client, {
        ordersPerSec: med(list, 'ordersPerSec'),
        fetches: med(list, 'fetches'),
        insideUs: med(list, 'insideUs'),
        betweenUs: med(list, 'betweenUs'),
        gcUs: med(list, 'gcUs'),
      })}`,
    );
  }
} finally {
  await kit.cleanup();
}
process.exit(0);
