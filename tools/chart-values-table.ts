/**
 * The values table of charts/kafka-order-system/README.md, generated from values.yaml and its `##` comments
 * (`npm run docs:config` writes it; test/chart/chart.test.ts checks it). A key with a `##` comment is a row,
 * unless it is a mapping with documented keys below it: then its comment heads a group and its keys are the
 * rows. A documented mapping whose keys have no comment (resources, a securityContext) is one row.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

export const CHART_VALUES = new URL('../charts/kafka-order-system/values.yaml', import.meta.url);
export const CHART_README = new URL('../charts/kafka-order-system/README.md', import.meta.url);

/** Defaults longer than this are cut, so that the table stays readable. */
const MAX_DEFAULT_CHARS = 70;

/** The `##` comment right above each key, by dotted path; comment lines are joined with spaces. */
function keyComments(yamlText: string): Map<string, string> {
  const comments = new Map<string, string>();
  const parents: { indent: number; key: string }[] = [];
  let pending: string[] = [];
  for (const line of yamlText.split('\n')) {
    const comment = /^\s*##(?: (.*))?$/.exec(line);
    if (comment) {
      pending.push((comment[1] ?? '').trim());
      continue;
    }
    const key = /^( *)(?!- )([^\s#:'"][^:]*|'[^']*'|"[^"]*"):(?: |$)/.exec(line);
    if (key) {
      const [, spaces = '', quoted = ''] = key;
      const indent = spaces.length;
      while ((parents.at(-1)?.indent ?? -1) >= indent) parents.pop();
      const name = quoted.replace(/^(['"])(.*)\1$/, '$2');
      const path = [...parents.map((p) => p.key), name].join('.');
      if (pending.length > 0) comments.set(path, pending.join(' '));
      parents.push({ indent, key: name });
    }
    pending = [];
  }
  return comments;
}

/** JSON with a space after `:` and `,`, as the table has always shown defaults. */
function json(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(json).join(', ')}]`;
  if (typeof value === 'object' && value !== null)
    return `{${Object.entries(value)
      .map(([k, v]) => `${JSON.stringify(k)}: ${json(v)}`)
      .join(', ')}}`;
  return JSON.stringify(value ?? null);
}

const cell = (text: string) => text.replaceAll('|', '\\|');

/** The table rows' source: every documented key or block; throws naming each key without a `##` comment. */
export function chartValueRows(yamlText: string): { key: string; value: unknown; description: string }[] {
  const comments = keyComments(yamlText);
  const rows: { key: string; value: unknown; description: string }[] = [];
  const undocumented: string[] = [];
  const hasDocumentedKeys = (path: string) => [...comments.keys()].some((k) => k.startsWith(`${path}.`));
  const walk = (values: Record<string, unknown>, prefix: string) => {
    for (const [key, value] of Object.entries(values)) {
      const path = prefix + key;
      const description = comments.get(path);
      const isMapping = typeof value === 'object' && value !== null && !Array.isArray(value);
      if (isMapping && hasDocumentedKeys(path)) walk(value as Record<string, unknown>, `${path}.`);
      else if (description === undefined) undocumented.push(path);
      else rows.push({ key: path, value, description });
    }
  };
  walk(parse(yamlText) as Record<string, unknown>, '');
  if (undocumented.length > 0)
    throw new Error(`values.yaml: no ## comment above ${undocumented.join(', ')} (nor above a parent block)`);
  return rows;
}

/** The Markdown table of every documented value: key, default (JSON, cut when long) and description. */
export function renderChartValuesTable(yamlText = readFileSync(CHART_VALUES, 'utf8')): string {
  const lines = ['| Key | Default | Description |', '| --- | --- | --- |'];
  for (const { key, value, description } of chartValueRows(yamlText)) {
    const full = json(value);
    const shown = full.length > MAX_DEFAULT_CHARS ? `${full.slice(0, MAX_DEFAULT_CHARS - 3)}…` : full;
    lines.push(`| \`${key}\` | \`${cell(shown)}\` | ${cell(description)} |`);
  }
  return lines.join('\n');
}
