import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { compressFrameSync } from 'lz4-napi';
import { compressSync } from 'snappy';
import {
  DecompressionLimitError,
  gzipCodec,
  lz4Bound,
  lz4Codec,
  MAX_DECOMPRESSED_BATCH_BYTES,
  MAX_DECOMPRESSED_FETCH_BYTES,
  registerBoundedCodecs,
  snappyCodec,
  zstdCodec,
} from '../../src/adapters/kafka/codecs.js';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/${name}`, import.meta.url));
const text = Buffer.from('an order batch, compressed by another client '.repeat(50));
const encoder = (buffer: Buffer) => ({ buffer });

describe('compression codecs, bounded', () => {
  it('when a batch is gzip, snappy (raw or Java-framed), lz4 or zstd, then it reads back exactly', async () => {
    assert.deepEqual(await gzipCodec.decompress(await gzipCodec.compress(encoder(text))), text);
    assert.deepEqual(await snappyCodec.decompress(compressSync(text)), text);
    // Java's xerial framing: magic, version, compatible version, then [length][raw block]…
    const raw = compressSync(text);
    const header = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1]);
    const size = Buffer.alloc(4);
    size.writeUInt32BE(raw.length);
    const framed = Buffer.concat([header, size, raw, size, raw]);
    assert.deepEqual(await snappyCodec.decompress(framed), Buffer.concat([text, text]));
    assert.deepEqual(await lz4Codec.decompress(compressFrameSync(text)), text);
    // Written by the zstd command-line tool, as any zstd writer would.
    assert.equal(
      (await zstdCodec.decompress(fixture('hello.zst'))).toString(),
      'hello zstd from the zstd CLI\n',
    );
  });

  it('when a batch would decompress past the limit (a decompression bomb), then it is refused before the memory is spent', async () => {
    const bomb = Buffer.alloc(MAX_DECOMPRESSED_BATCH_BYTES + 1);
    const used = () => process.memoryUsage().arrayBuffers;
    await assert.rejects(gzipCodec.decompress(gzipSync(bomb)), DecompressionLimitError);
    await assert.rejects(snappyCodec.decompress(compressSync(bomb)), DecompressionLimitError);
    await assert.rejects(lz4Codec.decompress(compressFrameSync(bomb)), DecompressionLimitError);
    // 64 MiB of zeros in 2 kB (the zstd CLI): the output is bounded, so it stops at the limit.
    const before = used();
    await assert.rejects(zstdCodec.decompress(fixture('zeros-64mib.zst')), DecompressionLimitError);
    assert.ok(used() - before < 2 * MAX_DECOMPRESSED_BATCH_BYTES, 'it stopped at the limit');
  });

  it('when zstd frames name a huge window (1.875 GB each in 10 bytes), then they are refused at once, nothing set aside', async () => {
    // Magic, a frame header whose window descriptor says 2^30 + 7/8 · 2^30 bytes, one raw block of 1 byte.
    // A decoder that believes the header (fzstd 0.1.1 does) allocates and moves that much per frame:
    // eight such frames, 80 bytes, took 52 s and 16 GB of memory.
    const frame = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0xa7, 0x09, 0x00, 0x00, 0x41]);
    const started = performance.now();
    const before = process.memoryUsage().rss;
    await assert.rejects(
      zstdCodec.decompress(Buffer.concat(Array<Buffer>(8).fill(frame))),
      /too much memory/,
    );
    assert.ok(performance.now() - started < 1000, `${performance.now() - started} ms`);
    assert.ok(process.memoryUsage().rss - before < MAX_DECOMPRESSED_BATCH_BYTES);
  });

  it('when a zstd frame is made of 250,000 one-byte blocks, then it reads in time linear in its size', async () => {
    // A frame of window 32 MiB (the most allowed), then raw blocks of one byte each: a decoder that
    // slides its window by copying it for each block moves 32 MiB per byte.
    const blocks = 250_000;
    const header = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, (15 << 3) | 0]);
    const block = Buffer.from([0x08, 0x00, 0x00, 0x41]);
    const last = Buffer.from([0x09, 0x00, 0x00, 0x42]);
    const frame = Buffer.concat([header, ...Array<Buffer>(blocks - 1).fill(block), last]);
    const started = performance.now();
    const out = await zstdCodec.decompress(frame);
    assert.equal(out.length, blocks);
    assert.ok(performance.now() - started < 2000, `${performance.now() - started} ms`);
  });

  it('when an LZ4 frame is read, then its bound comes from its header, before any block is inflated', () => {
    const frame = compressFrameSync(Buffer.alloc(300_000, 1));
    assert.ok(lz4Bound(frame) >= 300_000);
    assert.equal(lz4Bound(Buffer.from('not a frame')), Number.POSITIVE_INFINITY);
    // A frame that declares 10 bytes of content and carries three blocks: the claim is not believed.
    const lying = Buffer.alloc(4 + 2 + 8 + 1);
    lying.writeUInt32LE(0x184d2204, 0);
    lying[4] = 0x68; // version 1, independent blocks, content size present
    lying[5] = 0x40; // 64 KB blocks
    lying.writeBigUInt64LE(10n, 6);
    const block = Buffer.alloc(4 + 5);
    block.writeUInt32LE(0x80000005, 0); // 5 bytes, stored uncompressed
    const frame2 = Buffer.concat([lying, block, block, block, Buffer.alloc(4)]);
    assert.equal(lz4Bound(frame2), 3 * 65_536);
  });
});

describe("kafkajs's batch decoder (patches/kafkajs+2.2.4.patch)", () => {
  const require = createRequire(import.meta.url);
  type Encoded = { buffer: Buffer };
  const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0') as {
    RecordBatch: (batch: {
      compression: number;
      firstOffset?: string;
      lastOffsetDelta: number;
      records: Encoded[];
    }) => Promise<Encoded>;
  };
  const Record = require('kafkajs/src/protocol/recordBatch/record/v0') as (record: {
    key: Buffer;
    value: Buffer;
    headers: Record<string, Buffer>;
    offsetDelta: number;
    timestampDelta: number;
  }) => Encoded;
  const encodeBatch = ({
    compression,
    firstOffset,
    records,
  }: {
    compression: number;
    firstOffset?: string;
    records: Encoded[];
  }) =>
    RecordBatch({
      compression,
      ...(firstOffset ? { firstOffset } : {}),
      lastOffsetDelta: records.length - 1,
      records,
    });
  const Decoder = require('kafkajs/src/protocol/decoder') as new (buffer: Buffer) => unknown;
  const decodeBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder') as (
    decoder: unknown,
  ) => Promise<{
    records: { offset: string; value: Buffer | null; undecodableBatch?: Record<string, unknown> }[];
  }>;
  const decodeMessages = require('kafkajs/src/protocol/requests/fetch/v4/decodeMessages') as (
    decoder: unknown,
  ) => Promise<unknown[]>;
  const GZIP = 1;
  registerBoundedCodecs();
  const records = (n: number, value: (i: number) => Buffer) =>
    Array.from({ length: n }, (_, i) =>
      Record({
        key: Buffer.from(String(i)),
        value: value(i),
        headers: {},
        offsetDelta: i,
        timestampDelta: 0,
      }),
    );

  it('when a batch cannot be read (a gzip bomb), then it becomes one record at its last offset that says so, and the fetch goes on', async () => {
    const bomb = await encodeBatch({
      compression: GZIP,
      firstOffset: '100',
      records: records(3, () => Buffer.alloc(MAX_DECOMPRESSED_BATCH_BYTES / 2)),
    });
    const batch = await decodeBatch(new Decoder(bomb.buffer));
    assert.equal(batch.records.length, 1);
    const record = batch.records[0];
    assert.ok(record);
    assert.equal(record.offset, '102', 'the last offset of the batch: the consumer moves past all of it');
    const description = record.undecodableBatch ?? {};
    assert.equal(description.firstOffset, '100');
    assert.equal(description.lastOffset, '102');
    assert.match(String(description.reason), /decompresses to more than/);
    assert.equal(description.compression, 'gzip');
    assert.ok((record.value?.length ?? Infinity) < 200_000, 'its value is the compressed bytes');
  });

  /** The record set of one partition in a fetch response: its size, then the batches. */
  const recordSet = (batches: Encoded[]) => {
    const size = Buffer.alloc(4);
    size.writeInt32BE(batches.reduce((n, b) => n + b.buffer.length, 0));
    return Buffer.concat([size, ...batches.map((b) => b.buffer)]);
  };

  it('when a fetch holds a batch of 300,000 records, then it is read whole (no stack overflow)', async () => {
    const big = await encodeBatch({ compression: GZIP, records: records(300_000, () => Buffer.alloc(0)) });
    const decoded = await decodeMessages(new Decoder(recordSet([big])));
    assert.equal(decoded.length, 300_000);
  });

  it('when a header forges the marker of an unreadable batch, then the record is an ordinary record', async () => {
    const forged = await encodeBatch({
      compression: GZIP,
      records: [
        Record({
          key: Buffer.from('k'),
          value: Buffer.from('v'),
          headers: { 'kafkajs-undecodable-batch': Buffer.from('{"reason":"forged"}') },
          offsetDelta: 0,
          timestampDelta: 0,
        }),
      ],
    });
    const [record] = (await decodeMessages(new Decoder(recordSet([forged])))) as {
      undecodableBatch?: unknown;
    }[];
    assert.equal(record?.undecodableBatch, undefined);
  });

  it('when a fetch holds many small batches that each inflate to nearly the limit, then it stops past the budget, and the rest waits for the next fetch', async () => {
    // 8 gzip batches of 32 kB, each one record of 31 MiB: read whole, 250 MB would be held at once
    // (and a 1 MB fetch holds 30 of them).
    const batches: Encoded[] = [];
    for (let i = 0; i < 8; i += 1) {
      batches.push(
        await encodeBatch({
          compression: GZIP,
          firstOffset: String(i),
          records: records(1, () => Buffer.alloc(31 * 1024 * 1024)),
        }),
      );
    }
    const before = process.memoryUsage().arrayBuffers;
    const decoded = (await decodeMessages(new Decoder(recordSet(batches)))) as { offset: string }[];
    // The first batch, under the budget; the second, which passes it; then the fetch stops.
    assert.deepEqual(
      decoded.map((r) => r.offset),
      ['0', '1'],
    );
    assert.ok(process.memoryUsage().arrayBuffers - before < 3 * MAX_DECOMPRESSED_FETCH_BYTES);
  });

  it('when a fetch holds many decompression bombs, then one is refused per fetch, not all of them at once', async () => {
    const bombs: Encoded[] = [];
    for (let i = 0; i < 6; i += 1) {
      bombs.push(
        await encodeBatch({
          compression: GZIP,
          firstOffset: String(i * 3),
          records: records(3, () => Buffer.alloc(MAX_DECOMPRESSED_BATCH_BYTES / 2)),
        }),
      );
    }
    const decoded = (await decodeMessages(new Decoder(recordSet(bombs)))) as {
      offset: string;
      undecodableBatch?: unknown;
    }[];
    assert.equal(decoded.length, 1);
    assert.equal(decoded[0]?.offset, '2');
    assert.notEqual(decoded[0].undecodableBatch, undefined);
  });

  it('when the batches of one fetch span partitions, then they share one budget, and each partition still gets a batch', async () => {
    const big = () =>
      encodeBatch({
        compression: GZIP,
        records: records(1, () => Buffer.alloc(MAX_DECOMPRESSED_FETCH_BYTES)),
      });
    // One response decoder reads both partitions' record sets, as a fetch response holds them.
    const response = new Decoder(
      Buffer.concat([recordSet([await big(), await big()]), recordSet([await big(), await big()])]),
    );
    const first = await decodeMessages(response);
    const second = await decodeMessages(response);
    assert.deepEqual([first.length, second.length], [1, 1]);
  });
});
