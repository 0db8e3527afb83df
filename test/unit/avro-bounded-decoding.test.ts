import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import avro from 'avsc';
import { avroDecodingIsBounded } from '../../src/adapters/registry/avro-guard.js';
import { varint } from '../helpers/hostile.js';

/**
 * avsc 5.7.9, unpatched, loops for ever or for 2^50 steps on several of these inputs, so each case
 * runs in a worker thread that is terminated after a deadline: on an unpatched library the test
 * fails ("did not finish"), it never hangs the suite. patches/avsc+5.7.9.patch makes each one end,
 * at once, as an invalid record (offset -1), and keeps every valid encoding readable.
 */
const AVSC = createRequire(import.meta.url).resolve('avsc');
const DEADLINE_MS = 3000;

interface Case {
  /** Writer schema of the record; its field `skipped` is not in the reader, so avsc skips it. */
  readonly writer: unknown;
  /** Reader schema; undefined: read with the writer schema itself (no skipping, every item read). */
  readonly reader?: unknown;
  readonly bytes: readonly number[];
}

/** { offset } of decoding `bytes`, or { error } when avsc threw, computed in a worker with a deadline. */
function decodeInWorker(c: Case): Promise<{ offset?: number; error?: string; ms: number }> {
  const source = `
    const { parentPort, workerData } = require('node:worker_threads');
    const avro = require(workerData.avsc);
    const writer = avro.Type.forSchema(workerData.writer);
    const reader = workerData.reader ? avro.Type.forSchema(workerData.reader) : writer;
    const resolver = workerData.reader ? reader.createResolver(writer) : undefined;
    const started = performance.now();
    try {
      const { offset } = reader.decode(Buffer.from(workerData.bytes), 0, resolver);
      parentPort.postMessage({ offset, ms: performance.now() - started });
    } catch (error) {
      parentPort.postMessage({ error: String(error), ms: performance.now() - started });
    }`;
  return new Promise((resolve, reject) => {
    const worker = new Worker(source, { eval: true, workerData: { avsc: AVSC, ...c } });
    const timer = setTimeout(() => {
      void worker.terminate();
      reject(new Error(`did not finish within ${DEADLINE_MS} ms (unpatched avsc?)`));
    }, DEADLINE_MS);
    worker.once('message', (result: { offset?: number; error?: string; ms: number }) => {
      clearTimeout(timer);
      void worker.terminate();
      resolve(result);
    });
    worker.once('error', (error) => {
      clearTimeout(timer);
      reject(error instanceof Error ? error : new Error(String(error)));
    });
  });
}

const record = (fields: { name: string; type: unknown }[]): avro.Schema =>
  ({ type: 'record', name: 'R', fields }) as avro.Schema;
const readerOfX = record([{ name: 'x', type: 'string' }]);
const skipping = (type: unknown) =>
  record([
    { name: 'skipped', type },
    { name: 'x', type: 'string' },
  ]);
/** The bytes of "x": a one-character string, after the skipped field. */
const TAIL = [...varint(1), 0x41];

const HOSTILE: [string, Case][] = [
  [
    'a skipped array whose negative block size points back at its own count',
    {
      writer: skipping({ type: 'array', items: 'int' }),
      reader: readerOfX,
      bytes: [...varint(-1), ...varint(-2), ...TAIL],
    },
  ],
  [
    'a skipped map whose negative block size points back at its own count',
    {
      writer: skipping({ type: 'map', values: 'int' }),
      reader: readerOfX,
      bytes: [...varint(-1), ...varint(-2), ...TAIL],
    },
  ],
  [
    'a skipped array of ints claiming 2^50 items in a few bytes',
    {
      writer: skipping({ type: 'array', items: 'int' }),
      reader: readerOfX,
      bytes: [...varint(2 ** 50), 0x02, 0x00, ...TAIL],
    },
  ],
  [
    'a skipped array of strings claiming 2^50 items',
    {
      writer: skipping({ type: 'array', items: 'string' }),
      reader: readerOfX,
      bytes: [...varint(2 ** 50), ...TAIL],
    },
  ],
  [
    'a skipped map claiming 2^50 entries',
    {
      writer: skipping({ type: 'map', values: 'null' }),
      reader: readerOfX,
      bytes: [...varint(2 ** 50), ...TAIL],
    },
  ],
  [
    'a skipped array of arrays, each claiming 2^40 items',
    {
      writer: skipping({ type: 'array', items: { type: 'array', items: 'long' } }),
      reader: readerOfX,
      bytes: [...varint(3), ...varint(2 ** 40), ...varint(2 ** 40), ...TAIL],
    },
  ],
  [
    'a block count that is an 11-byte varint (Infinity to an unpatched reader)',
    {
      writer: skipping({ type: 'array', items: 'null' }),
      reader: readerOfX,
      bytes: [...Array<number>(160).fill(0xff), 0x01, ...TAIL],
    },
  ],
  [
    'an array of nulls read whole, claiming 2^50 items',
    { writer: { type: 'array', items: 'null' }, bytes: [...varint(2 ** 50), 0x00] },
  ],
  [
    'an array of ints read whole, claiming 2^31 items in 3 bytes',
    { writer: { type: 'array', items: 'int' }, bytes: [...varint(2 ** 31), 0x02, 0x00] },
  ],
  [
    'a map read whole, claiming 2^40 entries',
    { writer: { type: 'map', values: 'int' }, bytes: [...varint(2 ** 40), 0x00] },
  ],
  [
    'a skipped union with a branch index out of range',
    { writer: skipping(['null', 'int']), reader: readerOfX, bytes: [...varint(7), ...TAIL] },
  ],
];

/**
 * A record type that holds its predecessor twice, `depth` times over: D_k = {a: D_k-1, b: D_k-1}, with
 * D_0 = {leaf}. Named types are written once, so the schema grows with `depth` but a value of it
 * holds 2^depth leaves.
 */
function dag(depth: number, leaf: unknown): unknown {
  let type: unknown = { type: 'record', name: 'D0', fields: [{ name: 'leaf', type: leaf }] };
  for (let k = 1; k <= depth; k++)
    type = {
      type: 'record',
      name: `D${k}`,
      fields: [
        { name: 'a', type },
        { name: 'b', type: `D${k - 1}` },
      ],
    };
  return type;
}

/** Cases on which unpatched avsc works for 2^40 steps (hours) though the record is a few bytes. */
const DAG_SCHEMAS: [string, Case, number][] = [
  [
    'a skipped field of a writer schema that nests a record twice in itself 40 levels deep (2^40 nulls in 0 bytes)',
    { writer: skipping(dag(40, 'null')), reader: readerOfX, bytes: [...TAIL] },
    TAIL.length,
  ],
  [
    'the same field with 2^40 booleans, in 5 bytes',
    { writer: skipping(dag(40, 'boolean')), reader: readerOfX, bytes: [1, 0, 1, ...TAIL] },
    -1,
  ],
  [
    'the same field with 2^40 unions, in 5 bytes',
    { writer: skipping(dag(40, ['null', 'int'])), reader: readerOfX, bytes: [0, 0, 0, ...TAIL] },
    -1,
  ],
  [
    'a skipped array of those records',
    {
      writer: skipping({ type: 'array', items: dag(40, ['null', 'int']) }),
      reader: readerOfX,
      bytes: [...varint(1), 0, 0, 0, ...TAIL],
    },
    -1,
  ],
];

describe('avsc decoding in bounded time (patches/avsc+5.7.9.patch)', () => {
  for (const [name, c, offset] of DAG_SCHEMAS) {
    it(`when a record holds ${name}, then decoding ends at once (${offset === -1 ? 'invalid' : 'valid'})`, async () => {
      const result = await decodeInWorker(c);
      assert.equal(result.error, undefined, `threw: ${result.error}`);
      assert.equal(result.offset, offset);
      assert.ok(result.ms < 100, `took ${result.ms.toFixed(1)} ms`);
    });
  }

  for (const [name, c] of HOSTILE) {
    it(`when a record holds ${name}, then decoding ends at once and the record is invalid`, async () => {
      const result = await decodeInWorker(c);
      assert.equal(result.error, undefined, `threw instead of invalidating: ${result.error}`);
      assert.equal(result.offset, -1, 'the record is invalid');
      assert.ok(result.ms < 100, `took ${result.ms.toFixed(1)} ms`);
    });
  }

  it('when a skipped array of nulls claims 2^50 items, then they are skipped in one step (they take no bytes)', async () => {
    const result = await decodeInWorker({
      writer: skipping({ type: 'array', items: 'null' }),
      reader: readerOfX,
      bytes: [...varint(2 ** 50), 0x00, ...TAIL],
    });
    assert.equal(result.offset, varint(2 ** 50).length + 1 + TAIL.length, `offset ${result.offset}`);
    assert.ok(result.ms < 100, `took ${result.ms.toFixed(1)} ms`);
  });

  it('when arrays and maps are valid, in plain and sized blocks, then they decode and skip exactly as before', () => {
    const writer = avro.Type.forSchema(
      skipping({
        type: 'record',
        name: 'Inner',
        fields: [
          { name: 'ints', type: { type: 'array', items: 'int' } },
          { name: 'names', type: { type: 'map', values: 'string' } },
          { name: 'nulls', type: { type: 'array', items: 'null' } },
          { name: 'fixed', type: { type: 'array', items: { type: 'fixed', name: 'F', size: 3 } } },
          { name: 'nested', type: { type: 'array', items: { type: 'array', items: 'long' } } },
        ],
      }),
    );
    const value = {
      skipped: {
        ints: [1, -2, 300_000],
        names: { a: 'x', bb: 'yy' },
        nulls: [null, null, null, null],
        fixed: [Buffer.from('abc'), Buffer.from('def')],
        nested: [[1, 2], [], [3]],
      },
      x: 'A',
    };
    const bytes = writer.toBuffer(value);
    const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v));
    assert.deepEqual(plain(writer.fromBuffer(bytes)), plain(value));
    const reader = avro.Type.forSchema(readerOfX);
    assert.deepEqual({ ...reader.fromBuffer(bytes, reader.createResolver(writer)) }, { x: 'A' });

    // Sized blocks (a negative count, then the block's byte size), as other writers may use them.
    const sizedArray = avro.Type.forSchema(skipping({ type: 'array', items: 'int' }));
    const items = [...varint(3), ...varint(5), ...varint(7)];
    const sized = Buffer.from([...varint(-3), ...varint(items.length), ...items, 0x00, ...TAIL]);
    assert.deepEqual({ ...reader.fromBuffer(sized, reader.createResolver(sizedArray)) }, { x: 'A' });
    assert.deepEqual((sizedArray.fromBuffer(sized) as { skipped: number[] }).skipped, [3, 5, 7]);
  });

  it('when arrays and maps are read through a resolver (another writer schema), then they decode as before', () => {
    const cases: [avro.Schema, avro.Schema, unknown, unknown][] = [
      [{ type: 'array', items: 'int' }, { type: 'array', items: 'long' }, [1, -2, 300_000], [1, -2, 300_000]],
      [{ type: 'array', items: 'float' }, { type: 'array', items: 'double' }, [0.5, 2], [0.5, 2]],
      [
        { type: 'map', values: 'int' },
        { type: 'map', values: 'long' },
        { a: 1, b: 2 },
        { a: 1, b: 2 },
      ],
      [
        { type: 'array', items: 'string' },
        { type: 'array', items: 'bytes' },
        ['x', 'yz'],
        [Buffer.from('x'), Buffer.from('yz')],
      ],
    ];
    for (const [writerSchema, readerSchema, value, expected] of cases) {
      const writer = avro.Type.forSchema(writerSchema);
      const reader = avro.Type.forSchema(readerSchema);
      assert.deepEqual(reader.fromBuffer(writer.toBuffer(value), reader.createResolver(writer)), expected);
    }
  });

  it('when a resolved array claims more items than its bytes hold, then it is invalid at once', async () => {
    const result = await decodeInWorker({
      writer: { type: 'array', items: 'float' },
      reader: { type: 'array', items: 'double' },
      bytes: [...varint(2 ** 40), 0x00, 0x00, 0x80, 0x3f, 0x00],
    });
    assert.deepEqual([result.offset, result.error], [-1, undefined]);
  });

  it('when a 10-byte varint is valid, then it still reads, and an 11-byte one is refused', () => {
    const long = avro.Type.forSchema('long');
    // 0, padded with continuation bytes: legal (if wasteful) up to the 10 bytes of a 64-bit varint.
    const padded = (bytes: number) => Buffer.from([...Array<number>(bytes - 1).fill(0x80), 0x00]);
    assert.deepEqual(long.decode(padded(10), 0), { value: 0, offset: 10 });
    assert.equal(long.decode(padded(11), 0).offset, -1);
  });

  it('when the consumer starts, then its check finds the patch installed', () => {
    assert.equal(avroDecodingIsBounded(), true);
  });
});
