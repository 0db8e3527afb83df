/**
 * `npm run bench:chart -- [results.json] [out.svg]`: the chart of a bench run (default
 * bench/results/latest.json) written as SVG (default docs/images/bench.svg, the one the docs show).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { renderChart } from './chart.js';
import { REPO } from './kit.js';
import type { BenchResult } from './types.js';

const input = path.resolve(REPO, process.argv[2] ?? 'bench/results/latest.json');
const output = path.resolve(REPO, process.argv[3] ?? 'docs/images/bench.svg');
const svg = await renderChart(JSON.parse(readFileSync(input, 'utf8')) as BenchResult);
if (svg === undefined) throw new Error(`${input} has no throughput or latency rows to chart`);
writeFileSync(output, svg);
console.log(`Wrote ${path.relative(REPO, output)} from ${path.relative(REPO, input)}`);
