import type { BenchResult } from './types.js';

/**
 * What the smoke run asserts: every scenario asked for produced rows, and every
 * number is finite and above zero. Never a speed: CI machines vary too much.
 */
export function sanityProblems(result: Pick<BenchResult, 'rows'>, scenarios: readonly string[]): string[] {
  const problems: string[] = [];
  for (const scenario of scenarios) {
    if (!result.rows.some((r) => r.scenario === scenario)) problems.push(`no ${scenario} rows`);
  }
  const positive = (n: number | undefined): boolean => n !== undefined && Number.isFinite(n) && n > 0;
  for (const row of result.rows) {
    const id = `${row.scenario}/${row.client}/${row.mode}${row.consumers === undefined ? '' : `/${row.consumers}`}`;
    if (!positive(row.ordersPerSec.median) || !positive(row.ordersPerSec.min))
      problems.push(`${id}: orders/s is not positive`);
    if (!positive(row.orders)) problems.push(`${id}: no orders`);
    if (row.scenario === 'e2e-latency' && !(positive(row.p50Ms) && positive(row.p99Ms))) {
      problems.push(`${id}: latency percentiles missing or zero`);
    }
    if (row.scenario === 'memory' && !positive(row.peakRssMb)) problems.push(`${id}: peak RSS missing`);
  }
  return problems;
}
