import { createRequire } from 'node:module';
import { UnpatchedClientError } from '../../errors.js';

interface FilterInput {
  readonly messages: readonly {
    offset: string;
    key: Buffer | null;
    isControlRecord: boolean;
    batchContext: { producerId: string; inTransaction: boolean };
  }[];
  readonly abortedTransactions: readonly { producerId: string; firstOffset: string }[];
}
type FilterAbortedMessages = (input: FilterInput) => readonly { offset: string }[];

/**
 * kafkajs 2.2.4 leaks records of aborted transactions to read_committed readers
 * when the broker lists two aborted transactions out of first-offset order,
 * which it does whenever they abort in the opposite order to their start.
 * patches/kafkajs+2.2.4.patch fixes it at install time (postinstall); this
 * replays that case against the installed filter, so an install that skipped
 * the patch (npm ci --ignore-scripts) fails at startup instead of silently
 * double counting.
 */
export function abortedRecordsStayHidden(): boolean {
  const require = createRequire(import.meta.url);
  const filter = require('kafkajs/src/consumer/filterAbortedMessages') as FilterAbortedMessages;
  const record = (offset: string, producerId: string) => ({
    offset,
    key: Buffer.from(offset),
    isControlRecord: false,
    batchContext: { producerId, inTransaction: true },
  });
  const visible = filter({
    messages: [record('0', 'a'), record('1', 'b'), record('2', 'a')],
    // b aborted first, so the broker lists it first.
    abortedTransactions: [
      { producerId: 'b', firstOffset: '1' },
      { producerId: 'a', firstOffset: '0' },
    ],
  });
  return visible.length === 0;
}

export function assertAbortedRecordsStayHidden(): void {
  if (abortedRecordsStayHidden()) return;
  throw new UnpatchedClientError(
    'kafkajs would show records of aborted transactions to read_committed readers, which breaks exactly-once. ' +
      'Reinstall with install scripts enabled (npm ci runs patch-package on postinstall), ' +
      'run "npx patch-package", or set PROCESSING_MODE=at-least-once.',
  );
}
