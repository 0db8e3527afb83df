import avro from 'avsc';
import { UnpatchedClientError } from '../../errors.js';

/**
 * avsc 5.7.9 trusts the block counts and sizes of arrays and maps: a negative block size moves its
 * reader backwards, and can loop for ever while a writer schema's field is skipped; a huge count
 * loops over items the bytes cannot hold. patches/avsc+5.7.9.patch bounds every block (and every
 * varint, at 10 bytes). It also skips a record of
 * fixed width in one step, so a writer schema that nests a named record twice in itself, level after
 * level, costs one step instead of 2^levels. This replays one case of each against the installed
 * library, cases that end either way, so an install that skipped the patch (npm ci --ignore-scripts)
 * fails at startup instead of hanging on the first hostile record.
 */
export function avroDecodingIsBounded(): boolean {
  const reader = avro.Type.forSchema({ type: 'record', name: 'Probe', fields: [] });
  const writer = avro.Type.forSchema({
    type: 'record',
    name: 'Probe',
    fields: [{ name: 'skipped', type: { type: 'array', items: 'int' } }],
  });
  const resolver = reader.createResolver(writer);
  // From offset 1: a block of -1 items whose size (-3) sends an unpatched reader back to offset 0,
  // where it reads the end of the array and stops, "successfully", at offset 1.
  const backwards = reader.decode(Buffer.from([0x00, 0x01, 0x05]), 1, resolver);
  // Zero, padded to a varint of 11 bytes: longer than any 64-bit long, so not a number at all.
  const overlong = avro.Type.forSchema('long').decode(
    Buffer.from([...Array<number>(10).fill(0x80), 0x00]),
    0,
  );
  return backwards.offset === -1 && overlong.offset === -1 && recordsOfFixedWidthSkipInOneStep();
}

/** Leaves that count their skips: a patched avsc skips a record of them without visiting any. */
class CountedSkips extends avro.types.LogicalType {
  static skips = 0;
  override _fromValue(value: unknown): unknown {
    return value;
  }
  override _toValue(value: unknown): unknown {
    return value;
  }
  // avsc's internal skip (not in its typings); a leaf of type null reads no bytes.
  _skip(): void {
    CountedSkips.skips += 1;
  }
}

function recordsOfFixedWidthSkipInOneStep(): boolean {
  let type: object = {
    type: 'record',
    name: 'D0',
    fields: [{ name: 'leaf', type: { type: 'null', logicalType: 'counted' } }],
  };
  for (let k = 1; k <= 4; k++)
    type = {
      type: 'record',
      name: `D${k}`,
      fields: [
        { name: 'a', type },
        { name: 'b', type: `D${k - 1}` },
      ],
    };
  const reader = avro.Type.forSchema({ type: 'record', name: 'Probe', fields: [] });
  const writer = avro.Type.forSchema(
    { type: 'record', name: 'Probe', fields: [{ name: 'skipped', type }] } as avro.Schema,
    { logicalTypes: { counted: CountedSkips } },
  );
  CountedSkips.skips = 0;
  const { offset } = reader.decode(Buffer.alloc(0), 0, reader.createResolver(writer));
  return offset === 0 && CountedSkips.skips === 0;
}

export function assertAvroDecodingBounded(): void {
  if (avroDecodingIsBounded()) return;
  throw new UnpatchedClientError(
    'avsc would trust the block counts and sizes of hostile records, which can hang the consumer. ' +
      'Reinstall with install scripts enabled (npm ci runs patch-package on postinstall), or run "npx patch-package".',
  );
}
