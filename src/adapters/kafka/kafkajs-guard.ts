import { createRequire } from 'node:module';
import { UnpatchedClientError } from '../../errors.js';

const require = createRequire(import.meta.url);

type Murmur2 = (key: Buffer | string) => number;

/** The murmur2 of kafkajs's default (Java-compatible) partitioner, as installed. */
export function installedMurmur2(): Murmur2 {
  return require('kafkajs/src/producer/partitioners/default/murmur2') as Murmur2;
}

/** kafkajs's decoder of one record of a record batch, as installed. */
export function installedRecordDecoder(): (...args: never[]) => unknown {
  return require('kafkajs/src/protocol/recordBatch/record/v0/decoder') as (...args: never[]) => unknown;
}

/**
 * Two kafkajs 2.2.4 functions take time quadratic in what a hostile client controls, and
 * patches/kafkajs+2.2.4.patch makes both linear, with the same results:
 * - the default partitioner hashes a key with BigInt-based Longs that are never cut back to 32 bits:
 *   a dead letter keeping a hostile 500 KB key took 50 s to send;
 * - the record decoder copies the whole header object for each header: a record with 20,000
 *   headers took 2 minutes to read, in every consumer of the topic.
 * Patched and unpatched differ in time only, and timing a startup check would be flaky, so this reads
 * how the installed functions compute.
 */
export function kafkajsIsLinear(): { partitioner: boolean; headers: boolean } {
  return {
    partitioner: installedMurmur2().toString().includes('Math.imul'),
    headers: installedRecordDecoder()
      .toString()
      .includes('Object.prototype.hasOwnProperty.call(headers, key)'),
  };
}

export function assertKafkajsIsLinear(): void {
  const { partitioner, headers } = kafkajsIsLinear();
  if (partitioner && headers) return;
  const slow = [partitioner ? '' : 'hash a hostile key', headers ? '' : 'read a record with many headers']
    .filter(Boolean)
    .join(' and ');
  throw new UnpatchedClientError(
    `kafkajs would take minutes to ${slow}. Reinstall with install scripts enabled ` +
      '(npm ci runs patch-package on postinstall), or run "npx patch-package".',
  );
}
