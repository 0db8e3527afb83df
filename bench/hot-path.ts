/**
 * `npm run bench:hot-path`: our consumer's per-record cost without a broker. The
 * same fetched batches go through kafkajs-free stand-ins of what raw kafkajs
 * does with them (count) and through our at-least-once batch loop; the difference
 * is what our pipeline adds per record, in ns, with the heap it churns.
 */
import { parseArgs } from 'node:util';
import { AtLeastOnceCommit } from '../src/consumer/at-least-once-commit.js';
import { BatchLoop } from '../src/consumer/batch-loop.js';
import { ConsumerEventBus } from '../src/consumer/events.js';
import { OrderProcessor } from '../src/consumer/order-processor.js';
import { OutcomeRecorder } from '../src/consumer/outcome-recorder.js';
import { RunningAverage } from '../src/domain/running-average.js';
import { generateOrders, seededRandom } from '../src/domain/order-generator.js';
import { registerConsumerMetrics } from '../src/adapters/metrics/consumer-metrics.js';
import { createMetricsRegistry } from '../src/adapters/metrics/registry.js';
import { OrderCodec, loadOrderSchema } from '../src/adapters/registry/order-codec.js';
import type { BatchControl, BatchRecord, ConsumedBatch } from '../src/ports/records.js';
import { registryStandIn } from '../test/helpers/registry-stand-in.js';
import { quiet } from './kit.js';

const { values } = parseArgs({
  options: { records: { type: 'string', default: '200000' }, rounds: { type: 'string', default: '7' } },
});
const records = Number(values.records);
const BATCH = 5000;
const SCHEMA_ID = 1;

// A registry stand-in answering from memory: the schema lookup of registration, and fetching by id.
const { registry } = registryStandIn({
  schemas: { [SCHEMA_ID]: loadOrderSchema() },
  latest: { 'orders-value': SCHEMA_ID },
});

const codec = new OrderCodec(registry);
await codec.register('orders');
const generator = generateOrders({ startOrderId: 1, invalidRatio: 0, random: seededRandom(7) });
const batches: BatchRecord[][] = [];
for (let offset = 0; offset < records; offset += 1) {
  const { order } = generator.next().value;
  const message = {
    magicByte: 2,
    attributes: 0,
    timestamp: String(Date.now()),
    offset: String(offset),
    key: Buffer.from(order.orderId),
    value: codec.encode(order),
    headers: {},
    isControlRecord: false,
    batchContext: {},
  } as BatchRecord;
  if (offset % BATCH === 0) batches.push([]);
  batches.at(-1)?.push(message);
}

function batchOf(messages: BatchRecord[], partition: number): ConsumedBatch {
  const last = messages.at(-1)?.offset ?? '0';
  return { topic: 'orders', partition, highWatermark: String(Number(last) + 1), messages };
}

const control: BatchControl = {
  resolveOffset: () => undefined,
  resolveBatch: () => undefined,
  commit: () => Promise.resolve(),
  pause: () => () => undefined,
  seek: () => undefined,
  heartbeat: () => Promise.resolve(),
  isStopping: () => false,
  shouldAbandon: () => false,
};

const bus = new ConsumerEventBus();
registerConsumerMetrics(createMetricsRegistry({ service: 'consumer' }), bus);
const processor = new OrderProcessor({
  decoder: codec,
  policy: {
    maxRetries: 3,
    backoffMs: 10,
    strategy: 'fixed',
    maxBackoffMs: 10,
    jitter: 0,
    waitBackoffMs: 10,
    waitMaxBackoffMs: 10,
  },
  groupId: 'bench',
});
await codec.decode(batches[0]?.[0]?.value ?? null);
const recorder = new OutcomeRecorder({ average: new RunningAverage(), bus, logger: quiet });
const ours = new BatchLoop({
  processor,
  recorder,
  commits: new AtLeastOnceCommit({
    deadLetters: { publish: () => Promise.resolve() },
    recorder,
    logger: quiet,
  }),
  heartbeatEveryMs: 3000,
});

async function nsPerRecord(eachBatch: (batch: ConsumedBatch) => Promise<void>): Promise<number> {
  const started = process.hrtime.bigint();
  for (const [i, messages] of batches.entries()) await eachBatch(batchOf(messages, i % 3));
  return Number(process.hrtime.bigint() - started) / records;
}

let counted = 0;
const raw = (batch: ConsumedBatch): Promise<void> => {
  counted += batch.messages.length;
  return Promise.resolve();
};
const results: { raw: number; ours: number }[] = [];
for (let round = 0; round < Number(values.rounds); round += 1) {
  results.push({
    raw: await nsPerRecord(raw),
    ours: await nsPerRecord((batch) => ours.handle(batch, control)),
  });
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
console.log(`records ${records}, rounds ${results.length} (counted ${counted})`);
console.log(`ours per record: median ${median(results.map((r) => r.ours)).toFixed(0)} ns`);
console.log(`  each round: ${results.map((r) => r.ours.toFixed(0)).join(' ')}`);
