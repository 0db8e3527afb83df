import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import avro from 'avsc';
import { LOGICAL_TYPES } from '../../src/adapters/registry/decimal-type.js';
import { frame, loadOrderSchema, OrderCodec } from '../../src/adapters/registry/order-codec.js';
import { OrderProcessor } from '../../src/consumer/order-processor.js';
import type { DeadLetterSink, Outcome } from '../../src/ports/processing.js';
import type { IncomingRecord } from '../../src/ports/records.js';
import { decodeDeadLetterHeaders } from '../../src/domain/dead-letter.js';
import { seededRandom } from '../../src/domain/order-generator.js';
import { registryStandIn } from '../helpers/registry-stand-in.js';

/**
 * Fuzzing the real decode path, the one every record of the orders topic takes: OrderProcessor with
 * OrderCodec (the in-place reader, then avsc with our decimal type, then validation). A fixed seed
 * makes every run the same 100,000 cases: random bytes, and random mutations of valid records of seven
 * writer schemas, among them writers whose extra fields (arrays, maps, nested and recursive records)
 * avsc must skip. Each case must end, within a small time budget, as a processed order or as a dead
 * letter with a classified code; never a throw, a hang or an unclassified error.
 */
const CASES = 100_000;
const SEED = 20_261_204;
/** Per case; a case over it is timed again (a GC pause is not the decoder's doing) before it fails. */
const BUDGET_MS = 25;

const ours = loadOrderSchema() as unknown as { fields: { name: string; type: unknown }[] };
const orderFields = ours.fields;

const WRITERS: Record<number, unknown> = {
  1: ours,
  // An older writer without createdAt.
  2: { ...ours, fields: orderFields.filter((f) => f.name !== 'createdAt') },
  // A writer with fields the reader skips: every length-carrying type, nested and recursive.
  3: {
    ...ours,
    fields: [
      { name: 'tags', type: { type: 'array', items: 'string' } },
      ...orderFields.slice(0, 2),
      { name: 'attributes', type: { type: 'map', values: 'long' } },
      {
        name: 'lines',
        type: {
          type: 'array',
          items: {
            type: 'record',
            name: 'Line',
            fields: [
              { name: 'sku', type: 'string' },
              { name: 'qty', type: 'int' },
              { name: 'blob', type: 'bytes' },
              { name: 'nulls', type: { type: 'array', items: 'null' } },
            ],
          },
        },
      },
      {
        name: 'chain',
        type: [
          'null',
          {
            type: 'record',
            name: 'Link',
            fields: [
              { name: 'v', type: 'int' },
              { name: 'next', type: ['null', 'Link'] },
            ],
          },
        ],
      },
      { name: 'code', type: { type: 'fixed', name: 'Code', size: 4 } },
      { name: 'kind', type: { type: 'enum', name: 'Kind', symbols: ['A', 'B', 'C'] } },
      { name: 'ratio', type: 'double' },
      ...orderFields.slice(2),
    ],
  },
  // A wider decimal of the same scale resolves to ours.
  4: {
    ...ours,
    fields: orderFields.map((f) =>
      f.name === 'price'
        ? { ...f, type: { type: 'bytes', logicalType: 'decimal', precision: 38, scale: 2 } }
        : f,
    ),
  },
  // Fields in another order, the orderId written as bytes (avsc resolves bytes to string).
  5: {
    ...ours,
    fields: [orderFields[2], { ...orderFields[0], type: 'bytes' }, orderFields[3], orderFields[1]],
  },
  // A price as a double cannot be read as an order: every record of it is refused.
  6: { ...ours, fields: orderFields.map((f) => (f.name === 'price' ? { ...f, type: 'double' } : f)) },
  // A decimal of the same scale in a fixed, as some writers have it, resolves to ours.
  7: {
    ...ours,
    fields: orderFields.map((f) =>
      f.name === 'price'
        ? {
            ...f,
            type: { type: 'fixed', name: 'Price', size: 8, logicalType: 'decimal', precision: 12, scale: 2 },
          }
        : f,
    ),
  },
};
const TYPES = Object.fromEntries(
  Object.entries(WRITERS).map(([id, schema]) => [
    id,
    avro.Type.forSchema(schema as avro.Schema, { logicalTypes: LOGICAL_TYPES }),
  ]),
) as Record<string, avro.Type>;

function codecWithWriters(): OrderCodec {
  // Unknown ids are refused at once: the wait for an id not found yet is not decoding's business.
  return new OrderCodec(registryStandIn({ schemas: WRITERS }).registry, {
    writerSchemas: { pendingGraceMs: 0 },
  });
}

/** A valid value of writer `id`, from the random source. */
function validValue(id: number, random: () => number): unknown {
  const text = (max: number) =>
    'x'.repeat(1 + Math.floor(random() * max)) + String(Math.floor(random() * 1e6));
  const price = BigInt(1 + Math.floor(random() * 99_999_999));
  const base = { orderId: text(8), product: text(16), price, createdAt: Math.floor(random() * 2 ** 41) };
  switch (id) {
    case 2:
      return { orderId: base.orderId, product: base.product, price };
    case 3: {
      let chain: unknown = null;
      for (let i = Math.floor(random() * 5); i > 0; i -= 1) chain = { v: i, next: chain };
      return {
        ...base,
        tags: Array.from({ length: Math.floor(random() * 4) }, () => text(5)),
        attributes: { a: 1, [text(3)]: Math.floor(random() * 1e9) },
        lines: Array.from({ length: Math.floor(random() * 3) }, () => ({
          sku: text(4),
          qty: Math.floor(random() * 100),
          blob: Buffer.from(text(6)),
          nulls: Array.from({ length: Math.floor(random() * 3) }, () => null),
        })),
        chain,
        code: Buffer.from('ABCD'),
        kind: 'B',
        ratio: random(),
      };
    }
    case 5:
      return { ...base, orderId: Buffer.from(base.orderId) };
    case 6:
      return { ...base, price: random() * 1000 };
    default:
      return base;
  }
}

/** Varints a hostile writer would put where a length or count goes. */
const EXTREME_VARINTS: readonly number[][] = [
  [0x01], // -1
  [0x03], // -2
  [0xff, 0xff, 0xff, 0xff, 0x0f], // -2^31
  [0xfe, 0xff, 0xff, 0xff, 0x0f], // 2^31 - 1
  [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01], // 2^62
  [...Array<number>(12).fill(0xff), 0x01], // longer than any long
  [...Array<number>(10).fill(0x80), 0x00], // zero, padded beyond 10 bytes
  [0xfe, 0xff, 0xff, 0x7f], // 2^27 - 1
];

function mutate(bytes: Buffer, random: () => number): Buffer {
  const pick = (n: number) => Math.floor(random() * n);
  let out = Buffer.from(bytes);
  for (let round = 1 + pick(3); round > 0; round -= 1) {
    const at = 5 + pick(Math.max(1, out.length - 5));
    switch (pick(7)) {
      case 0:
        out[at] = (out[at] ?? 0) ^ (1 << pick(8));
        break;
      case 1:
        out[at] = pick(256);
        break;
      case 2: {
        const v = EXTREME_VARINTS[pick(EXTREME_VARINTS.length)] ?? [0];
        out = Buffer.concat([
          out.subarray(0, at),
          Buffer.from(v),
          out.subarray(at + (pick(2) === 0 ? 0 : 1)),
        ]);
        break;
      }
      case 3:
        out = out.subarray(0, at);
        break;
      case 4:
        out = Buffer.concat([out.subarray(0, at), out.subarray(Math.min(out.length, at + 1 + pick(4)))]);
        break;
      case 5:
        out = Buffer.concat([
          out.subarray(0, at),
          Buffer.alloc(1 + pick(40), pick(2) === 0 ? 0xff : 0x80),
          out.subarray(at),
        ]);
        break;
      default:
        // Another schema id in the header: bytes of one writer read with another's schema.
        out.writeInt32BE(1 + pick(8), 1);
    }
  }
  return out;
}

function randomBytes(random: () => number): Buffer {
  const length = Math.floor(random() * 300);
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i += 1) out[i] = Math.floor(random() * 256);
  // Mostly framed, so the fuzz reaches avsc and not only the framing check.
  if (length >= 5 && random() < 0.8) {
    out[0] = 0;
    out.writeInt32BE(1 + Math.floor(random() * 8), 1);
  }
  return out;
}

function countBy(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return counts;
}

const CLASSIFIED = new Set([
  'KOS_WIRE_FORMAT',
  'KOS_SCHEMA_UNKNOWN',
  'KOS_DECODE_FAILED',
  'KOS_ORDER_INVALID',
]);

describe(`the decode path under ${CASES.toLocaleString('en')} fuzzed records (seed ${SEED})`, () => {
  it('when any bytes arrive, then each record ends within the budget as an order or a classified dead letter', async (t) => {
    const codec = codecWithWriters();
    for (const id of Object.keys(TYPES)) {
      await codec
        .decode(
          frame(Number(id), TYPES[id]?.toBuffer(validValue(Number(id), Math.random)) ?? Buffer.alloc(0)),
        )
        .catch(() => undefined);
    }
    const codes: string[] = [];
    const sink: DeadLetterSink = {
      publish: (_record, headers) => {
        codes.push(decodeDeadLetterHeaders(headers).errorCode);
        return Promise.resolve();
      },
    };
    const processor = new OrderProcessor({
      decoder: codec,
      groupId: 'fuzz',
      policy: {
        maxRetries: 0,
        backoffMs: 0,
        strategy: 'fixed',
        maxBackoffMs: 0,
        jitter: 0,
        waitBackoffMs: 0,
        waitMaxBackoffMs: 0,
      },
    });
    const random = seededRandom(SEED);
    const ctx = { deadLetters: sink };
    const tally = { processed: 0, deadLettered: 0, inPlace: 0, slowest: 0 };
    const into = { priceCents: 0, createdAtMs: 0 };

    const run = async (value: Buffer, offset: number): Promise<Outcome> => {
      const record: IncomingRecord = {
        topic: 'orders',
        partition: 0,
        offset: String(offset),
        timestamp: '1',
        key: null,
        value,
      };
      return processor.tryHandleWithoutIO(record) ?? (await processor.handle(record, ctx));
    };

    for (let i = 0; i < CASES; i += 1) {
      let value: Buffer;
      if (random() < 0.2) value = randomBytes(random);
      else {
        const id = 1 + Math.floor(random() * 7);
        value = mutate(
          frame(id, TYPES[String(id)]?.toBuffer(validValue(id, random)) ?? Buffer.alloc(0)),
          random,
        );
      }
      let ms = Number.POSITIVE_INFINITY;
      let outcome: Outcome | undefined;
      for (let attempt = 0; attempt < 3 && ms > BUDGET_MS; attempt += 1) {
        const started = performance.now();
        const inPlace = codec.readGoodOrder(value, into);
        outcome = await run(value, i);
        ms = Math.min(ms, performance.now() - started);
        if (inPlace) {
          // What the in-place reader takes, the full path takes too, with the same price.
          tally.inPlace += 1;
          assert.ok(outcome.kind === 'processed', `case ${i}: in place but not by the full path`);
          assert.equal(outcome.order.priceCents, BigInt(into.priceCents));
        }
      }
      tally.slowest = Math.max(tally.slowest, ms);
      assert.ok(
        ms <= BUDGET_MS,
        `case ${i} took ${ms.toFixed(1)} ms: ${value.subarray(0, 64).toString('hex')}`,
      );
      assert.ok(
        outcome && outcome.kind !== 'retry-later' && outcome.kind !== 'waiting',
        `case ${i}: ${outcome?.kind}`,
      );
      if (outcome.kind === 'processed') tally.processed += 1;
      else {
        tally.deadLettered += 1;
        const code = codes.at(-1) ?? '';
        assert.ok(CLASSIFIED.has(code), `case ${i}: dead-lettered as ${code}: ${outcome.failure.message}`);
      }
    }
    t.diagnostic(
      `fuzz: ${JSON.stringify({ ...tally, slowest: Number(tally.slowest.toFixed(2)) })}, codes ${JSON.stringify(countBy(codes))}`,
    );
    assert.equal(tally.processed + tally.deadLettered, CASES);
    // The mutations must reach both ends: some orders survive them, most do not.
    assert.ok(tally.processed > 1000 && tally.deadLettered > 50_000, JSON.stringify(tally));
  });

  it('when a record is large and hostile, then decoding it costs time linear in its size', async () => {
    const codec = codecWithWriters();
    const reader = TYPES['1'] as avro.Type;
    await codec.decode(frame(1, reader.toBuffer(validValue(1, Math.random))));
    await codec.decode(frame(3, TYPES['3']?.toBuffer(validValue(3, Math.random)) ?? Buffer.alloc(0)));
    const varint = (n: number) => avro.Type.forSchema('long').toBuffer(n);
    const decimalOf = (bytes: number) => Buffer.concat([varint(bytes), Buffer.alloc(bytes, 0x7f)]);
    const text = (bytes: number) => Buffer.concat([varint(bytes), Buffer.alloc(bytes, 0x41)]);
    /** ms to decode a record built of `size` bytes of one hostile kind. */
    const cost = (size: number, build: (size: number) => Buffer): number => {
      const value = build(size);
      let best = Number.POSITIVE_INFINITY;
      for (let round = 0; round < 3; round += 1) {
        const started = performance.now();
        try {
          codec.decodeCached(value);
        } catch {
          // Refused, as it should be: only the time counts here.
        }
        best = Math.min(best, performance.now() - started);
      }
      return best;
    };
    const kinds: [string, (size: number) => Buffer][] = [
      [
        'a decimal far longer than decimal(12,2) needs',
        (n) => frame(1, Buffer.concat([text(4), text(4), decimalOf(n), varint(1)])),
      ],
      [
        'an orderId of megabytes',
        (n) => frame(1, Buffer.concat([text(n), text(4), decimalOf(3), varint(1)])),
      ],
      [
        'a skipped array of as many strings as bytes',
        (n) => frame(3, Buffer.concat([varint(n / 2), Buffer.alloc(n, 0x00), varint(0), text(4), text(4)])),
      ],
      [
        'a recursive chain nested as deep as it has bytes',
        (n) =>
          frame(3, Buffer.concat([varint(0), text(1), text(1), varint(0), varint(0), Buffer.alloc(n, 0x02)])),
      ],
    ];
    for (const [name, build] of kinds) {
      const small = cost(200_000, build);
      const large = cost(2_000_000, build);
      // Ten times the bytes may cost ten times the time (and some noise), never a hundred times.
      assert.ok(
        large < Math.max(50, small * 30),
        `${name}: 200 kB in ${small.toFixed(1)} ms, 2 MB in ${large.toFixed(1)} ms`,
      );
      assert.ok(large < 1000, `${name}: 2 MB in ${large.toFixed(1)} ms`);
    }
  });
});
