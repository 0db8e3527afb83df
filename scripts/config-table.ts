/** `npm run docs:config`: rewrites the README's configuration table between its markers. */
import { readFileSync, writeFileSync } from 'node:fs';
import { renderConfigTable } from '../src/config/config-table.js';

const README = new URL('../README.md', import.meta.url);
const BEGIN = '<!-- config-table:begin -->';
const END = '<!-- config-table:end -->';
const text = readFileSync(README, 'utf8');
const start = text.indexOf(BEGIN);
const end = text.indexOf(END);
if (start < 0 || end < start) throw new Error(`README.md lacks the ${BEGIN} … ${END} markers`);
writeFileSync(README, `${text.slice(0, start + BEGIN.length)}\n${renderConfigTable()}\n${text.slice(end)}`);
console.log('README.md configuration table updated');
