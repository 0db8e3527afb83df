import { createRequire } from 'node:module';
import { UnpatchedClientError } from '../../errors.js';

const require = createRequire(import.meta.url);

type Installed = (...args: never[]) => unknown;
type Murmur2 = (key: Buffer | string) => number;

/** The murmur2 of kafkajs's default (Java-compatible) partitioner, as installed. */
export function installedMurmur2(): Murmur2 {
  return require('kafkajs/src/producer/partitioners/default/murmur2') as Murmur2;
}

/** kafkajs's decoder of one record of a record batch, as installed. */
export function installedRecordDecoder(): Installed {
  return require('kafkajs/src/protocol/recordBatch/record/v0/decoder') as Installed;
}

/** kafkajs's decoders of a record batch, and of the batches of one partition of a fetch, as installed. */
export function installedBatchDecoders(): { batch: Installed; partition: Installed } {
  return {
    batch: require('kafkajs/src/protocol/recordBatch/v0/decoder') as Installed,
    partition: require('kafkajs/src/protocol/requests/fetch/v4/decodeMessages') as Installed,
  };
}

/** kafkajs's per-connection request queue, as installed. */
export function installedRequestQueue(): new (options: Record<string, unknown>) => unknown {
  return require('kafkajs/src/network/requestQueue') as new (options: Record<string, unknown>) => unknown;
}

/**
 * What a hostile client can write that kafkajs 2.2.4 does not survive, each fixed by
 * patches/kafkajs+2.2.4.patch, with the same results for every record it could already read:
 * - the default partitioner hashes a key with BigInt-based Longs that are never cut back to 32 bits:
 *   a dead letter keeping a hostile 500 KB key took 50 s to send;
 * - the record decoder copies the whole header object for each header: a record with 20,000
 *   headers took 2 minutes to read, in every consumer of the topic;
 * - a batch that cannot be read (a codec kafkajs lacks, a decompression bomb) failed the whole fetch
 *   and crashed the consumer for good; it now becomes one record that the consumer dead-letters;
 * - a batch of some 100,000 records overflowed the stack (one argument per record);
 * - a fetch of many small batches that each inflate to the limit held them all in memory at once;
 * and, not hostile but always there: every connection checked its empty request queue every
 * millisecond, for ever (a Node 24 warning each time).
 * Patched and unpatched differ in time, or in what happens on a failure, and a startup check that
 * timed or crashed something would be flaky, so this reads how the installed functions compute.
 */
export function kafkajsIsHardened(): {
  partitioner: boolean;
  headers: boolean;
  unreadableBatches: boolean;
  largeBatches: boolean;
  fetchBudget: boolean;
  idleQueues: boolean;
} {
  const { batch, partition } = installedBatchDecoders();
  return {
    partitioner: installedMurmur2().toString().includes('Math.imul'),
    headers: installedRecordDecoder()
      .toString()
      .includes('Object.prototype.hasOwnProperty.call(headers, key)'),
    unreadableBatches: batch.toString().includes('undecodableBatchRecord('),
    largeBatches: partition
      .toString()
      .includes('for (const record of recordBatch.records) records.push(record)'),
    fetchBudget: partition.toString().includes('decodeMessages.maxDecompressedBytesPerFetch'),
    idleQueues: String(
      (installedRequestQueue().prototype as { scheduleCheckPendingRequests?: unknown })
        .scheduleCheckPendingRequests,
    ).includes('} else if (scheduleAt <= 0) {'),
  };
}

const WHAT_FAILS = {
  partitioner: 'take minutes to hash a hostile key',
  headers: 'take minutes to read a record with many headers',
  unreadableBatches: 'crash on a batch it cannot decompress',
  largeBatches: 'fail on a batch of many records',
  fetchBudget: 'inflate a whole fetch of decompression bombs at once',
  idleQueues: 'poll every idle connection every millisecond',
} as const;

export function assertKafkajsIsHardened(): void {
  const failing = Object.entries(kafkajsIsHardened())
    .filter(([, ok]) => !ok)
    .map(([name]) => WHAT_FAILS[name as keyof typeof WHAT_FAILS]);
  if (failing.length === 0) return;
  throw new UnpatchedClientError(
    `kafkajs would ${failing.join(', ')}. Reinstall with install scripts enabled ` +
      '(npm ci runs patch-package on postinstall), or run "npx patch-package".',
  );
}
