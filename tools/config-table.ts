/**
 * `npm run docs:config`: rewrites the generated tables between their markers: the configuration and
 * error-code tables of docs/reference.md, and the values table of the chart README (from values.yaml).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { renderConfigTable, renderErrorTable } from '../src/config/config-table.js';
import { CHART_README, renderChartValuesTable } from './chart-values-table.js';

function rewrite(file: URL, label: string, tables: readonly (readonly [string, () => string])[]): void {
  let text = readFileSync(file, 'utf8');
  for (const [name, render] of tables) {
    const begin = `<!-- ${name}:begin -->`;
    const end = `<!-- ${name}:end -->`;
    const start = text.indexOf(begin);
    const stop = text.indexOf(end);
    if (start < 0 || stop < start) throw new Error(`${label} lacks the ${begin} … ${end} markers`);
    text = `${text.slice(0, start + begin.length)}\n${render()}\n${text.slice(stop)}`;
  }
  writeFileSync(file, text);
  console.log(`${label}: ${tables.map(([name]) => name).join(', ')} updated`);
}

rewrite(new URL('../docs/reference.md', import.meta.url), 'docs/reference.md', [
  ['config-table', renderConfigTable],
  ['error-table', renderErrorTable],
]);
rewrite(CHART_README, 'charts/kafka-order-system/README.md', [
  ['values-table', () => renderChartValuesTable()],
]);
