import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRequire } from 'node:module';
import {
  installedMurmur2,
  installedRecordDecoder,
  installedRequestQueue,
  kafkajsIsHardened,
} from '../../src/adapters/kafka/kafkajs-guard.js';

describe("kafkajs's default partitioner (patches/kafkajs+2.2.4.patch)", () => {
  const murmur2 = installedMurmur2();

  it('when keys are hashed, then the results are those of the Java client (Utils.murmur2)', () => {
    // From org.apache.kafka.common.utils.Utils.murmur2 of kafka-clients 4.3.1.
    const java = { '0': 971027396, '1': -1993445489, '128': -326012175, '2187': -1508407203 };
    for (const [key, hash] of Object.entries(java)) assert.equal(murmur2(key), hash, key);
    assert.equal(murmur2(Buffer.from('1')), -1993445489);
  });

  it("when random keys are hashed, then the results are those of a plain 32-bit reference of Java's algorithm", () => {
    // Java's Utils.murmur2, step by step, each int operation cut to 32 bits (slow, but only for short keys).
    const i32 = (n: bigint) => BigInt.asIntN(32, n);
    const reference = (data: Buffer): number => {
      const m = 0x5bd1e995n;
      let h = i32(0x9747b28cn ^ BigInt(data.length));
      const whole = data.length - (data.length % 4);
      for (let i = 0; i < whole; i += 4) {
        let k = i32(BigInt(data.readInt32LE(i)) * m);
        k = i32(k ^ (BigInt.asUintN(32, k) >> 24n));
        k = i32(k * m);
        h = i32(i32(h * m) ^ k);
      }
      const rest = data.length % 4;
      if (rest >= 3) h = i32(h ^ (BigInt(data[whole + 2] ?? 0) << 16n));
      if (rest >= 2) h = i32(h ^ (BigInt(data[whole + 1] ?? 0) << 8n));
      if (rest >= 1) h = i32(i32(h ^ BigInt(data[whole] ?? 0)) * m);
      h = i32(h ^ (BigInt.asUintN(32, h) >> 13n));
      h = i32(h * m);
      h = i32(h ^ (BigInt.asUintN(32, h) >> 15n));
      return Number(h);
    };
    let seed = 7;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 5000; i += 1) {
      const key = Buffer.from(Array.from({ length: i % 67 }, () => Math.floor(random() * 256)));
      assert.equal(murmur2(key), reference(key), key.toString('hex'));
    }
  });

  it('when a key is megabytes long (a hostile one, kept by its dead letter), then hashing it takes milliseconds', () => {
    const started = performance.now();
    murmur2(Buffer.alloc(2_000_000, 0x6b));
    // Unpatched, 200 kB already took 6 s, and time grows with the square of the length.
    assert.ok(performance.now() - started < 500, `${(performance.now() - started).toFixed(0)} ms`);
  });

  it('when the consumer starts, then its check finds every kafkajs patch installed', () => {
    assert.deepEqual(kafkajsIsHardened(), {
      partitioner: true,
      headers: true,
      unreadableBatches: true,
      largeBatches: true,
      fetchBudget: true,
      idleQueues: true,
    });
  });
});

describe("kafkajs's record decoder (patches/kafkajs+2.2.4.patch)", () => {
  const require = createRequire(import.meta.url);
  const Decoder = require('kafkajs/src/protocol/decoder') as new (buffer: Buffer) => {
    readVarInt(): number;
  };
  const encodeRecord = require('kafkajs/src/protocol/recordBatch/record/v0') as (record: {
    key: Buffer;
    value: Buffer;
    headers: Record<string, Buffer | Buffer[]>;
  }) => { buffer: Buffer };
  const decodeRecord = installedRecordDecoder() as unknown as (
    decoder: InstanceType<typeof Decoder>,
    batchContext: Record<string, unknown>,
  ) => { headers: Record<string, Buffer | Buffer[]> };
  const read = (headers: Record<string, Buffer | Buffer[]>) => {
    const bytes = encodeRecord({ key: Buffer.from('k'), value: Buffer.from('v'), headers }).buffer;
    const decoder = new Decoder(bytes);
    decoder.readVarInt(); // the record's length
    return decodeRecord(decoder, { firstOffset: '0', firstTimestamp: '0', magicByte: 2 }).headers;
  };

  it('when a record has 100,000 headers (half of them one repeated key), then reading it takes milliseconds', () => {
    const headers: Record<string, Buffer | Buffer[]> = {};
    for (let i = 0; i < 50_000; i += 1) headers[`h${i}`] = Buffer.from('v');
    headers['dup'] = Array.from({ length: 50_000 }, () => Buffer.from('x'));
    const started = performance.now();
    const decoded = read(headers);
    // Unpatched, 20,000 distinct headers took 2 minutes.
    assert.ok(performance.now() - started < 2000, `${(performance.now() - started).toFixed(0)} ms`);
    assert.equal(Object.keys(decoded).length, 50_001);
    assert.equal((decoded['dup'] as Buffer[]).length, 50_000);
  });

  it('when headers repeat a key or are named like object properties, then they read as kafkajs always gave them', () => {
    const decoded = read({
      a: Buffer.from('1'),
      b: [Buffer.from('2'), Buffer.from('3')],
      ['__proto__']: Buffer.from('p'),
    });
    assert.deepEqual(decoded['a'], Buffer.from('1'));
    assert.deepEqual(decoded['b'], [Buffer.from('2'), Buffer.from('3')]);
    assert.ok(Object.prototype.hasOwnProperty.call(decoded, '__proto__'), 'an own header, not the prototype');
    assert.equal(Object.getPrototypeOf(decoded), Object.prototype);
  });
});

describe("kafkajs's request queue (patches/kafkajs+2.2.4.patch)", () => {
  it('when a connection has nothing pending, then its queue is not checked again and again', async () => {
    const RequestQueue = installedRequestQueue();
    const logger = {
      debug: () => undefined,
      info: () => undefined,
      warn: () => undefined,
      error: () => undefined,
    };
    const queue = new RequestQueue({
      instrumentationEmitter: { emit: () => undefined },
      maxInFlightRequests: null,
      requestTimeout: 30_000,
      enforceRequestTimeout: false,
      clientId: 'test',
      broker: 'localhost:9092',
      logger: { namespace: () => logger },
      isConnected: () => true,
    }) as { checkPendingRequests(): void; destroy(): void };
    let checks = 0;
    const check = queue.checkPendingRequests.bind(queue);
    queue.checkPendingRequests = () => {
      checks += 1;
      check();
    };
    // What a fulfilled request does: check the queue, which schedules the next check.
    queue.checkPendingRequests();
    // Unpatched, the check reschedules itself every millisecond: some 100 checks in this window.
    await new Promise((resolve) => setTimeout(resolve, 100));
    queue.destroy();
    assert.ok(checks <= 2, `${checks} checks of an empty queue in 100 ms`);
  });
});

describe("kafkajs's grouping of a send by partition (patches/kafkajs+2.2.4.patch)", () => {
  const require = createRequire(import.meta.url);
  type Grouped = Record<string, { key: string }[]>;
  const group = require('kafkajs/src/producer/groupMessagesPerPartition') as (args: {
    topic: string;
    partitionMetadata: { partitionId: number; leader: number }[];
    messages: { key: string; value: Buffer }[];
    partitioner: (args: { message: { key: string } }) => number;
  }) => Grouped;
  const partitionMetadata = [0, 1, 2].map((partitionId) => ({ partitionId, leader: 1 }));
  const byKey = ({ message }: { message: { key: string } }) => Number(message.key) % 3;

  it('when one send holds 200,000 messages, then grouping them by partition takes milliseconds', () => {
    const messages = Array.from({ length: 200_000 }, (_, i) => ({ key: String(i), value: Buffer.alloc(1) }));
    const started = performance.now();
    const grouped = group({ topic: 't', partitionMetadata, messages, partitioner: byKey });
    // Unpatched, 100,000 messages took 18 s: each message copied its partition's list so far.
    assert.ok(performance.now() - started < 2000, `${(performance.now() - started).toFixed(0)} ms`);
    assert.deepEqual(
      Object.values(grouped).map((list) => list.length),
      [66_667, 66_667, 66_666],
    );
  });

  it('when messages are grouped, then each partition keeps them in the order they were sent', () => {
    const messages = Array.from({ length: 10 }, (_, i) => ({ key: String(i), value: Buffer.alloc(1) }));
    const grouped = group({ topic: 't', partitionMetadata, messages, partitioner: byKey });
    assert.deepEqual(
      Object.fromEntries(Object.entries(grouped).map(([p, list]) => [p, list.map((m) => m.key)])),
      { '0': ['0', '3', '6', '9'], '1': ['1', '4', '7'], '2': ['2', '5', '8'] },
    );
    assert.deepEqual(group({ topic: 't', partitionMetadata: [], messages, partitioner: byKey }), {});
  });
});
