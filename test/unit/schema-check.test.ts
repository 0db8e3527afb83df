import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type avro from 'avsc';
import { loadOrderSchema } from '../../src/adapters/registry/order-codec.js';
import { evolutionProblems } from '../../tools/schema-check/evolution.js';
import { schemaAt } from '../../tools/schema-check/previous-schema.js';
import { EXIT, runSchemaCheck } from '../../tools/schema-check/run.js';

interface Field {
  name: string;
  type: unknown;
  default?: unknown;
}
type RecordSchema = { fields: Field[] } & Record<string, unknown>;

const order = loadOrderSchema() as unknown as RecordSchema;
const withField = (field: Field): RecordSchema => ({ ...order, fields: [...order.fields, field] });
const without = (schema: RecordSchema, name: string): RecordSchema => ({
  ...schema,
  fields: schema.fields.filter((f) => f.name !== name),
});
const retyped = (name: string, type: unknown): RecordSchema => ({
  ...order,
  fields: order.fields.map((f) => (f.name === name ? { ...f, type } : f)),
});
const problems = (
  previous: RecordSchema,
  candidate: RecordSchema,
  level: 'BACKWARD' | 'FORWARD' | 'FULL' = 'FULL',
) => evolutionProblems(previous as unknown as avro.Schema, candidate as unknown as avro.Schema, level);

describe('schema check: the offline rules (FULL unless said)', () => {
  it('when a field is added with a default, then it passes', () => {
    assert.deepEqual(problems(order, withField({ name: 'currency', type: 'string', default: 'USD' })), []);
  });

  it('when a field is added without a default, then it fails: new consumers cannot read old records', () => {
    assert.deepEqual(problems(order, withField({ name: 'channel', type: 'string' })), [
      'BACKWARD: a consumer on the new schema cannot read old records: no matching field for default-less dev.kafkaordersystem.Order.channel',
    ]);
  });

  it('when a field without a default is dropped, then it fails: old consumers cannot read new records', () => {
    assert.deepEqual(problems(order, without(order, 'product')), [
      'FORWARD: a consumer on the old schema cannot read new records: no matching field for default-less dev.kafkaordersystem.Order.product',
    ]);
  });

  it('when a field with a default is dropped, then it passes', () => {
    assert.deepEqual(problems(order, without(order, 'createdAt')), []);
  });

  it("when a field's type changes, then it fails both ways", () => {
    assert.deepEqual(problems(order, retyped('product', 'int')), [
      'BACKWARD: a consumer on the new schema cannot read old records: cannot read "string" as "int"',
      'FORWARD: a consumer on the old schema cannot read new records: cannot read "int" as "string"',
    ]);
  });

  it("when the price's decimal scale changes, then it fails, and says why in our words", () => {
    const price = order.fields.find((f) => f.name === 'price')?.type as Record<string, unknown>;
    const found = problems(order, retyped('price', { ...price, scale: 3 }));
    assert.equal(found.length, 2);
    assert.match(found[0] ?? '', /^BACKWARD: .*a decimal whose scale changed, or that became plain bytes/);
  });

  it('when only BACKWARD is asked, then dropping a field without a default passes, as the registry default would let it', () => {
    assert.deepEqual(problems(order, without(order, 'product'), 'BACKWARD'), []);
    assert.equal(problems(order, without(order, 'product'), 'FORWARD').length, 1);
  });

  it('when the candidate is not a valid Avro schema, then the check throws, naming it', () => {
    assert.throws(
      () => problems(order, retyped('product', 'strnig')),
      /^Error: the candidate schema is not a valid Avro schema: /,
    );
  });
});

describe('schema check: offline against git history', () => {
  const dirs: string[] = [];
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  /** A repository with one commit per schema given (undefined: the file is not there in that commit). */
  function repoWith(...versions: (RecordSchema | undefined)[]): string {
    const root = mkdtempSync(join(tmpdir(), 'kos-schema-git-'));
    dirs.push(root);
    const git = (...args: string[]) =>
      execFileSync(
        'git',
        ['-c', 'user.name=test', '-c', 'user.email=test@example.com', '-c', 'commit.gpgsign=false', ...args],
        {
          cwd: root,
          stdio: 'ignore',
        },
      );
    git('init', '-q');
    mkdirSync(join(root, 'schemas'));
    versions.forEach((schema, i) => {
      if (schema === undefined) writeFileSync(join(root, 'README'), String(i));
      else writeFileSync(join(root, 'schemas/order.avsc'), JSON.stringify(schema, null, 2));
      git('add', '-A');
      git('commit', '-q', '--allow-empty', '-m', `v${i + 1}`);
    });
    return root;
  }

  async function check(root: string, against = 'HEAD~1') {
    const lines: string[] = [];
    const exit = await runSchemaCheck({
      root,
      offline: true,
      against,
      level: 'FULL',
      env: {},
      print: (line) => lines.push(line),
    });
    return { exit, lines };
  }

  it('when the last commit drops a field without a default, then the check exits 1 and says what breaks', async () => {
    const { exit, lines } = await check(repoWith(order, without(order, 'product')));
    assert.equal(exit, EXIT.incompatible);
    assert.match(
      lines[0] ?? '',
      /^schemas\/order\.avsc: offline, against schemas\/order\.avsc at HEAD~1 \([0-9a-f]{12}\), level FULL: /,
    );
    assert.deepEqual(lines.slice(1), [
      '  INCOMPATIBLE under FULL:',
      '    - FORWARD: a consumer on the old schema cannot read new records: no matching field for default-less dev.kafkaordersystem.Order.product',
    ]);
  });

  it('when the last commit adds a field with a default, then the check exits 0', async () => {
    const { exit, lines } = await check(
      repoWith(order, withField({ name: 'note', type: 'string', default: '' })),
    );
    assert.equal(exit, EXIT.compatible);
    assert.equal(lines.at(-1), '  compatible under FULL');
  });

  it('when there is only one commit, then there is no previous schema and nothing to compare', async () => {
    const { exit, lines } = await check(repoWith(order));
    assert.equal(exit, EXIT.compatible);
    assert.deepEqual(lines, [
      'schemas/order.avsc: no previous schema, nothing to compare: HEAD~1 does not exist: the history is shorter (the first commit?)',
    ]);
  });

  it('when the schema is new since the previous commit, then there is nothing to compare', () => {
    const root = repoWith(undefined, order);
    const previous = schemaAt('HEAD~1', 'schemas/order.avsc', root);
    assert.ok(!previous.found);
    assert.match(previous.why, /^schemas\/order\.avsc did not exist at HEAD~1 \([0-9a-f]{12}\)$/);
  });

  it('when the clone is shallow, then HEAD~1 is missing and there is nothing to compare', () => {
    const origin = repoWith(order, order);
    const shallow = mkdtempSync(join(tmpdir(), 'kos-schema-shallow-'));
    dirs.push(shallow);
    execFileSync('git', ['clone', '-q', '--depth', '1', `file://${origin}`, shallow], { stdio: 'ignore' });
    const previous = schemaAt('HEAD~1', 'schemas/order.avsc', shallow);
    assert.deepEqual(previous, {
      found: false,
      why: 'HEAD~1 is not in this shallow clone (git fetch --unshallow brings it)',
    });
  });

  it('when --against names no revision, then the check cannot be made: exit 2, not a pass', async () => {
    const { exit, lines } = await check(repoWith(order, order), 'no-such-branch');
    assert.equal(exit, EXIT.unchecked);
    assert.deepEqual(lines, ['schemas/order.avsc: could not be checked: unknown revision no-such-branch']);
  });
});
