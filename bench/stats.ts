import type { BenchRow, Spread } from './types.js';

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const upper = sorted[mid] ?? 0;
  return sorted.length % 2 === 1 ? upper : ((sorted[mid - 1] ?? 0) + upper) / 2;
}

export function spread(values: readonly number[]): Spread {
  if (values.length === 0) throw new Error('spread of no values');
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

/** Nearest-rank percentile (what HdrHistogram and Kafka's tools report), `p` in 0..100. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new Error('percentile of no values');
  const sorted = Float64Array.from(values).sort();
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? 0;
}

/** `scenario.client.mode`, plus `.N-consumers` where the row has a consumer count. */
export function rowId(row: Pick<BenchRow, 'scenario' | 'client' | 'mode' | 'consumers'>): string {
  const base = `${row.scenario}.${row.client}.${row.mode}`;
  return row.consumers === undefined ? base : `${base}.${row.consumers}-consumers`;
}

/**
 * Names a ratio the way the issue spells it: against another client of the same
 * scenario just the client (`consume.ours.at-least-once/raw-kafkajs`), else the
 * other row's full id (`consume.ours.exactly-once/consume.ours.at-least-once`).
 */
export function ratioKey(
  of: Pick<BenchRow, 'scenario' | 'client' | 'mode' | 'consumers'>,
  to: Pick<BenchRow, 'scenario' | 'client' | 'mode' | 'consumers'>,
): string {
  const baseline =
    of.scenario === to.scenario && of.client !== to.client && of.consumers === to.consumers
      ? to.client
      : rowId(to);
  return `${rowId(of)}/${baseline}`;
}

const round = (n: number, digits = 3): number => Number(n.toFixed(digits));

/**
 * The ratios the report shows, from the medians: each of our rows against every
 * other client's row of its scenario, exactly-once against at-least-once, and
 * the scale speed-up against one consumer.
 */
export function computeRatios(rows: readonly BenchRow[]): Record<string, number> {
  const ratios: Record<string, number> = {};
  const add = (of: BenchRow, to: BenchRow): void => {
    if (to.ordersPerSec.median > 0)
      ratios[ratioKey(of, to)] = round(of.ordersPerSec.median / to.ordersPerSec.median);
  };
  for (const scenario of ['produce', 'consume'] as const) {
    const ours = rows.filter((r) => r.scenario === scenario && r.client === 'ours');
    const others = rows.filter((r) => r.scenario === scenario && r.client !== 'ours');
    for (const of of ours) for (const to of others) add(of, to);
  }
  const consumeAlo = rows.find(
    (r) => r.scenario === 'consume' && r.client === 'ours' && r.mode === 'at-least-once',
  );
  const consumeEos = rows.find(
    (r) => r.scenario === 'consume' && r.client === 'ours' && r.mode === 'exactly-once',
  );
  if (consumeAlo && consumeEos) add(consumeEos, consumeAlo);
  // Tracing on against the same mode with tracing off (`consume.ours.at-least-once+tracing/consume.ours.at-least-once`).
  for (const traced of rows.filter((r) => r.scenario === 'consume' && r.client === 'ours')) {
    const [mode, extra] = traced.mode.split('+');
    const off = rows.find((r) => r.scenario === 'consume' && r.client === 'ours' && r.mode === mode);
    if (extra?.startsWith('tracing') && off) add(traced, off);
  }
  const scale = rows.filter((r) => r.scenario === 'scale');
  for (const of of scale) {
    const single = scale.find((r) => r.consumers === 1 && r.client === of.client && r.mode === of.mode);
    if (single && of.consumers !== 1) add(of, single);
  }
  return ratios;
}

export interface HeapTrend {
  /** Live heap after the first major collection past warm-up, bytes. */
  readonly startBytes: number;
  /** Live heap after the last major collection, bytes. */
  readonly endBytes: number;
  /** Major collections the verdict rests on. */
  readonly collections: number;
  /** Undefined when too few major collections happened to tell. */
  readonly steady: boolean | undefined;
}

export interface HeapSample {
  readonly heapUsedBytes: number;
  /** Major (mark-compact) collections so far. */
  readonly majorGcs: number;
}

/**
 * Whether the heap returns to a steady state. Between major collections the
 * used heap climbs with garbage, so only samples taken just after a major
 * collection (the live set) are compared; the first one is warm-up (code,
 * caches, connections). Growth up to 10 % or 8 MiB counts as steady.
 */
export function heapTrend(samples: readonly HeapSample[]): HeapTrend {
  const live: number[] = [];
  for (let i = 1; i < samples.length; i += 1) {
    const now = samples[i];
    const before = samples[i - 1];
    if (now && before && now.majorGcs > before.majorGcs && now.heapUsedBytes > 0)
      live.push(now.heapUsedBytes);
  }
  const compared = live.length > 2 ? live.slice(1) : live;
  const startBytes = compared[0] ?? 0;
  const endBytes = compared.at(-1) ?? 0;
  if (compared.length < 2) return { startBytes, endBytes, collections: live.length, steady: undefined };
  // The smallest of the last few, as one late sample may land mid-way into the next cycle.
  const tail = Math.min(...compared.slice(-3));
  const steady = tail - startBytes <= Math.max(0.1 * startBytes, 8 * 1024 * 1024);
  return { startBytes, endBytes: tail, collections: live.length, steady };
}
