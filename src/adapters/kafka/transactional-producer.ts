import type { Producer } from 'kafkajs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../logger.js';
import { isConcurrentTransaction } from './kafka-errors.js';

const DEFAULT_ATTEMPTS = 20;

/**
 * Connects a transactional producer and runs InitProducerId, which fences every
 * earlier producer of the same transactional id and aborts its open
 * transaction. Right after a crash or an abort the coordinator answers
 * CONCURRENT_TRANSACTIONS until that abort is written; kafkajs gives up on it
 * too early, so we retry with a growing pause.
 */
export async function connectTransactional(
  producer: Producer,
  logger: Logger,
  attempts = DEFAULT_ATTEMPTS,
): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await producer.connect();
      // kafkajs sends the transactional InitProducerId only when the first transaction begins, not on
      // connect. Begin (and locally abort) an empty one now, so the fencing, and the wait for the previous
      // owner's transaction to complete, happen before the caller reads any state.
      const fence = await producer.transaction();
      await fence.abort();
      return;
    } catch (error) {
      await producer.disconnect().catch(() => undefined);
      if (!isConcurrentTransaction(error) || attempt >= attempts) throw error;
      logger.info({ attempt }, 'The previous transaction of this id is still completing; retrying');
      await sleep(Math.min(200 * attempt, 2000));
    }
  }
}
