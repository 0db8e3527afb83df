import { createRequire } from 'node:module';
import { UnpatchedClientError } from '../../errors.js';

type Murmur2 = (key: Buffer | string) => number;

/** The murmur2 of kafkajs's default (Java-compatible) partitioner, as installed. */
export function installedMurmur2(): Murmur2 {
  const require = createRequire(import.meta.url);
  return require('kafkajs/src/producer/partitioners/default/murmur2') as Murmur2;
}

/**
 * kafkajs 2.2.4's default partitioner hashes a key with BigInt-based Longs that are never cut back to
 * 32 bits, so hashing takes time quadratic in the key's length: a dead letter keeping a hostile
 * 500 KB key took 50 s to send. patches/kafkajs+2.2.4.patch computes it in 32-bit integer arithmetic,
 * as Java does, with the same results. The two differ in time only, and timing a startup check would
 * be flaky, so this reads how the installed function computes.
 */
export function partitionerIsLinear(): boolean {
  return installedMurmur2().toString().includes('Math.imul');
}

export function assertPartitionerIsLinear(): void {
  if (partitionerIsLinear()) return;
  throw new UnpatchedClientError(
    "kafkajs's partitioner would take minutes to hash a hostile key. Reinstall with install scripts enabled " +
      '(npm ci runs patch-package on postinstall), or run "npx patch-package".',
  );
}
