import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { loadOrderSchema, subjectFor } from '../../src/adapters/registry/order-codec.js';
import { uniqueName } from '../helpers/kafka.js';

/**
 * `npm run schema:check` as a user runs it, against the real registry: candidates compatible and not
 * with a subject each test registers, under the level the registry applies.
 */

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const registryUrl = loadConfig('producer', process.env).schemaRegistryUrl;

interface Field {
  name: string;
  type: unknown;
  default?: unknown;
}
type RecordSchema = { fields: Field[] } & Record<string, unknown>;
const order = loadOrderSchema() as unknown as RecordSchema;
const withField = (field: Field): RecordSchema => ({ ...order, fields: [...order.fields, field] });
const without = (name: string): RecordSchema => ({
  ...order,
  fields: order.fields.filter((f) => f.name !== name),
});

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kos-schema-check-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function registryCall(method: 'POST' | 'PUT', path: string, body: object): Promise<void> {
  const response = await fetch(`${registryUrl}${path}`, {
    method,
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify(body),
  });
  assert.equal(response.status, 200, await response.text());
}

/** A subject of the test's own holding the order schema, with `level` of its own when given. */
async function subjectWithOrder(level?: string): Promise<string> {
  const subject = subjectFor(uniqueName('schema-check'));
  await registryCall('POST', `/subjects/${subject}/versions`, { schema: JSON.stringify(order) });
  if (level !== undefined) await registryCall('PUT', `/config/${subject}`, { compatibility: level });
  return subject;
}

/** Runs the tool on `candidate` against `subject`; resolves whatever its exit code. */
async function schemaCheck(
  candidate: RecordSchema,
  subject: string,
  env: Record<string, string> = {},
): Promise<{ code: number; lines: string[] }> {
  const file = join(dir, `${uniqueName('candidate')}.avsc`);
  await writeFile(file, JSON.stringify(candidate, null, 2));
  const run = promisify(execFile);
  try {
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', 'tools/schema-check.ts', '--schema', file, '--subject', subject],
      { cwd: REPO, env: { ...process.env, ...env }, timeout: 60_000 },
    );
    return { code: 0, lines: stdout.trimEnd().split('\n') };
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw error;
    return { code: failed.code, lines: (failed.stdout ?? '').trimEnd().split('\n') };
  }
}

/**
 * The reasons under an INCOMPATIBLE line: the registry's own (Confluent, verbose=true), or, from a registry
 * that gives none (Apicurio), what Avro's rules say, which must be `avsc`.
 */
function assertReasons(reasons: string[], avsc: string[], version = ''): void {
  const prefix = `    - ${version}`;
  if (reasons[0] === `${prefix}the registry gives no reasons; Avro's rules (avsc) say:`) {
    assert.deepEqual(
      reasons.slice(1),
      avsc.map((line) => `${prefix}${line}`),
    );
  } else {
    assert.ok(reasons.length > 0 && reasons.every((r) => r.startsWith(prefix)), reasons.join('\n'));
  }
}

describe('npm run schema:check against the real registry', () => {
  it('when the candidate adds a field with a default under BACKWARD, then it exits 0 and names the level it applied', async () => {
    const subject = await subjectWithOrder('BACKWARD');
    const { code, lines } = await schemaCheck(
      withField({ name: 'currency', type: 'string', default: 'USD' }),
      subject,
    );
    assert.equal(code, 0, lines.join('\n'));
    assert.match(
      lines[0] ?? '',
      new RegExp(
        `against ${subject} version 1 \\(the latest\\) in .*, level BACKWARD \\(the subject's level\\)$`,
      ),
    );
    assert.equal(lines[1], '  compatible under BACKWARD');
  });

  it("when the candidate adds a field without a default under BACKWARD, then it exits 1 with the reasons (the registry's, or Avro's rules when it gives none)", async () => {
    const subject = await subjectWithOrder('BACKWARD');
    const { code, lines } = await schemaCheck(withField({ name: 'channel', type: 'string' }), subject);
    assert.equal(code, 1, lines.join('\n'));
    assert.equal(lines[1], '  INCOMPATIBLE under BACKWARD:');
    assertReasons(lines.slice(2), [
      'BACKWARD: a consumer on the new schema cannot read old records: no matching field for default-less dev.kafkaordersystem.Order.channel',
    ]);
  });

  it('when the subject is BACKWARD_TRANSITIVE, then the candidate is checked against every version, and the one it breaks is named', async () => {
    // Version 1 without createdAt, version 2 with it (and its default): the candidate drops the default,
    // which the latest version's records satisfy and the first one's do not.
    const subject = subjectFor(uniqueName('schema-check'));
    await registryCall('POST', `/subjects/${subject}/versions`, {
      schema: JSON.stringify(without('createdAt')),
    });
    await registryCall('POST', `/subjects/${subject}/versions`, { schema: JSON.stringify(order) });
    await registryCall('PUT', `/config/${subject}`, { compatibility: 'BACKWARD_TRANSITIVE' });
    const candidate = {
      ...order,
      fields: order.fields.map((f) => (f.name === 'createdAt' ? { name: f.name, type: f.type } : f)),
    };
    const { code, lines } = await schemaCheck(candidate, subject);
    assert.equal(code, 1, lines.join('\n'));
    assert.match(
      lines[0] ?? '',
      new RegExp(
        `against ${subject} versions 1, 2 \\(the level is transitive\\) in .*, level BACKWARD_TRANSITIVE \\(the subject's level\\)$`,
      ),
    );
    assert.equal(lines[1], '  INCOMPATIBLE under BACKWARD_TRANSITIVE:');
    assertReasons(
      lines.slice(2),
      [
        'BACKWARD: a consumer on the new schema cannot read old records: no matching field for default-less dev.kafkaordersystem.Order.createdAt',
      ],
      'version 1: ',
    );
  });

  it('when the subject is FULL and the candidate drops a field without a default, then it exits 1; under BACKWARD the same change passes', async () => {
    const full = await subjectWithOrder('FULL');
    const refused = await schemaCheck(without('product'), full);
    assert.equal(refused.code, 1, refused.lines.join('\n'));
    assert.equal(refused.lines[1], '  INCOMPATIBLE under FULL:');
    assertReasons(refused.lines.slice(2), [
      'FORWARD: a consumer on the old schema cannot read new records: no matching field for default-less dev.kafkaordersystem.Order.product',
    ]);

    const backward = await subjectWithOrder('BACKWARD');
    const accepted = await schemaCheck(without('product'), backward);
    assert.equal(accepted.code, 0, accepted.lines.join('\n'));
  });

  it("when the subject has no level of its own, then the registry's default applies, and the output says so", async () => {
    const subject = await subjectWithOrder();
    const global = (await (await fetch(`${registryUrl}/config`)).json()) as { compatibilityLevel: string };
    const { code, lines } = await schemaCheck(
      withField({ name: 'note', type: 'string', default: '' }),
      subject,
    );
    assert.equal(code, 0, lines.join('\n'));
    assert.ok(
      lines[0]?.endsWith(
        `level ${global.compatibilityLevel} (the registry's default level; the subject has none of its own)`,
      ),
      lines[0],
    );
  });

  it('when the subject has no version yet, then there is nothing to compare and it exits 0', async () => {
    const subject = subjectFor(uniqueName('schema-check-new'));
    const { code, lines } = await schemaCheck(order, subject);
    assert.equal(code, 0, lines.join('\n'));
    assert.match(lines[0] ?? '', new RegExp(`${subject} has no version in .* yet, nothing to compare`));
  });

  it('when the registry cannot be reached, then it exits 2: unchecked is not compatible', async () => {
    const { code, lines } = await schemaCheck(order, 'orders-value', {
      SCHEMA_REGISTRY_URL: 'http://127.0.0.1:9/apis/ccompat/v7',
    });
    assert.equal(code, 2, lines.join('\n'));
    assert.match(
      lines[0] ?? '',
      /\.avsc: could not be checked: GET http:\/\/127\.0\.0\.1:9\/apis\/ccompat\/v7\/config\/orders-value\?defaultToGlobal=true: /,
    );
  });
});
