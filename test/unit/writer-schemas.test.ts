import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import avro from 'avsc';
import { LOGICAL_TYPES } from '../../src/adapters/registry/decimal-type.js';
import { frame, loadOrderSchema, OrderCodec } from '../../src/adapters/registry/order-codec.js';
import { registryApi } from '../../src/adapters/registry/registry-api.js';
import { createSchemaRegistry } from '../../src/adapters/registry/schema-registry-client.js';
import { registerSchema } from '../../src/adapters/registry/subject-registration.js';
import {
  MAX_SCHEMA_REFERENCES,
  SCHEMA_PENDING_GRACE_MS,
  SCHEMA_PENDING_GRACES_PER_MINUTE,
  WriterSchemas,
} from '../../src/adapters/registry/writer-schemas.js';
import {
  DecodeError,
  RegistryAuthError,
  RegistryUnavailableError,
  SchemaPendingError,
  UnknownSchemaError,
} from '../../src/errors.js';
import { registryError, registryStandIn } from '../helpers/registry-stand-in.js';

const readerType = avro.Type.forSchema(loadOrderSchema(), { logicalTypes: LOGICAL_TYPES });

const ORDER_SCHEMA = JSON.stringify(loadOrderSchema());
/** The registry's answer for a schema id: the schema as a JSON string. */
const schemaAnswer = () => Promise.resolve({ schema: ORDER_SCHEMA });
const status = (code: number, message?: string) => Promise.reject(registryError(code, message));
const notFound = () => status(404, 'Schema 9 not found.');

/** A stand-in whose answer for every id is given, with the ids asked for. */
const answering = (answer: (id: number) => Promise<unknown>) => registryStandIn({ answer });

describe('writer schemas by id (bounded cache)', () => {
  it('when many ids are resolved, then at most the bound is kept, the oldest going first', async () => {
    const { registry, calls } = answering(schemaAnswer);
    const schemas = new WriterSchemas(registry, readerType, { maxEntries: 3 });
    for (const id of [1, 2, 3, 4, 5]) await schemas.resolve(id);
    assert.equal(schemas.size, 3);
    assert.equal(schemas.ready(1), undefined);
    assert.notEqual(schemas.ready(5), undefined);
    await schemas.resolve(1);
    assert.deepEqual(calls, [1, 2, 3, 4, 5, 1], 'an evicted id is simply fetched again');
  });

  it('when the registry does not know an id, then that is believed briefly: one lookup for a flood, another after the TTL', async () => {
    let now = 0;
    const { registry, calls } = answering(notFound);
    const schemas = new WriterSchemas(registry, readerType, {
      unknownTtlMs: 10_000,
      pendingGraceMs: 0,
      now: () => now,
    });
    for (let i = 0; i < 100; i += 1) await assert.rejects(schemas.resolve(9), UnknownSchemaError);
    assert.deepEqual(calls, [9]);
    now = 10_001;
    await assert.rejects(schemas.resolve(9), UnknownSchemaError);
    assert.deepEqual(calls, [9, 9]);
  });

  it('when an id is not found yet (a registry replica behind its leader), then its record waits, and decodes once the schema is there', async () => {
    let now = 0;
    let registered = false;
    const { registry, calls } = answering(() => (registered ? schemaAnswer() : notFound()));
    const schemas = new WriterSchemas(registry, readerType, { now: () => now });
    await assert.rejects(schemas.resolve(9), (error: unknown) => {
      assert.ok(error instanceof SchemaPendingError, String(error));
      assert.equal(error.handling, 'wait');
      assert.equal(error.dependency, 'registry');
      return true;
    });
    now = 1000;
    await assert.rejects(schemas.resolve(9), SchemaPendingError);
    registered = true;
    now = 2000;
    await schemas.resolve(9);
    assert.deepEqual(calls, [9, 9, 9], 'each wait asks again: "not found yet" is not cached');
  });

  it('when an id stays unknown past the grace, then its record is dead-lettered, and the id is not given another grace', async () => {
    let now = 0;
    const { registry } = answering(notFound);
    const schemas = new WriterSchemas(registry, readerType, { unknownTtlMs: 10_000, now: () => now });
    await assert.rejects(schemas.resolve(9), SchemaPendingError);
    now = SCHEMA_PENDING_GRACE_MS;
    await assert.rejects(schemas.resolve(9), UnknownSchemaError);
    now += 10_001; // the refusal expired: asked again, refused at once
    await assert.rejects(schemas.resolve(9), UnknownSchemaError);
  });

  it('when a writer names a new unknown id in every record, then only a few ids a minute get a grace', async () => {
    let now = 0;
    const { registry } = answering(notFound);
    const schemas = new WriterSchemas(registry, readerType, { now: () => now });
    const outcomes = [];
    for (let id = 100; id < 110; id += 1) {
      outcomes.push(await schemas.resolve(id).catch((error: unknown) => (error as Error).constructor.name));
    }
    assert.deepEqual(outcomes, [
      ...Array<string>(SCHEMA_PENDING_GRACES_PER_MINUTE).fill('SchemaPendingError'),
      ...Array<string>(10 - SCHEMA_PENDING_GRACES_PER_MINUTE).fill('UnknownSchemaError'),
    ]);
    now = 60_001;
    await assert.rejects(schemas.resolve(200), SchemaPendingError, 'a new minute, new graces');
  });

  it('when unknown ids flood in, then the refusals kept stay bounded too', async () => {
    const { registry } = answering(notFound);
    const schemas = new WriterSchemas(registry, readerType, { maxEntries: 10 });
    // The first three new ids of the minute get a grace (SchemaPendingError); all the others are refused.
    for (let id = 0; id < 1000; id += 1) await assert.rejects(schemas.resolve(id));
    assert.ok(schemas.size <= 10, `${schemas.size} kept`);
  });

  for (const [what, answer, expected] of [
    ['is down (transport failure)', () => status(400), RegistryUnavailableError],
    ['answers 503', () => status(503), RegistryUnavailableError],
    ['refuses our credentials (401)', () => status(401), RegistryAuthError],
    ['forbids the call (403)', () => status(403), RegistryAuthError],
    // A reverse proxy in front of a registry that is not there: a 404 that is not the registry's.
    ['is behind a proxy answering 404 "Not Found"', () => status(404, 'Not Found'), RegistryUnavailableError],
    // A captive portal or a load balancer's page, with status 200.
    [
      'is behind something answering 200 with an HTML page',
      () => Promise.resolve('<html>Sign in</html>'),
      RegistryUnavailableError,
    ],
    [
      'answers 200 with JSON that is not a schema',
      () => Promise.resolve({ status: 'ok' }),
      RegistryUnavailableError,
    ],
  ] as const) {
    it(`when the registry ${what}, then the id waits (not the record's fault) and is asked again next time`, async () => {
      let fail = true;
      const { registry, calls } = answering(() => (fail ? answer() : schemaAnswer()));
      const schemas = new WriterSchemas(registry, readerType);
      await assert.rejects(schemas.resolve(3), (error: unknown) => {
        assert.ok(error instanceof expected, String(error));
        assert.equal((error as RegistryUnavailableError).handling, 'wait');
        return true;
      });
      fail = false;
      await schemas.resolve(3);
      assert.deepEqual(calls, [3, 3], 'a failure to answer is never cached');
    });
  }

  for (const [what, answer] of [
    ['a schema that is not JSON', { schema: '{"type": "record", "name": ' }],
    ['a schema that is not valid Avro', { schema: '{"type": "recrod", "name": "Order"}' }],
    ['a JSON Schema', { schema: '{"type": "object"}', schemaType: 'JSON' }],
    ['a Protobuf schema', { schema: 'syntax = "proto3"; message Order {}', schemaType: 'PROTOBUF' }],
  ] as const) {
    it(`when the registry answers with ${what}, then the id is refused for good as a decode failure`, async () => {
      const { registry, calls } = answering(() => Promise.resolve(answer));
      const schemas = new WriterSchemas(registry, readerType);
      await assert.rejects(schemas.resolve(4), DecodeError);
      await assert.rejects(schemas.resolve(4), DecodeError);
      assert.deepEqual(calls, [4], 'the refusal is remembered: a schema id never changes');
    });
  }

  describe('a writer schema with references', () => {
    // A writer whose extra field is a named type defined under another subject, as registries hold them.
    const customer = {
      type: 'record',
      name: 'Customer',
      namespace: 'shop',
      fields: [{ name: 'id', type: 'string' }],
    };
    const order = loadOrderSchema() as unknown as { fields: unknown[] };
    const withCustomer = {
      ...order,
      fields: [...order.fields, { name: 'customer', type: 'shop.Customer', default: { id: '' } }],
    };
    const main = {
      schema: JSON.stringify(withCustomer),
      references: [{ name: 'shop.Customer', subject: 'shop-customer', version: 1 }],
    };

    it('when the referenced schemas are there, then the writer resolves against ours', async () => {
      const { registry, versionCalls } = registryStandIn({
        answer: () => Promise.resolve(main),
        versions: { 'shop-customer@1': { schema: JSON.stringify(customer) } },
      });
      const schemas = new WriterSchemas(registry, readerType);
      const resolution = await schemas.resolve(12);
      assert.notEqual(resolution.resolver, undefined);
      assert.deepEqual(versionCalls, ['shop-customer@1']);
    });

    it('when a proxy answers for a referenced schema, then the id waits, and is asked again', async () => {
      let proxied = true;
      const { registry } = registryStandIn({
        answer: () => Promise.resolve(main),
        answerVersion: () =>
          Promise.resolve(proxied ? '<html>502 Bad Gateway</html>' : { schema: JSON.stringify(customer) }),
      });
      const schemas = new WriterSchemas(registry, readerType);
      await assert.rejects(schemas.resolve(12), RegistryUnavailableError);
      proxied = false;
      await schemas.resolve(12);
    });

    it('when a referenced schema does not parse, then the id is refused for good', async () => {
      const { registry } = registryStandIn({
        answer: () => Promise.resolve(main),
        versions: { 'shop-customer@1': { schema: '{"type": "recrod"}' } },
      });
      const schemas = new WriterSchemas(registry, readerType);
      await assert.rejects(schemas.resolve(12), DecodeError);
    });

    it('when references form an endless chain, then the id is refused after a bounded number of lookups', async () => {
      const { registry, versionCalls } = registryStandIn({
        answer: () => Promise.resolve(main),
        answerVersion: (_subject, version) =>
          Promise.resolve({
            schema: JSON.stringify(customer),
            references: [{ name: 'x', subject: 'chain', version: version + 1 }],
          }),
      });
      const schemas = new WriterSchemas(registry, readerType);
      await assert.rejects(schemas.resolve(12), DecodeError);
      assert.ok(versionCalls.length <= MAX_SCHEMA_REFERENCES + 1, `${versionCalls.length} lookups`);
    });
  });

  it('when a writer schema is deeply nested, then the codec refuses it as a decode failure, in bounded time', async () => {
    // 20,000 nested arrays: deeper than avsc's recursive parser can go. Built as the text the registry
    // would send (JSON.stringify itself could not go that deep).
    const depth = 20_000;
    const nested = '{"type":"array","items":'.repeat(depth) + '"int"' + '}'.repeat(depth);
    const schema = `{"type":"record","name":"Order","fields":[{"name":"deep","type":${nested}}]}`;
    const { registry } = registryStandIn({ schemas: { 8: schema } });
    const codec = new OrderCodec(registry);
    const started = performance.now();
    await assert.rejects(codec.decode(frame(8, Buffer.from([0]))), DecodeError);
    assert.ok(performance.now() - started < 2000);
  });
});

describe('registry calls that are refused, against a real client', () => {
  let server: Server;
  let url = '';
  let answer = { status: 401, body: '{"error_code":40101,"message":"Unauthorized"}' };
  before(async () => {
    server = createServer((_req, res) => {
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(answer.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const client = () =>
    createSchemaRegistry({ schemaRegistryUrl: url, registryTimeoutMs: 1000, clientId: 'test' });

  it('when the registry client is built, then the REST resources registration needs are there', () => {
    assert.doesNotThrow(() => registryApi(client()));
  });

  it('when the registry answers 401 to a producer, then it is an authentication error, not "unavailable"', async () => {
    answer = { status: 401, body: '{"error_code":40101,"message":"Unauthorized"}' };
    await assert.rejects(
      registerSchema(client(), 'orders-value', '{"type":"string"}', {
        autoRegister: true,
        compatibility: undefined,
      }),
      (error: unknown) => error instanceof RegistryAuthError && /HTTP 401/.test(error.message),
    );
  });

  it('when the registry answers 500 to a consumer fetching a schema, then the record waits for the registry', async () => {
    answer = { status: 500, body: '{"error_code":50001,"message":"boom"}' };
    const codec = new OrderCodec(client());
    await assert.rejects(codec.decode(frame(5, Buffer.from([0]))), RegistryUnavailableError);
  });
});
