import { ratioKey, rowId } from './stats.js';
import type { BenchResult, BenchRow, Spread } from './types.js';

const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const num = (n: number, digits = 2): string => n.toFixed(digits);

function spreadText(s: Spread, format: (n: number) => string): string {
  return s.min === s.max ? format(s.median) : `${format(s.median)} (${format(s.min)}–${format(s.max)})`;
}

/** The ratio cell of `row` against another client of its scenario, or against one consumer for scale rows. */
function ratioCell(row: BenchRow, ratios: Readonly<Record<string, number>>, baseline: string): string {
  if (row.scenario === 'scale') {
    if (baseline !== 'raw-kafkajs' || row.consumers === 1) return '';
    const key = ratioKey(row, { ...row, consumers: 1 });
    const value = ratios[key];
    return value === undefined ? '' : `×${num(value)} vs 1`;
  }
  if (row.client !== 'ours') return '';
  const value = ratios[`${rowId(row)}/${baseline}`];
  return value === undefined ? '' : num(value);
}

function latencyCell(row: BenchRow): string {
  if (row.p50Ms === undefined) return '';
  const p999 = row.p999Ms === undefined ? '' : ` / ${num(row.p999Ms, 1)}`;
  return `${num(row.p50Ms, 1)} / ${num(row.p95Ms ?? 0, 1)} / ${num(row.p99Ms ?? 0, 1)}${p999}`;
}

function memoryCell(row: BenchRow): string {
  if (row.peakRssMb === undefined) return '';
  const heap =
    row.heapStartMb === undefined
      ? ''
      : `; live heap ${num(row.heapStartMb, 1)}→${num(row.heapEndMb ?? 0, 1)} MB${row.heapSteady === undefined ? '' : row.heapSteady ? ' steady' : ' GROWING'}`;
  return `${num(row.peakRssMb, 1)}${heap}`;
}

function scenarioLabel(row: BenchRow): string {
  if (row.scenario === 'e2e-latency' && row.targetRatePerSec !== undefined)
    return `e2e @${int(row.targetRatePerSec)}/s`;
  if (row.consumers !== undefined && row.scenario === 'scale') return `scale ×${row.consumers}`;
  return row.scenario;
}

export const TABLE_HEADER = [
  'scenario',
  'client',
  'mode',
  'orders',
  'orders/s median (min–max)',
  'MB/s',
  'p50/p95/p99/p99.9 ms',
  'peak RSS MB',
  'ours/raw-kafkajs',
  'ours/java',
] as const;

export function tableCells(result: Pick<BenchResult, 'rows' | 'ratios'>): string[][] {
  return result.rows.map((row) => [
    scenarioLabel(row),
    row.client,
    row.mode,
    `${int(row.orders)}${row.repetitions > 1 ? ` ×${row.repetitions}` : ''}`,
    spreadText(row.ordersPerSec, int),
    row.mbPerSec ? num(row.mbPerSec.median) : '',
    latencyCell(row),
    memoryCell(row),
    ratioCell(row, result.ratios, 'raw-kafkajs'),
    ratioCell(row, result.ratios, 'java'),
  ]);
}

/** A Markdown table: readable in a terminal and pasteable into docs/performance.md as it is. */
export function markdownTable(result: Pick<BenchResult, 'rows' | 'ratios'>): string {
  const rows = [[...TABLE_HEADER], ...tableCells(result)];
  const widths = TABLE_HEADER.map((_, i) => Math.max(...rows.map((r) => Array.from(r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  const rule = `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`;
  const [header, ...body] = rows;
  return [line(header ?? []), rule, ...body.map(line)].join('\n');
}

export function renderReport(result: BenchResult): string {
  const m = result.machine;
  const ratioLines = Object.entries(result.ratios).map(([k, v]) => `  ${k} = ${num(v, 3)}`);
  return [
    `Machine: ${m.cpus} × ${m.cpuModel}, ${m.memoryGb} GiB, ${m.platform}; node ${m.node}, kafkajs ${m.kafkajs}, java ${m.java}; load average ${num(m.loadAverage)} at start`,
    `Brokers: ${result.brokers.join(',')}; record size ${result.recordBytes} B (framed Avro order); ${num(result.durationSeconds, 0)} s`,
    '',
    markdownTable(result),
    '',
    'Ratios (of medians):',
    ...ratioLines,
    ...(result.warnings.length > 0 ? ['', 'Warnings:', ...result.warnings.map((w) => `  ${w}`)] : []),
  ].join('\n');
}
