import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

const root = new URL('../../', import.meta.url);
const patches = readdirSync(new URL('patches/', root)).filter((name) => name.endsWith('.patch'));

describe('patched dependencies (patches/)', () => {
  it('when dependencies are installed, then every file a patch changes carries it', () => {
    assert.ok(patches.length >= 2, patches.join(', '));
    for (const patch of patches) {
      const text = readFileSync(new URL(`patches/${patch}`, root), 'utf8');
      const files = [...text.matchAll(/^\+\+\+ b\/(node_modules\/\S+)$/gm)].map((m) => m[1] ?? '');
      assert.ok(files.length > 0, `${patch} changes no file`);
      for (const file of files) {
        // Each patch marks what it changes, so a reader of node_modules (or of an image) can tell.
        assert.match(readFileSync(new URL(file, root), 'utf8'), /patched by kafka-order-system/i, file);
      }
    }
  });

  it('when a patch is documented, then docs/patches.md names every file it changes', () => {
    const doc = readFileSync(new URL('docs/patches.md', root), 'utf8');
    for (const patch of patches) {
      const text = readFileSync(new URL(`patches/${patch}`, root), 'utf8');
      for (const [, file] of text.matchAll(/^\+\+\+ b\/node_modules\/[^/]+\/(\S+)$/gm)) {
        assert.ok(doc.includes(file ?? ''), `docs/patches.md does not name ${file} (${patch})`);
      }
    }
  });
});
