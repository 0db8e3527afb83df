import { compiledConsumer, imageConsumerNodeFlags } from '../compiled.js';
import type { FleetSample } from '../fleet.js';
import { defaultMode, mb } from '../kit.js';
import { heapTrend } from '../stats.js';
import type { BenchRow } from '../types.js';
import { fmt, type ScenarioContext } from './context.js';
import { holdBacklog, timeFleet } from './scale.js';

/**
 * One consumer process over `memoryOrders` orders: its peak RSS (VmHWM), and
 * its heap sampled every 100 ms while it works. The samples right after a major
 * collection show what is really retained; growth from the first to the last
 * of them would be a leak.
 */
export async function memoryScenario(ctx: ScenarioContext): Promise<BenchRow[]> {
  const orders = ctx.options.memoryOrders;
  const mode = defaultMode();
  const topics = await ctx.kit.newTopics('memory');
  const backlog = await holdBacklog(ctx, topics, orders);
  const samples: FleetSample[] = [];
  const { sample, peakRssBytes } = await timeFleet(ctx, topics, {
    size: 1,
    orders,
    backlog,
    run: 'memory',
    mode,
    // The memory users get: the compiled consumer with the image's node flags (Dockerfile ENTRYPOINT),
    // not tsx, whose loader and transpiled sources add their own.
    entry: { script: compiledConsumer(), nodeArgs: [...imageConsumerNodeFlags(), ...extraNodeArgs()] },
    onSample: (s) => samples.push(s),
  });
  const peakRss = peakRssBytes[0] ?? Math.max(...samples.map((x) => x.rssBytes[0] ?? 0));
  const trend = heapTrend(
    samples.map((x) => ({ heapUsedBytes: x.heapUsedBytes[0] ?? 0, majorGcs: x.majorGcs[0] ?? 0 })),
  );
  const row: BenchRow = {
    scenario: 'memory',
    client: 'ours',
    mode,
    consumers: 1,
    ordersPerSec: { median: sample.ordersPerSec, min: sample.ordersPerSec, max: sample.ordersPerSec },
    peakRssMb: round1(mb(peakRss)),
    ...(trend.collections === 0
      ? {}
      : { heapStartMb: round1(mb(trend.startBytes)), heapEndMb: round1(mb(trend.endBytes)) }),
    ...(trend.steady === undefined ? {} : { heapSteady: trend.steady }),
    orders,
    repetitions: 1,
    note: `${samples.length} samples, ${trend.collections} major GCs; RSS ${fmt(mb(samples[0]?.rssBytes[0] ?? 0))} MB once joined, before the backlog`,
  };
  ctx.log(
    `memory ${mode}: peak RSS ${fmt(row.peakRssMb ?? 0)} MB, live heap ${row.heapStartMb ?? 0} → ${row.heapEndMb ?? 0} MB (${verdict(trend.steady)}, ${trend.collections} major GCs); ${row.note ?? ''}`,
  );
  return [row];
}

const verdict = (steady: boolean | undefined): string =>
  steady === undefined ? 'too few major GCs to tell' : steady ? 'steady' : 'GROWING';

const round1 = (n: number): number => Math.round(n * 10) / 10;

/** BENCH_CONSUMER_NODE_ARGS: node flags to try on top of the image's (e.g. another --max-semi-space-size). */
const extraNodeArgs = (): string[] =>
  (process.env['BENCH_CONSUMER_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
