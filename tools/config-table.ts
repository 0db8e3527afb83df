/** `npm run docs:config`: rewrites the configuration and error-code tables of docs/reference.md between their markers. */
import { readFileSync, writeFileSync } from 'node:fs';
import { renderConfigTable, renderErrorTable } from '../src/config/config-table.js';

const REFERENCE = new URL('../docs/reference.md', import.meta.url);
let text = readFileSync(REFERENCE, 'utf8');
for (const [name, render] of [
  ['config-table', renderConfigTable],
  ['error-table', renderErrorTable],
] as const) {
  const begin = `<!-- ${name}:begin -->`;
  const end = `<!-- ${name}:end -->`;
  const start = text.indexOf(begin);
  const stop = text.indexOf(end);
  if (start < 0 || stop < start) throw new Error(`docs/reference.md lacks the ${begin} … ${end} markers`);
  text = `${text.slice(0, start + begin.length)}\n${render()}\n${text.slice(stop)}`;
}
writeFileSync(REFERENCE, text);
console.log('docs/reference.md configuration and error-code tables updated');
