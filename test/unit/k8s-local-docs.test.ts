import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

const ROOT = new URL('../../', import.meta.url);
const read = (file: string) => readFileSync(new URL(file, ROOT), 'utf8');

describe('npm run k8s:local documentation', () => {
  it('when the scripts define their exit codes, then docs/kubernetes.md lists exactly those codes', () => {
    const codes = [...read('k8s/local/lib.sh').matchAll(/^EXIT_[A-Z_]+=(\d+)$/gm)].map((m) => Number(m[1]));
    const docs = read('docs/kubernetes.md');
    const table = docs.slice(
      docs.indexOf('| Code | Meaning |'),
      docs.indexOf('**The Kafka and registry of the local cluster'),
    );
    const documented = [...table.matchAll(/^\| (\d+) \|/gm)].map((m) => Number(m[1]));
    assert.ok(codes.length >= 5, `exit codes found in k8s/local/lib.sh: ${codes.join(', ')}`);
    assert.deepEqual(
      [...documented].sort((a, b) => a - b),
      [...codes].sort((a, b) => a - b),
    );
  });

  it('when the binaries are built, then the version the docs name is the one k8s/local/lib.sh builds', () => {
    const version = /^K8S_VERSION=(v[\d.]+)/m.exec(read('k8s/local/lib.sh'))?.[1];
    assert.ok(version);
    assert.match(read('docs/kubernetes.md'), new RegExp(`k8s/${version.replaceAll('.', '\\.')}/bin`));
  });
});
