import { BrokerUnavailableError } from '../../errors.js';

/**
 * A write that got no answer in time. Unlike a refusal, it may still be going on inside kafkajs, and
 * may still land: a transactional producer that had one must not be used again (the caller drops it).
 */
export class KafkaTimeoutError extends BrokerUnavailableError {}

/**
 * `work`, or a KafkaTimeoutError once `ms` have passed. kafkajs retries a request on its own
 * for as long as its retry settings allow; this bounds one write of the consumer, whatever they are,
 * so the time budget of config/time-budget.ts holds. The work itself is not cancelled: a caller in a
 * transaction aborts it (so a late write stays invisible), and at-least-once may then write twice.
 */
export async function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new KafkaTimeoutError(`${what}: no answer from Kafka within ${ms} ms`)),
      ms,
    );
  });
  // A late rejection of the abandoned work must not become an unhandled rejection.
  work.catch(() => undefined);
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}
