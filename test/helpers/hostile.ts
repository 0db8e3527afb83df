import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import avro from 'avsc';
import kafkajs, { type Kafka } from 'kafkajs';
import { LOGICAL_TYPES } from '../../src/adapters/registry/decimal-type.js';
import { frame, loadOrderSchema } from '../../src/adapters/registry/order-codec.js';

const { CompressionTypes } = kafkajs;

/**
 * Bytes a hostile client writes to the orders topic, built by hand: what no well-behaved Avro writer
 * would produce, and what the consumer must survive.
 */

/** A zig-zag varint of `n`. */
export function varint(n: number | bigint): Buffer {
  let z = BigInt(n) >= 0n ? BigInt(n) * 2n : -BigInt(n) * 2n - 1n;
  const out: number[] = [];
  do {
    const byte = Number(z & 0x7fn);
    z >>= 7n;
    out.push(z > 0n ? byte | 0x80 : byte);
  } while (z > 0n);
  return Buffer.from(out);
}

/** An Avro string or bytes: its length, then its bytes. */
export const text = (value: string | Buffer): Buffer => {
  const bytes = Buffer.isBuffer(value) ? value : Buffer.from(value);
  return Buffer.concat([varint(bytes.length), bytes]);
};

/** Confluent framing (src's `frame`): magic byte 0, the schema id, the body. */
export const framed = (schemaId: number, ...body: Buffer[]): Buffer => frame(schemaId, Buffer.concat(body));

const ours = loadOrderSchema() as unknown as {
  name: string;
  namespace?: string;
  fields: { name: string; type: unknown }[];
};
const [orderId, product, price, createdAt] = ours.fields;

/** Our order schema with the product's decimal type, to write valid parts as the producer does. */
const orderType = avro.Type.forSchema(loadOrderSchema(), { logicalTypes: LOGICAL_TYPES });
const priceType = avro.Type.forSchema(price!.type as avro.Schema, { logicalTypes: LOGICAL_TYPES });

/** Our price field holding `cents`: the product's Avro decimal (src's DecimalType). */
export const decimal = (cents: number): Buffer => priceType.toBuffer(BigInt(cents));

/** D_k = {a: D_k-1, b: D_k-1} with D_0 = {leaf}: named once each, so the schema grows linearly in `depth`. */
function dagOf(depth: number, leaf: unknown): unknown {
  let type: unknown = { type: 'record', name: 'Dag0', fields: [{ name: 'leaf', type: leaf }] };
  for (let k = 1; k <= depth; k++)
    type = {
      type: 'record',
      name: `Dag${k}`,
      fields: [
        { name: 'a', type },
        { name: 'b', type: `Dag${k - 1}` },
      ],
    };
  return type;
}

/** Writer schemas a hostile (or merely different) client may register; each one resolves to Order. */
export const HOSTILE_WRITERS = {
  /** Extra fields the reader skips: an array, an array of nulls, a map. */
  withCollections: {
    ...ours,
    fields: [
      orderId,
      product,
      { name: 'tags', type: { type: 'array', items: 'int' } },
      { name: 'nulls', type: { type: 'array', items: 'null' } },
      { name: 'attributes', type: { type: 'map', values: 'long' } },
      price,
      createdAt,
    ],
  },
  /** A recursive extra field: a linked list as deep as the bytes say. */
  withChain: {
    ...ours,
    fields: [
      orderId,
      product,
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
      price,
      createdAt,
    ],
  },
  /**
   * An extra field whose type nests a named record twice in itself, 40 levels deep: a schema of a few
   * kB whose values hold 2^40 leaves. With null leaves a value takes no bytes at all.
   */
  withDag: {
    ...ours,
    fields: [orderId, product, { name: 'dag', type: dagOf(40, 'null') }, price, createdAt],
  },
  /** The same with union leaves: each takes at least a byte, so 2^40 of them never fit a record. */
  withDagOfUnions: {
    ...ours,
    fields: [orderId, product, { name: 'dag', type: dagOf(40, ['null', 'int']) }, price, createdAt],
  },
  /** A price as a double: it could carry NaN, so it never resolves to our decimal. */
  doublePrice: {
    ...ours,
    fields: ours.fields.map((f) => (f.name === 'price' ? { ...f, type: 'double' } : f)),
  },
} as const;

/** Registers a writer schema under a subject of its own, as any client of the registry can; returns its id. */
export async function registerWriter(registryUrl: string, subject: string, schema: unknown): Promise<number> {
  const response = await fetch(`${registryUrl}/subjects/${subject}/versions`, {
    method: 'POST',
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify({ schema: JSON.stringify(schema) }),
  });
  const body = await response.text();
  if (!response.ok) throw new Error(`registering ${subject}: HTTP ${response.status} ${body}`);
  return (JSON.parse(body) as { id: number }).id;
}

export interface HostileRecord {
  readonly name: string;
  readonly key: Buffer;
  readonly value: Buffer;
  /** The code of its one dead letter; undefined: it is a valid order, counted once. */
  readonly expected: string | undefined;
  /** For a valid one: its price. */
  readonly priceCents?: bigint;
  readonly headers?: Record<string, Buffer | Buffer[]>;
}

export interface Placed extends HostileRecord {
  readonly partition: number;
  readonly offset: string;
}

/**
 * Writes each record on its own with a plain kafkajs producer, gzip-compressed so that values of
 * megabytes stay within the broker's default 1 MB limit, round-robin over `partitions`.
 */
export async function produceHostile(
  kafka: Kafka,
  topic: string,
  records: readonly HostileRecord[],
  partitions: number,
  between: () => Promise<void> = () => Promise.resolve(),
): Promise<Placed[]> {
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const placed: Placed[] = [];
  try {
    for (const [i, record] of records.entries()) {
      const partition = i % partitions;
      const [meta] = await producer.send({
        topic,
        acks: -1,
        compression: CompressionTypes.GZIP,
        messages: [
          {
            key: record.key,
            value: record.value,
            partition,
            ...(record.headers ? { headers: record.headers } : {}),
          },
        ],
      });
      placed.push({ ...record, partition, offset: meta?.baseOffset ?? '-1' });
      await between();
    }
  } finally {
    await producer.disconnect();
  }
  return placed;
}

/** The hostile records of the suite, for writer schema ids registered beforehand. */
export function hostileRecords(ids: {
  readonly ours: number;
  readonly withCollections: number;
  readonly withChain: number;
  readonly withDag: number;
  readonly withDagOfUnions: number;
  readonly doublePrice: number;
}): HostileRecord[] {
  const time = varint(Date.now());
  const key = (name: string) => Buffer.from(`hostile-${name}`);
  const chainOf = (depth: number) =>
    Buffer.concat([
      varint(1),
      Buffer.alloc(depth * 2, 0).fill(Buffer.from([0x00, 0x02])),
      Buffer.from([0x00, 0x00]),
    ]);
  const dead = (name: string, value: Buffer, expected: string, k: Buffer = key(name)): HostileRecord => ({
    name,
    key: k,
    value,
    expected,
  });
  return [
    dead(
      'an orderId of 5 MB',
      framed(ids.ours, text('x'.repeat(5_000_000)), text('Laptop'), decimal(8932), time),
      'KOS_ORDER_INVALID',
    ),
    dead(
      'a decimal of 2 MB',
      framed(
        ids.ours,
        text('h2'),
        text('Phone'),
        Buffer.concat([varint(2_000_000), Buffer.alloc(2_000_000, 0x7f)]),
        time,
      ),
      'KOS_DECODE_FAILED',
    ),
    dead(
      'a skipped array whose negative block size points back at itself',
      framed(
        ids.withCollections,
        text('h3'),
        text('Phone'),
        varint(-1),
        varint(-2),
        varint(0),
        varint(0),
        decimal(100),
        time,
      ),
      'KOS_DECODE_FAILED',
    ),
    dead(
      'a skipped array of ints claiming 2^50 items',
      framed(
        ids.withCollections,
        text('h4'),
        text('Phone'),
        varint(2 ** 50),
        varint(1),
        varint(0),
        decimal(100),
        time,
      ),
      'KOS_DECODE_FAILED',
    ),
    {
      // Valid, however odd: 2^50 nulls take no bytes. It is an order, and it must be counted once.
      name: 'a skipped array of 2^50 nulls (a valid order)',
      key: key('h5'),
      value: framed(
        ids.withCollections,
        text('h5'),
        text('Phone'),
        varint(0),
        varint(2 ** 50),
        varint(0),
        varint(0),
        decimal(12_345),
        time,
      ),
      expected: undefined,
      priceCents: 12_345n,
    },
    dead(
      'a recursive chain nested 500,000 deep',
      framed(ids.withChain, text('h6'), text('Phone'), chainOf(500_000), decimal(100), time),
      'KOS_DECODE_FAILED',
    ),
    {
      // Valid: 2^40 null leaves take no bytes. Unpatched avsc would skip them one by one, for hours.
      name: 'a skipped field of a schema nesting a record twice in itself 40 deep (a valid order)',
      key: key('h15'),
      value: framed(ids.withDag, text('h15'), text('Phone'), decimal(4_242), time),
      expected: undefined,
      priceCents: 4_242n,
    },
    dead(
      'a skipped field of 2^40 unions in 3 bytes',
      framed(ids.withDagOfUnions, text('h16'), text('Phone'), Buffer.from([0, 0, 0])),
      'KOS_DECODE_FAILED',
    ),
    dead(
      'a union index out of range',
      framed(ids.withChain, text('h7'), text('Phone'), varint(5), decimal(100), time),
      'KOS_DECODE_FAILED',
    ),
    dead(
      'a price written as a double',
      framed(
        ids.doublePrice,
        text('h8'),
        text('Phone'),
        Buffer.from(new Float64Array([Number.NaN]).buffer),
        time,
      ),
      'KOS_DECODE_FAILED',
    ),
    dead(
      'a length that is an 11-byte varint',
      framed(ids.ours, Buffer.from([...Array<number>(10).fill(0xff), 0x01])),
      'KOS_DECODE_FAILED',
    ),
    dead(
      'a schema id nobody registered',
      framed(2_000_000_000, text('h10'), text('Phone'), decimal(100), time),
      'KOS_SCHEMA_UNKNOWN',
    ),
    dead('JSON instead of Avro', Buffer.from('{"orderId":"h11","price":1}'), 'KOS_WIRE_FORMAT'),
    dead('20 MB of zeros', Buffer.alloc(20_000_000), 'KOS_SCHEMA_UNKNOWN'),
    dead('a key of 2 MB', Buffer.from('not avro'), 'KOS_WIRE_FORMAT', Buffer.alloc(2_000_000, 0x6b)),
    // 40 MB of zeros, gzip-compressed to 40 kB: past what a consumer inflates (32 MiB), so the whole
    // batch is one dead letter.
    dead('a gzip batch that inflates to 40 MB', Buffer.alloc(40_000_000), 'KOS_BATCH_UNREADABLE'),
    {
      // Valid too: 100,000 headers (50,000 distinct, 50,000 of one key) on a good order.
      name: 'an order with 100,000 headers (a valid order)',
      key: key('h14'),
      value: framed(ids.ours, text('h14'), text('Phone'), decimal(777), time),
      expected: undefined,
      priceCents: 777n,
      headers: {
        ...Object.fromEntries(Array.from({ length: 50_000 }, (_, i) => [`h${i}`, Buffer.from('v')])),
        repeated: Array.from({ length: 50_000 }, () => Buffer.from('x')),
      },
    },
  ];
}

/**
 * Valid orders written by another client, librdkafka (kcat), compressed with `codec` (snappy, lz4,
 * zstd: codecs kafkajs cannot read by itself). Each is compressible, so librdkafka compresses it.
 */
export async function produceWithKcat(
  brokers: string,
  topic: string,
  orders: readonly { partition: number; key: string; value: Buffer; codec: 'snappy' | 'lz4' | 'zstd' }[],
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'kos-kcat-'));
  try {
    for (const [i, order] of orders.entries()) {
      const file = join(dir, `order-${i}`);
      writeFileSync(file, order.value);
      // One file is one message; -z names the codec.
      await promisify(execFile)('kcat', [
        '-b',
        brokers,
        '-t',
        topic,
        '-p',
        String(order.partition),
        '-k',
        order.key,
        '-z',
        order.codec,
        '-P',
        file,
      ]);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** An order of our schema whose product name repeats, so that any codec shrinks it. */
export function compressibleOrder(schemaId: number, orderId: string, priceCents: number): Buffer {
  return frame(
    schemaId,
    orderType.toBuffer({
      orderId,
      product: 'Phone '.repeat(40).trim(),
      price: BigInt(priceCents),
      createdAt: Date.now(),
    }),
  );
}
