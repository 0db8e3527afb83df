import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { loadOrderSchema, OrderCodec, subjectFor } from '../../src/adapters/registry/order-codec.js';
import { createSchemaRegistry } from '../../src/adapters/registry/schema-registry-client.js';
import { uniqueName } from '../helpers/kafka.js';
import { waitUntil } from '../helpers/wait.js';
import {
  CompatibilityMismatchError,
  SchemaIncompatibleError,
  SchemaNotRegisteredError,
} from '../../src/errors.js';

const config = loadConfig('producer', process.env);
const registryUrl = config.schemaRegistryUrl;

interface Field {
  name: string;
  type: unknown;
  default?: unknown;
}

function schemaWith(extra: Field): string {
  const schema = loadOrderSchema() as unknown as { fields: Field[] };
  return JSON.stringify({ ...schema, fields: [...schema.fields, extra] });
}

async function versions(subject: string): Promise<number[]> {
  return (await (await fetch(`${registryUrl}/subjects/${subject}/versions`)).json()) as number[];
}

async function setLevel(subject: string, compatibility: string): Promise<void> {
  const response = await fetch(`${registryUrl}/config/${subject}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify({ compatibility }),
  });
  assert.equal(response.status, 200, await response.text());
}

async function level(subject: string): Promise<string> {
  const body = (await (await fetch(`${registryUrl}/config/${subject}`)).json()) as Record<string, string>;
  return body.compatibilityLevel ?? body.compatibility ?? '';
}

/** The HTTP status of setting `subject`'s level to `compatibility`, whatever the registry answers. */
async function trySetLevel(subject: string, compatibility: string): Promise<number> {
  const response = await fetch(`${registryUrl}/config/${subject}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify({ compatibility }),
  });
  await response.body?.cancel();
  return response.status;
}

/**
 * Turns Apicurio's read-only storage on or off (a property of its own admin API, next to the
 * Confluent-compatible one): every write is then refused with HTTP 409, reads still answer. It holds
 * for the whole registry, so it is on only for as long as a test needs it, and `probe` (a subject of
 * the test's own, which has `probeLevel`) tells when the switch has taken effect.
 */
async function setReadOnly(on: boolean, probe: string, probeLevel: string): Promise<void> {
  const admin = `${new URL(registryUrl).origin}/apis/registry/v3/admin/config/properties`;
  const response = await fetch(`${admin}/apicurio.storage.read-only.enabled`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ value: String(on) }),
  });
  assert.equal(response.status, 204, await response.text());
  // Setting the level the probe already has changes nothing, but is a write.
  const expected = on ? 409 : 200;
  await waitUntil(
    `the registry to ${on ? 'refuse' : 'accept'} writes`,
    async () => (await trySetLevel(probe, probeLevel)) === expected,
    10_000,
  );
}

async function registerRaw(subject: string, schema: string): Promise<Response> {
  return fetch(`${registryUrl}/subjects/${subject}/versions`, {
    method: 'POST',
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify({ schema }),
  });
}

describe('order schema contract in the registry', () => {
  it('when the producer registers, then the subject is <topic>-value, its id is stable, and it holds one version', async () => {
    const topic = uniqueName('schema');
    const codec = new OrderCodec(createSchemaRegistry(config));
    const id = await codec.register(topic);
    assert.equal(await codec.register(topic), id, 're-registering the same schema returns the same id');
    const subjects = (await (await fetch(`${registryUrl}/subjects`)).json()) as string[];
    assert.ok(subjects.includes(subjectFor(topic)));
    assert.deepEqual(await versions(subjectFor(topic)), [1]);
  });

  it('when a consumer starts, then it can cache the registered schema before the first record arrives', async () => {
    const topic = uniqueName('preload');
    const producerCodec = new OrderCodec(createSchemaRegistry(config));
    const id = await producerCodec.register(topic);
    const value = producerCodec.encode({
      orderId: '1001',
      product: 'Laptop',
      priceCents: 85932n,
      createdAtMs: 1_700_000_000_000,
    });

    const consumerCodec = new OrderCodec(createSchemaRegistry(config));
    assert.equal(consumerCodec.decodeCached(value), undefined, 'nothing cached before preload');
    assert.equal(await consumerCodec.preload(topic), id);
    assert.equal(consumerCodec.decodeCached(value)?.priceCents, 85932n);
    assert.equal(await consumerCodec.preload(uniqueName('unregistered')), undefined);
  });

  it('when a new field has a default, then the registry accepts it; without a default, it is rejected', async () => {
    const topic = uniqueName('evolve');
    await new OrderCodec(createSchemaRegistry(config)).register(topic);

    const withDefault = await registerRaw(
      subjectFor(topic),
      schemaWith({ name: 'currency', type: 'string', default: 'USD' }),
    );
    assert.equal(withDefault.status, 200, await withDefault.text());

    const withoutDefault = await registerRaw(
      subjectFor(topic),
      schemaWith({ name: 'channel', type: 'string' }),
    );
    assert.equal(withoutDefault.status, 409, 'incompatible change is refused');
  });

  describe('a subject that another tool registered first', () => {
    const producerConfig = (env: Record<string, string> = {}) =>
      loadConfig('producer', { ...process.env, ...env });
    const codecFor = (env: Record<string, string> = {}) => {
      const c = producerConfig(env);
      return new OrderCodec(createSchemaRegistry(c), {
        registration: { autoRegister: c.schemaAutoRegister, compatibility: c.schemaCompatibility },
      });
    };

    for (const preset of [
      'NONE',
      'BACKWARD',
      'BACKWARD_TRANSITIVE',
      'FORWARD',
      'FORWARD_TRANSITIVE',
      'FULL',
      'FULL_TRANSITIVE',
    ]) {
      it(`when it already holds our schema under compatibility ${preset}, then the producer uses its id and changes nothing`, async () => {
        const subject = subjectFor(uniqueName('preset'));
        // Registered by hand, formatted differently from what the producer sends.
        const registered = await registerRaw(subject, JSON.stringify(loadOrderSchema(), null, 2));
        const body = await registered.text();
        assert.equal(registered.status, 200, body);
        const { id } = JSON.parse(body) as { id: number };
        await setLevel(subject, preset);

        const topic = subject.replace(/-value$/, '');
        assert.equal(await codecFor().register(topic), id);
        assert.deepEqual(await versions(subject), [1], 'no new version');
        assert.equal(await level(subject), preset, 'its level is left alone');
      });
    }

    it('when it holds an older compatible version, then the producer registers ours as a new version under its level', async () => {
      const subject = subjectFor(uniqueName('older'));
      const older = loadOrderSchema() as unknown as { fields: Field[] };
      const withoutCreatedAt = JSON.stringify({
        ...older,
        fields: older.fields.filter((f) => f.name !== 'createdAt'),
      });
      assert.equal((await registerRaw(subject, withoutCreatedAt)).status, 200);
      await setLevel(subject, 'FULL');
      const id = await codecFor().register(subject.replace(/-value$/, ''));
      assert.ok(id > 0);
      assert.deepEqual(await versions(subject), [1, 2]);
      assert.equal(await level(subject), 'FULL');
    });

    it('when its level refuses our schema, then the producer fails with KOS_SCHEMA_INCOMPATIBLE, not "unavailable"', async () => {
      const subject = subjectFor(uniqueName('incompatible'));
      const other = JSON.stringify({
        type: 'record',
        name: 'Order',
        namespace: 'other',
        fields: [{ name: 'sku', type: 'int' }],
      });
      assert.equal((await registerRaw(subject, other)).status, 200);
      await setLevel(subject, 'FULL');
      await assert.rejects(codecFor().register(subject.replace(/-value$/, '')), (error: unknown) => {
        assert.ok(error instanceof SchemaIncompatibleError, String(error));
        assert.match(error.message, /HTTP 409/);
        return true;
      });
    });

    it('when registering is turned off, then the producer only looks its schema up, and says so when it is missing', async () => {
      const off = { SCHEMA_REGISTRY_AUTO_REGISTER: 'false' };
      const topic = uniqueName('noregister');
      await assert.rejects(codecFor(off).register(topic), SchemaNotRegisteredError);
      assert.equal(
        (await fetch(`${registryUrl}/subjects/${subjectFor(topic)}/versions`)).status,
        404,
        'nothing registered',
      );
      const registered = await registerRaw(subjectFor(topic), JSON.stringify(loadOrderSchema()));
      const { id } = (await registered.json()) as { id: number };
      assert.equal(await codecFor(off).register(topic), id);
    });

    it('when a level is configured, then the producer sets it on the subject, and leaves an equal one alone', async () => {
      const topic = uniqueName('level');
      const subject = subjectFor(topic);
      assert.equal((await registerRaw(subject, JSON.stringify(loadOrderSchema()))).status, 200);
      await setLevel(subject, 'NONE');
      await codecFor({ SCHEMA_REGISTRY_COMPATIBILITY: 'FULL_TRANSITIVE' }).register(topic);
      assert.equal(await level(subject), 'FULL_TRANSITIVE');
      assert.deepEqual(await versions(subject), [1]);
    });

    it('when a level is configured and the registry refuses to set it, then the producer fails with KOS_SCHEMA_COMPATIBILITY_MISMATCH naming both levels, and the subject is left as it was', async () => {
      const topic = uniqueName('mismatch');
      const subject = subjectFor(topic);
      const registered = await registerRaw(subject, JSON.stringify(loadOrderSchema()));
      assert.equal(registered.status, 200, await registered.text());
      await setLevel(subject, 'NONE');

      await setReadOnly(true, subject, 'NONE');
      try {
        await assert.rejects(
          codecFor({ SCHEMA_REGISTRY_COMPATIBILITY: 'FULL_TRANSITIVE' }).register(topic),
          (error: unknown) => {
            assert.ok(error instanceof CompatibilityMismatchError, String(error));
            assert.equal(error.code, 'KOS_SCHEMA_COMPATIBILITY_MISMATCH');
            assert.equal(error.handling, 'startup');
            assert.ok(
              error.message.startsWith(
                `${subject} has compatibility NONE, SCHEMA_REGISTRY_COMPATIBILITY asks for FULL_TRANSITIVE, ` +
                  'and the registry refused to change it (HTTP 409): ',
              ),
              error.message,
            );
            assert.match(error.message, /read-only/);
            return true;
          },
        );
      } finally {
        await setReadOnly(false, subject, 'NONE');
      }
      assert.equal(await level(subject), 'NONE', 'its level is unchanged');
      assert.deepEqual(await versions(subject), [1], 'no new version');
    });
  });
});
