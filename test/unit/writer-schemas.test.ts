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
import { WriterSchemas } from '../../src/adapters/registry/writer-schemas.js';
import {
  DecodeError,
  RegistryAuthError,
  RegistryUnavailableError,
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
    const schemas = new WriterSchemas(registry, readerType, { unknownTtlMs: 10_000, now: () => now });
    for (let i = 0; i < 100; i += 1) await assert.rejects(schemas.resolve(9), UnknownSchemaError);
    assert.deepEqual(calls, [9]);
    now = 10_001;
    await assert.rejects(schemas.resolve(9), UnknownSchemaError);
    assert.deepEqual(calls, [9, 9]);
  });

  it('when unknown ids flood in, then the refusals kept stay bounded too', async () => {
    const { registry } = answering(notFound);
    const schemas = new WriterSchemas(registry, readerType, { maxEntries: 10 });
    for (let id = 0; id < 1000; id += 1) await assert.rejects(schemas.resolve(id), UnknownSchemaError);
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
