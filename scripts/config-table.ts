/** `npm run docs:config`: rewrites the README's configuration and error-code tables between their markers. */
import { readFileSync, writeFileSync } from 'node:fs';
import { renderConfigTable, renderErrorTable } from '../src/config/config-table.js';

const README = new URL('../README.md', import.meta.url);
let text = readFileSync(README, 'utf8');
for (const [name, render] of [
  ['config-table', renderConfigTable],
  ['error-table', renderErrorTable],
] as const) {
  const begin = `<!-- ${name}:begin -->`;
  const end = `<!-- ${name}:end -->`;
  const start = text.indexOf(begin);
  const stop = text.indexOf(end);
  if (start < 0 || stop < start) throw new Error(`README.md lacks the ${begin} … ${end} markers`);
  text = `${text.slice(0, start + begin.length)}\n${render()}\n${text.slice(stop)}`;
}
writeFileSync(README, text);
console.log('README.md configuration and error-code tables updated');
