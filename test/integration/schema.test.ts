import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { loadOrderSchema, OrderCodec, subjectFor } from '../../src/adapters/registry/order-codec.js';
import { createSchemaRegistry } from '../../src/adapters/registry/schema-registry-client.js';
import { uniqueName } from '../helpers/kafka.js';

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

async function registerRaw(subject: string, schema: string): Promise<Response> {
  return fetch(`${registryUrl}/subjects/${subject}/versions`, {
    method: 'POST',
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify({ schema }),
  });
}

describe('order schema contract in the registry', () => {
  it('when the producer registers, then the subject is <topic>-value with BACKWARD compatibility and a stable id', async () => {
    const topic = uniqueName('schema');
    const codec = new OrderCodec(createSchemaRegistry(config));
    const id = await codec.register(topic);
    assert.equal(await codec.register(topic), id, 're-registering the same schema returns the same id');

    const compat = (await (await fetch(`${registryUrl}/config/${subjectFor(topic)}`)).json()) as Record<
      string,
      string
    >;
    assert.equal(compat.compatibilityLevel ?? compat.compatibility, 'BACKWARD');
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
});
