import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import avro from 'avsc';
import { LOGICAL_TYPES } from '../../src/adapters/registry/decimal-type.js';
import { frame, loadOrderSchema, OrderCodec, unframe } from '../../src/adapters/registry/order-codec.js';
import { createSchemaRegistry } from '../../src/adapters/registry/schema-registry-client.js';
import { loadConfig } from '../../src/config/load.js';
import { RegistryUnavailableError, WireFormatError } from '../../src/errors.js';

const orderType = avro.Type.forSchema(loadOrderSchema(), { logicalTypes: LOGICAL_TYPES });

describe('order codec', () => {
  it('when prices are encoded as Avro decimals, then they round-trip exactly, including sign and size', () => {
    for (const price of [
      1n,
      85932n,
      99n,
      128n,
      255n,
      256n,
      32768n,
      999_999_999_999n,
      -1n,
      -128n,
      -129n,
      0n,
      // Either side of the 6-byte fast path.
      2n ** 47n - 1n,
      -(2n ** 47n),
      2n ** 47n,
      -(2n ** 47n) - 1n,
      2n ** 63n - 1n,
      -(2n ** 63n),
    ]) {
      const record = { orderId: '1', product: 'p', price, createdAt: 0 };
      const back = orderType.fromBuffer(orderType.toBuffer(record)) as typeof record;
      assert.equal(back.price, price, `price ${price}`);
    }
  });

  it("when a decimal is encoded, then its bytes are big-endian two's complement as the Avro spec says", () => {
    const decimalType = avro.Type.forSchema(
      { type: 'bytes', logicalType: 'decimal', precision: 12, scale: 2 },
      { logicalTypes: LOGICAL_TYPES },
    );
    const bytes = avro.Type.forSchema('bytes');
    assert.deepEqual(bytes.fromBuffer(decimalType.toBuffer(85932n)), Buffer.from([0x01, 0x4f, 0xac]));
    assert.deepEqual(bytes.fromBuffer(decimalType.toBuffer(-1n)), Buffer.from([0xff]));
    assert.deepEqual(bytes.fromBuffer(decimalType.toBuffer(128n)), Buffer.from([0x00, 0x80]));
  });

  it('when a value is framed, then it carries magic byte 0 and the schema id big-endian', () => {
    const framed = frame(258, Buffer.from([7]));
    assert.deepEqual([...framed], [0, 0, 0, 1, 2, 7]);
    assert.deepEqual(unframe(framed), { schemaId: 258, payload: Buffer.from([7]) });
  });

  for (const [name, value] of [
    ['null', null],
    ['too short', Buffer.from([0, 0, 1])],
    ['wrong magic byte', Buffer.from('{"orderId":"1"}')],
  ] as const) {
    it(`when the value is ${name}, then it is a permanent wire-format error`, () => {
      assert.throws(() => unframe(value), WireFormatError);
    });
  }

  it('when the registry is unreachable while resolving a new schema id, then the failure is transient', async () => {
    const config = loadConfig('consumer', {
      SCHEMA_REGISTRY_URL: 'http://127.0.0.1:1',
      SCHEMA_REGISTRY_TIMEOUT_MS: '500',
    });
    const codec = new OrderCodec(createSchemaRegistry(config));
    await assert.rejects(codec.decode(frame(4242, Buffer.from([2, 0x31]))), RegistryUnavailableError);
  });
});
