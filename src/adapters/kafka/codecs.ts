import { promisify } from 'node:util';
import { createRequire } from 'node:module';
import zlib from 'node:zlib';
import kafkajs from 'kafkajs';
import { compressFrameSync as lz4Compress, decompressFrameSync as lz4Decompress } from 'lz4-napi';
import { compressSync as snappyCompress, uncompressSync as snappyUncompress } from 'snappy';

// kafkajs is CommonJS, and Node's ESM loader sees only some of its named exports: these come from the default.
const { CompressionCodecs, CompressionTypes } = kafkajs;
const require = createRequire(import.meta.url);

/**
 * The most bytes one record batch may decompress to. A batch is at most max.message.bytes compressed
 * (1 MB by default), and real batches compress a few times; gzip and zstd can expand a megabyte into
 * gigabytes. A batch beyond this cannot be read: the consumer dead-letters it as one record
 * (KOS_BATCH_UNREADABLE, see patches/kafkajs+2.2.4.patch) instead of running out of memory.
 */
export const MAX_DECOMPRESSED_BATCH_BYTES = 32 * 1024 * 1024;

/**
 * The most bytes the batches of one fetch response may decompress to before the rest of it is left for
 * the next fetch (at least one batch per partition is always read). Records keep their batch's buffer
 * alive until they are processed, so this, not the per-batch limit alone, bounds a consumer's memory:
 * about this plus one batch per partition of the fetch.
 */
export const MAX_DECOMPRESSED_FETCH_BYTES = MAX_DECOMPRESSED_BATCH_BYTES;

/** A batch that would decompress past MAX_DECOMPRESSED_BATCH_BYTES. */
export class DecompressionLimitError extends RangeError {
  /** What inflating it cost before it was refused, for the fetch's budget (patches/kafkajs+2.2.4.patch). */
  readonly decompressedBytes: number;

  constructor(codec: string, limit = MAX_DECOMPRESSED_BATCH_BYTES, spent = limit) {
    super(`a ${codec} record batch decompresses to more than ${limit} bytes`);
    this.name = 'DecompressionLimitError';
    this.decompressedBytes = spent;
  }
}

interface Codec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

const gzip = promisify(zlib.gzip);
const unzip = promisify(zlib.unzip);

/** gzip, as kafkajs has it, with the output bounded. */
export const gzipCodec: Codec = {
  compress: (encoder) => gzip(encoder.buffer),
  async decompress(buffer) {
    try {
      return await unzip(buffer, { maxOutputLength: MAX_DECOMPRESSED_BATCH_BYTES });
    } catch (error) {
      if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE')
        throw new DecompressionLimitError('gzip');
      throw error;
    }
  },
};

/** Java's (xerial) framing of snappy blocks: a 16-byte header, then [int32 length][raw snappy block]... */
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);

/** The uncompressed length a raw snappy block declares: its leading varint. */
function snappyLength(block: Buffer): number {
  let value = 0;
  for (let i = 0, scale = 1; i < 5 && i < block.length; i += 1, scale *= 128) {
    const byte = block[i] ?? 0;
    value += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) return value;
  }
  return Number.POSITIVE_INFINITY;
}

/** snappy, raw (librdkafka) or in Java's framing, with the declared sizes checked before anything is inflated. */
export const snappyCodec: Codec = {
  compress: (encoder) => Promise.resolve(snappyCompress(encoder.buffer)),
  decompress(buffer) {
    const blocks: Buffer[] = [];
    if (buffer.length >= 16 && buffer.subarray(0, 8).equals(XERIAL_MAGIC)) {
      for (let pos = 16; pos + 4 <= buffer.length;) {
        const size = buffer.readUInt32BE(pos);
        blocks.push(buffer.subarray(pos + 4, pos + 4 + size));
        pos += 4 + size;
      }
    } else blocks.push(buffer);
    const total = blocks.reduce((n, b) => n + snappyLength(b), 0);
    if (total > MAX_DECOMPRESSED_BATCH_BYTES)
      return Promise.reject(new DecompressionLimitError('snappy', MAX_DECOMPRESSED_BATCH_BYTES, 0));
    return Promise.resolve(Buffer.concat(blocks.map((b) => snappyUncompress(b) as Buffer)));
  },
};

/** The block sizes an LZ4 frame's block-descriptor byte can name (bits 4–6: 4 = 64 KB … 7 = 4 MB). */
const LZ4_BLOCK_SIZES: Readonly<Record<number, number>> = {
  4: 65_536,
  5: 262_144,
  6: 1_048_576,
  7: 4_194_304,
};

/**
 * The most an LZ4 frame can inflate to, from its headers alone: its number of blocks times its block
 * size (no block inflates past it). The content size a frame may declare is not believed: a decoder
 * checks it only at the end, after inflating everything. Infinity when the frame is not one.
 */
export function lz4Bound(frame: Buffer): number {
  if (frame.length < 7 || frame.readUInt32LE(0) !== 0x184d2204) return Number.POSITIVE_INFINITY;
  const flags = frame[4] ?? 0;
  const blockSize = LZ4_BLOCK_SIZES[((frame[5] ?? 0) >> 4) & 0x07] ?? Number.POSITIVE_INFINITY;
  const blockChecksums = (flags & 0x10) !== 0;
  // Magic, FLG, BD, then the content size (8 bytes) and the dictionary id (4) when flagged, then HC.
  let pos = 6 + (flags & 0x08 ? 8 : 0) + (flags & 0x01 ? 4 : 0) + 1;
  let blocks = 0;
  while (pos + 4 <= frame.length) {
    const size = frame.readUInt32LE(pos) & 0x7fffffff;
    if (size === 0) break; // the end mark
    pos += 4 + size + (blockChecksums ? 4 : 0);
    blocks += 1;
  }
  return blocks * blockSize;
}

/** LZ4 frames (Kafka's format), refused before inflating when their bound is past the limit. */
export const lz4Codec: Codec = {
  compress: (encoder) => Promise.resolve(lz4Compress(encoder.buffer)),
  decompress(buffer) {
    if (lz4Bound(buffer) > MAX_DECOMPRESSED_BATCH_BYTES)
      return Promise.reject(new DecompressionLimitError('lz4', MAX_DECOMPRESSED_BATCH_BYTES, 0));
    return Promise.resolve(lz4Decompress(buffer));
  },
};

/**
 * The largest zstd window a batch may ask for, as log2: 32 MiB, MAX_DECOMPRESSED_BATCH_BYTES (a window
 * larger than the whole output serves nothing). A frame's header names its window; a decoder that
 * believed a hostile one would set aside up to 2 GB for a 10-byte frame.
 */
const ZSTD_WINDOW_LOG_MAX = Math.log2(MAX_DECOMPRESSED_BATCH_BYTES);

// Node's own libzstd (zlib, Node >= 22.15): the reference decoder, bounded in output and window.
const zstdDecompress = typeof zlib.zstdDecompress === 'function' ? promisify(zlib.zstdDecompress) : undefined;

/** zstd, read only (we never write it), with the output and the window bounded. */
export const zstdCodec: Codec = {
  compress: () => Promise.reject(new Error('zstd is read, never written, by this application')),
  async decompress(buffer) {
    // assertCodecsAvailable() keeps a consumer from starting without it.
    if (!zstdDecompress) throw new Error(`zstd needs Node >= 22.15; this is Node ${process.version}`);
    try {
      return await zstdDecompress(buffer, {
        maxOutputLength: MAX_DECOMPRESSED_BATCH_BYTES,
        params: { [zlib.constants.ZSTD_d_windowLogMax]: ZSTD_WINDOW_LOG_MAX },
      });
    } catch (error) {
      if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE')
        throw new DecompressionLimitError('zstd');
      throw error;
    }
  },
};

/**
 * Gives kafkajs a reader for every compression codec Kafka has, each bounded: kafkajs 2.2.4 reads only
 * gzip (unbounded), and any snappy, lz4 or zstd batch, as the Java client and librdkafka write them,
 * crashed the consumer for good. Also bounds what one fetch response may decompress
 * (MAX_DECOMPRESSED_FETCH_BYTES). Idempotent; kafkajs keeps its codecs in a module-wide table.
 */
export function registerBoundedCodecs(): void {
  const table = CompressionCodecs as unknown as Record<number, () => Codec>;
  table[CompressionTypes.GZIP] = () => gzipCodec;
  table[CompressionTypes.Snappy] = () => snappyCodec;
  table[CompressionTypes.LZ4] = () => lz4Codec;
  table[CompressionTypes.ZSTD] = () => zstdCodec;
  installedFetchDecoder().maxDecompressedBytesPerFetch = MAX_DECOMPRESSED_FETCH_BYTES;
}

/** kafkajs's decoder of one partition's batches in a fetch response, with its budget (patched). */
export function installedFetchDecoder(): { maxDecompressedBytesPerFetch?: number } {
  return require('kafkajs/src/protocol/requests/fetch/v4/decodeMessages') as {
    maxDecompressedBytesPerFetch?: number;
  };
}

/** Throws unless this Node can read every codec: zstd needs Node's libzstd (Node >= 22.15). */
export function assertCodecsAvailable(): void {
  if (!zstdDecompress) {
    throw new Error(
      `Node ${process.version} cannot read zstd record batches (node:zlib has zstd from Node 22.15): run Node 24, the images' version`,
    );
  }
}
