import { BrokerUnavailableError } from '../../errors.js';

/**
 * `work`, or a BrokerUnavailableError once `ms` have passed. kafkajs retries a request on its own
 * for as long as its retry settings allow; this bounds one write of the consumer, whatever they are,
 * so the time budget of config/time-budget.ts holds. The work itself is not cancelled: a caller in a
 * transaction aborts it (so a late write stays invisible), and at-least-once may then write twice.
 */
export async function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new BrokerUnavailableError(`${what}: no answer from Kafka within ${ms} ms`)),
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
