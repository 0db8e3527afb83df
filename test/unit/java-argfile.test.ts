import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { renderArgFile, withJavaArgFile } from '../../tools/stack/java-argfile.js';

describe('java argument files (SCRAM passwords off the command line)', () => {
  it('when a tool runs with secret arguments, then its command line holds only @<file>, a 0600 file deleted afterwards', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'kos-argfile-'));
    try {
      let seen = '';
      const result = await withJavaArgFile(
        dir,
        ['kafka.admin.ConfigCommand', '--add-config', 'SCRAM-SHA-512=[password=s3cret-pass]'],
        (arg) => {
          seen = arg;
          const file = arg.slice(1);
          assert.equal(statSync(file).mode & 0o777, 0o600);
          assert.match(readFileSync(file, 'utf8'), /s3cret-pass/);
          return Promise.resolve(42);
        },
      );
      assert.equal(result, 42);
      assert.match(seen, /^@/);
      assert.ok(!seen.includes('s3cret-pass'));
      assert.equal(existsSync(seen.slice(1)), false);
      // Deleted when the tool fails too.
      await assert.rejects(
        withJavaArgFile(dir, ['x'], (arg) => {
          seen = arg;
          return Promise.reject(new Error('tool failed'));
        }),
        /tool failed/,
      );
      assert.equal(existsSync(seen.slice(1)), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('when an argument holds quotes or backslashes, then it is quoted with the launcher escapes', () => {
    assert.equal(renderArgFile(['a b', 'q"x', 'b\\s']), '"a b"\n"q\\"x"\n"b\\\\s"\n');
  });
});
