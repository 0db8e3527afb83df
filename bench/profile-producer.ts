import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import path from 'node:path';
import { runProducer } from '../src/producer/index.js';
import { ProducerEventBus } from '../src/producer/events.js';
import { encodeOrders, quiet, sendRaw, type BenchKit } from './kit.js';
import type { CpuProfile } from './profile-summary.js';

export interface ProducerProfile {
  readonly client: 'ours' | 'raw-kafkajs';
  readonly ordersPerSec: number;
  readonly profile: CpuProfile;
  readonly file: string;
}

/**
 * Our producer and raw kafkajs, each after an untimed warm-up round, under the V8 CPU profiler of
 * this process (the produce scenario also runs both in the harness's process). Each clock runs from
 * the first send to the last ack, as in the produce scenario.
 */
export async function profileProducers(
  kit: BenchKit,
  orders: number,
  dir: string,
): Promise<ProducerProfile[]> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  const profiled = async (
    client: ProducerProfile['client'],
    run: () => Promise<number>,
  ): Promise<ProducerProfile> => {
    await run();
    await session.post('Profiler.start');
    const seconds = await run();
    const { profile } = await session.post('Profiler.stop');
    const file = path.join(dir, `producer-${client}-${Date.now()}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    return { client, ordersPerSec: orders / seconds, profile: profile as unknown as CpuProfile, file };
  };
  try {
    const ours = await profiled('ours', async () => {
      const topics = await kit.newTopics('profile-produce-ours');
      const bus = new ProducerEventBus();
      let first: number | undefined;
      let last = 0;
      bus.on('orders.acknowledged', ({ sendSeconds }) => {
        last = performance.now();
        first ??= last - sendSeconds * 1000;
      });
      const config = kit.config('producer', topics, { ORDER_COUNT: String(orders), ORDER_RATE: '0' });
      await runProducer(config, { logger: quiet, bus, http: false, printEachOrder: false });
      return (last - (first ?? last)) / 1000;
    });
    const raw = await profiled('raw-kafkajs', async () => {
      const topics = await kit.newTopics('profile-produce-raw');
      const messages = await encodeOrders(kit.config('producer', topics), orders);
      return sendRaw(kit.kafka, topics.ordersTopic, messages, { chunk: 500, idempotent: true });
    });
    return [ours, raw];
  } finally {
    await session.post('Profiler.disable');
    session.disconnect();
  }
}
