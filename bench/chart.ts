/**
 * The bench's picture: throughput per client and scenario, and end-to-end latency against the producer's
 * rate for both processing modes, as one SVG written beside latest.json. Vega-Lite specs rendered
 * headless by Vega (no browser, no canvas: SVG is text).
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { BenchResult } from './types.js';

interface ThroughputPoint {
  readonly scenario: string;
  readonly client: string;
  readonly ordersPerSec: number;
  readonly min: number;
  readonly max: number;
}

interface LatencyPoint {
  readonly mode: string;
  readonly rate: number;
  readonly percentile: string;
  readonly ms: number;
}

/** Produce and consume rows, one bar per client and mode, with the min–max of the repetitions. */
function throughputPoints(result: BenchResult): ThroughputPoint[] {
  return result.rows
    .filter((r) => r.scenario === 'produce' || r.scenario === 'consume')
    .map((r) => ({
      scenario: r.scenario,
      client: r.client === 'ours' ? `ours (${r.mode})` : r.client,
      ordersPerSec: Math.round(r.ordersPerSec.median),
      min: Math.round(r.ordersPerSec.min),
      max: Math.round(r.ordersPerSec.max),
    }));
}

function latencyPoints(result: BenchResult): LatencyPoint[] {
  const points: LatencyPoint[] = [];
  for (const r of result.rows) {
    if (r.scenario !== 'e2e-latency' || r.targetRatePerSec === undefined) continue;
    const rate = r.targetRatePerSec;
    const add = (percentile: string, ms: number | undefined): void => {
      if (ms !== undefined) points.push({ mode: r.mode, rate, percentile, ms });
    };
    add('p50', r.p50Ms);
    add('p99', r.p99Ms);
    add('p99.9', r.p999Ms);
  }
  return points;
}

function spec(result: BenchResult): TopLevelSpec {
  const throughput = throughputPoints(result);
  const latency = latencyPoints(result);
  const m = result.machine;
  const panels: TopLevelSpec[] = [];
  for (const scenario of ['produce', 'consume']) {
    const values = throughput.filter((p) => p.scenario === scenario);
    if (values.length === 0) continue;
    panels.push({
      title: `${scenario}: orders/s (median; whiskers: min–max of the repetitions)`,
      data: { values },
      width: 520,
      layer: [
        {
          mark: { type: 'bar', tooltip: true },
          encoding: {
            y: { field: 'client', type: 'nominal', title: null },
            x: { field: 'ordersPerSec', type: 'quantitative', title: 'orders/s' },
            color: { field: 'client', type: 'nominal', legend: null },
          },
        },
        {
          mark: { type: 'rule' },
          encoding: {
            y: { field: 'client', type: 'nominal' },
            x: { field: 'min', type: 'quantitative' },
            x2: { field: 'max' },
          },
        },
      ],
    });
  }
  if (latency.length > 0) {
    panels.push({
      title: 'End-to-end latency against the producer rate',
      data: { values: latency },
      width: 520,
      height: 220,
      mark: { type: 'line', point: true, tooltip: true },
      encoding: {
        x: { field: 'rate', type: 'quantitative', title: 'orders/s', scale: { type: 'log' } },
        y: { field: 'ms', type: 'quantitative', title: 'ms', scale: { type: 'log' } },
        color: { field: 'mode', type: 'nominal', title: 'mode' },
        strokeDash: { field: 'percentile', type: 'nominal', title: 'percentile' },
      },
    });
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'npm run bench',
      subtitle: `${m.cpus} × ${m.cpuModel}; node ${m.node}, kafkajs ${m.kafkajs}; ${result.startedAt}`,
    },
    vconcat: panels,
    config: { font: 'sans-serif', view: { stroke: null }, axisY: { labelLimit: 320 } },
  } as TopLevelSpec;
}

/** The chart of `result` as SVG text, or undefined when it has no throughput or latency rows. */
export async function renderChart(result: BenchResult): Promise<string | undefined> {
  if (throughputPoints(result).length === 0 && latencyPoints(result).length === 0) return undefined;
  const view = new vega.View(vega.parse(compile(spec(result)).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
