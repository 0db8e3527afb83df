import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/**
 * The dependency rules of src/, checked on the import statements themselves (type-only imports and
 * re-exports included), so a change that breaks one fails here rather than in a review.
 */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SRC = join(ROOT, 'src');

/** The places that put the application together, and so may use kafkajs directly. */
const COMPOSITION_ROOTS = [/^consumer\/index\.ts$/, /^producer\/index\.ts$/, /^cli\//];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Every file of src/ (relative to src/) with what it imports: other files of src/, and packages. */
function importGraph(): Map<string, { files: string[]; packages: string[] }> {
  const graph = new Map<string, { files: string[]; packages: string[] }>();
  for (const path of sourceFiles(SRC)) {
    const { importedFiles } = ts.preProcessFile(readFileSync(path, 'utf8'), true, true);
    const files: string[] = [];
    const packages: string[] = [];
    for (const { fileName } of importedFiles) {
      if (fileName.startsWith('.')) {
        files.push(relative(SRC, resolve(dirname(path), fileName)).replace(/\.js$/, '.ts'));
      } else packages.push(fileName);
    }
    graph.set(relative(SRC, path), { files, packages });
  }
  return graph;
}

/** The import cycles of `graph`, each as the files along it (one per strongly connected component). */
function cycles(graph: Map<string, { files: string[] }>): string[][] {
  // Tarjan's strongly connected components.
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  let next = 0;
  const visit = (file: string): void => {
    index.set(file, next);
    low.set(file, next);
    next += 1;
    stack.push(file);
    onStack.add(file);
    for (const to of graph.get(file)?.files ?? []) {
      if (!graph.has(to)) continue;
      if (!index.has(to)) {
        visit(to);
        low.set(file, Math.min(low.get(file) ?? 0, low.get(to) ?? 0));
      } else if (onStack.has(to)) low.set(file, Math.min(low.get(file) ?? 0, index.get(to) ?? 0));
    }
    if (low.get(file) !== index.get(file)) return;
    const component: string[] = [];
    for (let member = stack.pop(); member !== undefined; member = stack.pop()) {
      onStack.delete(member);
      component.push(member);
      if (member === file) break;
    }
    const selfImport = graph.get(file)?.files.includes(file) ?? false;
    if (component.length > 1 || selfImport) found.push(component.sort());
  };
  for (const file of graph.keys()) if (!index.has(file)) visit(file);
  return found;
}

const graph = importGraph();
const arrows = [...graph].flatMap(([from, { files }]) => files.map((to) => ({ from, to })));

describe('architecture of src/', () => {
  it('reads the imports of every file (a sanity check of the checks below)', () => {
    assert.ok(graph.size > 50, `${graph.size} files`);
    assert.ok(arrows.some((a) => a.from === 'consumer/index.ts' && a.to === 'consumer/batch-loop.ts'));
    for (const { from, to } of arrows)
      assert.ok(graph.has(to), `${from} imports ${to}, which does not exist`);
  });

  it('when a file imports another, then no chain of imports leads back to it (no cycles)', () => {
    assert.deepEqual(cycles(graph), []);
  });

  it('when an adapter imports something, then it is not the consumer, the producer or the DLQ tool (adapters serve the core through src/ports)', () => {
    const upward = arrows.filter(
      ({ from, to }) => from.startsWith('adapters/') && /^(consumer|producer|dlq)\//.test(to),
    );
    assert.deepEqual(upward, []);
  });

  it('when a file imports kafkajs, then it is an adapter or a composition root', () => {
    const outside = [...graph]
      .filter(([, { packages }]) => packages.includes('kafkajs'))
      .map(([file]) => file)
      .filter((file) => !file.startsWith('adapters/') && !COMPOSITION_ROOTS.some((root) => root.test(file)));
    assert.deepEqual(outside, []);
  });

  it('when the core (domain, ports, consumer, producer, dlq) imports an adapter, then it is a composition root', () => {
    const inward = arrows.filter(
      ({ from, to }) =>
        /^(domain|ports|consumer|producer|dlq)\//.test(from) &&
        to.startsWith('adapters/') &&
        !COMPOSITION_ROOTS.some((root) => root.test(from)),
    );
    assert.deepEqual(inward, []);
  });

  it('when the domain or the ports import something of src/, then it is the domain, the ports or the errors', () => {
    const outward = arrows.filter(
      ({ from, to }) => /^(domain|ports)\//.test(from) && !/^(domain\/|ports\/|errors\.ts$)/.test(to),
    );
    assert.deepEqual(outward, []);
  });
});
