import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import avro from 'avsc';
import { LOGICAL_TYPES } from '../../src/adapters/registry/decimal-type.js';
import { frame, loadOrderSchema, OrderCodec, unframe } from '../../src/adapters/registry/order-codec.js';
import { createSchemaRegistry } from '../../src/adapters/registry/schema-registry-client.js';
import { registryStandIn } from '../helpers/registry-stand-in.js';
import { loadConfig } from '../../src/config/load.js';
import { DecodeError, RegistryUnavailableError, WireFormatError } from '../../src/errors.js';
import { assertValidOrder } from '../../src/domain/order.js';

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

  it('when a writer pads a decimal with sign bytes, then it reads as the same amount; past 64 significant bytes it is refused', () => {
    const decimalType = avro.Type.forSchema(
      { type: 'bytes', logicalType: 'decimal', precision: 12, scale: 2 },
      { logicalTypes: LOGICAL_TYPES },
    );
    const bytes = avro.Type.forSchema('bytes');
    const padded = (fill: number, tail: number[], width: number) =>
      bytes.toBuffer(Buffer.from([...Array<number>(width - tail.length).fill(fill), ...tail]));
    assert.equal(decimalType.fromBuffer(padded(0x00, [0x01, 0x4f, 0xac], 16)), 85932n);
    assert.equal(decimalType.fromBuffer(padded(0xff, [0xfe, 0xb0, 0x54], 16)), -85932n);
    assert.equal(decimalType.fromBuffer(padded(0x00, [0x01, 0x4f, 0xac], 100_000)), 85932n);
    assert.throws(
      () => decimalType.fromBuffer(padded(0x00, Array<number>(65).fill(0x7f), 65)),
      /65 significant bytes/,
    );
    assert.throws(
      () => decimalType.fromBuffer(bytes.toBuffer(Buffer.alloc(1_000_000, 0x7f))),
      /beyond any amount/,
    );
  });

  it('when a writer puts its decimal in a fixed, then the amount reads exactly, never as the bytes of a length', () => {
    const fixedDecimal = (size: number) =>
      avro.Type.forSchema(
        { type: 'fixed', name: `F${size}`, size, logicalType: 'decimal', precision: 4, scale: 2 },
        { logicalTypes: LOGICAL_TYPES },
      );
    for (const [size, cents] of [
      [2, 517n],
      [2, -517n],
      [8, 85932n],
      [16, -1n],
    ] as const) {
      const type = fixedDecimal(size);
      const bytes = type.toBuffer(cents);
      assert.equal(bytes.length, size, 'a fixed has no length prefix');
      assert.equal(type.fromBuffer(bytes), cents);
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

  describe('reading writer schemas (schema ids resolved through a registry stand-in)', () => {
    /** A codec whose registry knows these writer schemas by id: this is about decoding, not HTTP. */
    const stands: { calls: number[] }[] = [];
    const codecWith = (
      writers: Record<number, avro.Schema>,
      latest: Record<string, number> = {},
    ): OrderCodec => {
      const standIn = registryStandIn({ schemas: writers, latest });
      stands.push(standIn);
      return new OrderCodec(standIn.registry);
    };
    /** Schema fetches of every stand-in so far. */
    const registryCallsNow = () => stands.reduce((n, st) => n + st.calls.length, 0);
    const ours = loadOrderSchema();
    const order = { orderId: '1001', product: 'Laptop', price: 85932n, createdAt: 1_700_000_000_000 };
    const expected = {
      orderId: '1001',
      product: 'Laptop',
      priceCents: 85932n,
      createdAtMs: 1_700_000_000_000,
    };

    it('when an order is encoded, then it is the framed Avro of our schema, short or long, and reads back the same', async () => {
      const codec = codecWith({ 1: ours });
      const id = await codec.register('orders');
      for (const product of ['Laptop', 'x'.repeat(300)]) {
        for (const priceCents of [1n, 85932n, 999_999_999_999n, 2n ** 47n, 2n ** 63n - 1n]) {
          const value = codec.encode({
            orderId: '1001',
            product,
            priceCents,
            createdAtMs: 1_700_000_000_000,
          });
          const record = { orderId: '1001', product, price: priceCents, createdAt: 1_700_000_000_000 };
          assert.deepEqual(
            value,
            frame(id, orderType.toBuffer(record)),
            `${product.length} chars, ${priceCents}`,
          );
          assert.equal((await codec.decode(value)).priceCents, priceCents);
        }
      }
    });

    it('when the writer used our schema, then the order is read, at first and from the cache', async () => {
      const codec = codecWith({ 1: ours });
      const value = frame(1, orderType.toBuffer(order));
      assert.deepEqual(await codec.decode(value), expected);
      assert.deepEqual(codec.decodeCached(value), expected);
    });

    it('when the latest schema was preloaded, then the first record decodes without waiting for the registry', async () => {
      const codec = codecWith({ 7: ours }, { 'orders-value': 7 });
      assert.equal(await codec.preload('orders'), 7);
      const before = registryCallsNow();
      assert.deepEqual(codec.decodeCached(frame(7, orderType.toBuffer(order))), expected);
      assert.equal(registryCallsNow(), before);
    });

    it('when nothing is registered for the topic yet, then preload says so and leaves decoding to the first record', async () => {
      const codec = codecWith({ 1: ours }, {});
      assert.equal(await codec.preload('orders'), undefined);
      assert.equal(codec.decodeCached(frame(1, orderType.toBuffer(order))), undefined);
    });

    it('when many records share a schema id, then the registry is asked once for it', async () => {
      const codec = codecWith({ 1: ours });
      const value = frame(1, orderType.toBuffer(order));
      const before = registryCallsNow();
      await Promise.all(Array.from({ length: 50 }, () => codec.decode(value)));
      for (let i = 0; i < 50; i += 1) assert.deepEqual(codec.decodeCached(value), expected);
      assert.equal(registryCallsNow() - before, 1);
    });

    it('when a foreign writer sent the price as a double (NaN, Infinity possible), then its records are refused', async () => {
      const withDouble = JSON.parse(
        JSON.stringify(ours).replace(
          /\{"type":"bytes","logicalType":"decimal","precision":12,"scale":2\}/,
          '"double"',
        ),
      ) as avro.Schema;
      assert.match(JSON.stringify(withDouble), /"price","type":"double"/);
      const writer = avro.Type.forSchema(withDouble);
      const codec = codecWith({ 4: withDouble });
      for (const price of [Number.NaN, Number.POSITIVE_INFINITY, 12.5]) {
        await assert.rejects(codec.decode(frame(4, writer.toBuffer({ ...order, price }))), DecodeError);
      }
    });

    it('when the body is cut short or has bytes left over, then it is a permanent decode error', async () => {
      const codec = codecWith({ 1: ours });
      const body = orderType.toBuffer(order);
      await assert.rejects(codec.decode(frame(1, body.subarray(0, body.length - 2))), DecodeError);
      await assert.rejects(codec.decode(frame(1, Buffer.concat([body, Buffer.from([0])]))), DecodeError);
      await assert.rejects(codec.decode(frame(1, Buffer.from([0x7f]))), DecodeError);
    });

    it('when an older writer had no createdAt, then its orders are read with createdAt 0 (BACKWARD)', async () => {
      const older = { ...(ours as avro.schema.RecordType) };
      older.fields = older.fields.filter((field) => field.name !== 'createdAt');
      const olderType = avro.Type.forSchema(older, { logicalTypes: LOGICAL_TYPES });
      const codec = codecWith({ 2: older });
      const value = frame(2, olderType.toBuffer({ orderId: '7', product: 'Phone', price: 1999n }));
      assert.deepEqual(await codec.decode(value), {
        orderId: '7',
        product: 'Phone',
        priceCents: 1999n,
        createdAtMs: 0,
      });
    });

    describe('reading good orders in place (readGoodOrder)', () => {
      /** What the full path says: the fields of an order that decodes without I/O and is valid, else undefined. */
      const fullPath = (
        codec: OrderCodec,
        value: Buffer,
      ): { priceCents: number; createdAtMs: number } | undefined => {
        try {
          const decoded = codec.decodeCached(value);
          if (decoded === undefined) return undefined;
          assertValidOrder(decoded);
          return { priceCents: Number(decoded.priceCents), createdAtMs: decoded.createdAtMs };
        } catch {
          return undefined;
        }
      };
      const inPlace = (codec: OrderCodec, value: Buffer | null) => {
        const into = { priceCents: -1, createdAtMs: -1 };
        return codec.readGoodOrder(value, into) ? into : undefined;
      };
      const texts = [
        '1001',
        'A',
        'Laptop Pro 15"',
        ' x ',
        '\u0000',
        '',
        ' ',
        '\t\n\r\v\f ',
        'é',
        ' é',
        'é1',
        '\u00a0',
        '\u2003x',
        // At and beyond the bounds: orderId at most 64 bytes, product at most 256.
        'x'.repeat(64),
        'x'.repeat(65),
        'y'.repeat(256),
        'y'.repeat(257),
      ];
      const prices = [
        1n,
        99n,
        85932n,
        2n ** 40n,
        999_999_999_999n,
        1_000_000_000_000n,
        0n,
        -1n,
        -85932n,
        2n ** 47n - 1n,
        2n ** 47n,
        2n ** 62n,
      ];
      const times = [1_700_000_000_000, 1, 0, -1, -1_700_000_000_000, 2 ** 48 - 1, 2 ** 48, 2 ** 52];

      it('when an id is 64 bytes of which most are invalid UTF-8, then it is not taken in place (it decodes to 190 bytes and is invalid)', async () => {
        const codec = codecWith({ 1: ours });
        await codec.decode(frame(1, orderType.toBuffer(order)));
        const id = Buffer.concat([Buffer.from('a'), Buffer.alloc(63, 0xff)]);
        const body = Buffer.concat([
          avro.Type.forSchema('bytes').toBuffer(id),
          avro.Type.forSchema('string').toBuffer('Laptop'),
          orderType.toBuffer(order).subarray(1 + 4 + 1 + 6),
        ]);
        const value = frame(1, body);
        assert.equal(inPlace(codec, value), undefined);
        assert.equal(fullPath(codec, value), undefined, 'the full path refuses it too');
      });

      it('when an order is taken in place, then the full decode and every validation rule accept it with the same price and time', async () => {
        const codec = codecWith({ 1: ours });
        await codec.decode(frame(1, orderType.toBuffer(order)));
        assert.ok(codec.readsInPlace, 'order.avsc has the layout readGoodOrder reads');
        let taken = 0;
        let cases = 0;
        for (const orderId of texts)
          for (const product of [texts[2] ?? '', ...texts])
            for (const price of prices)
              for (const createdAt of times) {
                const value = frame(1, orderType.toBuffer({ orderId, product, price, createdAt }));
                const fast = inPlace(codec, value);
                const full = fullPath(codec, value);
                cases += 1;
                if (fast === undefined) continue;
                taken += 1;
                assert.deepEqual(
                  fast,
                  full,
                  JSON.stringify({ orderId, product, price: String(price), createdAt }),
                );
              }
        // ASCII ids with a character trim() keeps, within their bound (6 of the texts as orderId, 9
        // products), prices in (0, 999999999999] (4), times 0 to 2^48 - 1 (4): every valid order of that
        // kind, the kind our producer writes.
        assert.equal(taken, 6 * 9 * 4 * 4, `taken ${taken} of ${cases}`);
      });

      it('when a good order is left out (non-ASCII-only ids, 7-byte prices, far-future times), then the full path still takes it', async () => {
        const codec = codecWith({ 1: ours });
        await codec.decode(frame(1, orderType.toBuffer(order)));
        for (const odd of [
          { ...order, orderId: 'é' },
          { ...order, product: '\u00e9\u00e8' },
          { ...order, createdAt: 2 ** 48 },
        ]) {
          const value = frame(1, orderType.toBuffer(odd));
          assert.equal(inPlace(codec, value), undefined);
          assert.notEqual(fullPath(codec, value), undefined);
        }
        // The same price in 7 bytes (a sign-extended encoding another writer may choose).
        const body = orderType.toBuffer(order);
        const priceAt = 1 + 4 + 1 + 6;
        assert.equal(body[priceAt], 6, 'price length 3 (zig-zag 6) where the test expects it');
        const wide = Buffer.concat([
          body.subarray(0, priceAt),
          Buffer.from([14, 0, 0, 0, 0]),
          body.subarray(priceAt + 1),
        ]);
        assert.equal(inPlace(codec, frame(1, wide)), undefined);
        assert.deepEqual(fullPath(codec, frame(1, wide)), {
          priceCents: 85932,
          createdAtMs: order.createdAt,
        });
      });

      it('when the bytes are malformed, the schema unknown or read through a resolver, then nothing is taken in place', async () => {
        const older = { ...(ours as avro.schema.RecordType) };
        older.fields = older.fields.filter((field) => field.name !== 'createdAt');
        const olderType = avro.Type.forSchema(older, { logicalTypes: LOGICAL_TYPES });
        const codec = codecWith({ 1: ours, 2: older });
        const body = orderType.toBuffer(order);
        const good = frame(1, body);
        await codec.decode(good);
        const viaResolver = frame(2, olderType.toBuffer({ orderId: '7', product: 'Phone', price: 1999n }));
        await codec.decode(viaResolver);
        assert.notEqual(inPlace(codec, good), undefined);
        for (const [name, value] of [
          ['null', null],
          ['empty', Buffer.alloc(0)],
          ['header only', good.subarray(0, 5)],
          ['wrong magic byte', Buffer.concat([Buffer.from([1]), good.subarray(1)])],
          ['an id not fetched yet', frame(9, body)],
          ['an older writer (resolver)', viaResolver],
          ...Array.from(
            { length: body.length },
            (_, cut) => [`cut to ${cut} bytes`, frame(1, body.subarray(0, cut))] as const,
          ),
          ['a byte left over', frame(1, Buffer.concat([body, Buffer.from([0])]))],
          ['a negative length', frame(1, Buffer.concat([Buffer.from([1]), body.subarray(1)]))],
          ['an endless varint', frame(1, Buffer.alloc(12, 0xff))],
        ] as const) {
          assert.equal(inPlace(codec, value), undefined, name);
        }
      });
    });

    it('when a writer used another decimal scale, then its records are refused, never misread', async () => {
      const scale3 = JSON.parse(JSON.stringify(ours).replace('"scale":2', '"scale":3')) as avro.Schema;
      assert.notEqual(JSON.stringify(scale3), JSON.stringify(ours));
      const writer = avro.Type.forSchema(scale3, { logicalTypes: LOGICAL_TYPES });
      const codec = codecWith({ 3: scale3 });
      await assert.rejects(
        codec.decode(frame(3, writer.toBuffer({ ...order, price: 859320n }))),
        DecodeError,
      );
    });
  });
});
