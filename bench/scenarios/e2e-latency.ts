import { startConsumer } from '../../src/consumer/index.js';
import { ConsumerEventBus } from '../../src/consumer/events.js';
import { startCli } from '../../test/helpers/processes.js';
import { waitUntil } from '../../test/helpers/wait.js';
import { processingModes, quiet } from '../kit.js';
import { percentile, spread } from '../stats.js';
import type { BenchRow } from '../types.js';
import { fmt, type ScenarioContext } from './context.js';

interface LatencyRun {
  readonly ordersPerSec: number;
  readonly latenciesMs: number[];
}

/**
 * Our producer (its own process, paced to `ratePerSec`) into our consumer
 * (this process, already in the group). Latency: the order's createdAt to
 * processed, as the consumer's own metric measures it.
 */
async function run(ctx: ScenarioContext, mode: string, ratePerSec: number): Promise<LatencyRun> {
  const orders = Math.max(1, Math.round(ratePerSec * ctx.options.e2eSeconds));
  const topics = await ctx.kit.newTopics(`e2e-${ratePerSec}`);
  const bus = new ConsumerEventBus();
  const latenciesMs: number[] = [];
  let firstAt = 0;
  let lastAt = 0;
  // Exactly-once takes its partitions up on assignment (fencing, restoring the aggregate): the run
  // measures the steady state, as the other modes' runs do, so it starts once that is done.
  let assigned = false;
  const ready = mode === 'exactly-once' ? 'partitions.owned' : 'partitions.assigned';
  bus.on(ready, () => (assigned = true));
  bus.on('orders.processed', ({ endToEndSeconds }) => {
    lastAt = performance.now();
    if (latenciesMs.length === 0) firstAt = lastAt;
    for (let i = 0; i < endToEndSeconds.length; i += 1) latenciesMs.push((endToEndSeconds[i] ?? 0) * 1000);
  });
  const consumer = await startConsumer(ctx.kit.config('consumer', topics, { PROCESSING_MODE: mode }), {
    logger: quiet,
    bus,
  });
  try {
    await waitUntil(
      `the consumer to ${mode === 'exactly-once' ? 'own' : 'join'} its partitions`,
      () => assigned,
      60_000,
      20,
    );
    const producer = startCli(
      'producer',
      ctx.kit.env(topics, { ORDER_COUNT: String(orders), ORDER_RATE: String(ratePerSec) }),
    );
    const exit = await producer.exited;
    if (exit.code !== 0) throw new Error(`producer exited with ${String(exit.code ?? exit.signal)}`);
    await waitUntil(
      () => `${orders} orders processed (have ${latenciesMs.length})`,
      () => latenciesMs.length >= orders,
      60_000 + orders,
      20,
    );
  } finally {
    await consumer.stop();
  }
  const seconds = (lastAt - firstAt) / 1000;
  return { ordersPerSec: seconds > 0 ? (latenciesMs.length - 1) / seconds : 0, latenciesMs };
}

export async function e2eLatencyScenario(ctx: ScenarioContext): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  for (const mode of processingModes()) {
    for (const ratePerSec of ctx.options.rates) {
      // One run per rate: the percentiles come from every record of it, thousands of samples.
      const r = await run(ctx, mode, ratePerSec);
      ctx.log(
        `e2e ${mode} @${fmt(ratePerSec)}/s: ${fmt(r.ordersPerSec)} orders/s, p50 ${percentile(r.latenciesMs, 50).toFixed(1)}, p99 ${percentile(r.latenciesMs, 99).toFixed(1)}, p99.9 ${percentile(r.latenciesMs, 99.9).toFixed(1)} ms`,
      );
      const all = r.latenciesMs;
      rows.push({
        scenario: 'e2e-latency',
        client: 'ours',
        mode,
        ordersPerSec: spread([r.ordersPerSec]),
        p50Ms: round1(percentile(all, 50)),
        p95Ms: round1(percentile(all, 95)),
        p99Ms: round1(percentile(all, 99)),
        p999Ms: round1(percentile(all, 99.9)),
        orders: all.length,
        repetitions: 1,
        targetRatePerSec: ratePerSec,
      });
    }
  }
  return rows;
}

const round1 = (n: number): number => Math.round(n * 10) / 10;
