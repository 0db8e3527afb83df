import type { DecodedDeadLetterHeaders } from '../domain/dead-letter.js';
import type { DlqPosition } from '../domain/redrive.js';

/** Keys are shown, not dumped: a hostile one can be megabytes. */
const MAX_KEY_CHARS = 64;

export function shownKey(key: Buffer | null): string {
  if (key === null) return 'null';
  const text = key.toString('utf8');
  return text.length <= MAX_KEY_CHARS
    ? JSON.stringify(text)
    : `${JSON.stringify(text.slice(0, MAX_KEY_CHARS))}…`;
}

/**
 * One dead letter on one line: where it lies, its code and key, where the original record was and when
 * it failed, e.g. `orders-dlq/0/5 KOS_DOWNSTREAM_TRANSIENT key "1005" from orders/2/7 failed 2026-…Z`.
 */
export function describeDeadLetter(
  position: DlqPosition,
  key: Buffer | null,
  headers: DecodedDeadLetterHeaders,
): string {
  const { originalTopic, originalPartition, originalOffset } = headers;
  return (
    `${position.topic}/${position.partition}/${position.offset} ${headers.errorCode} key ${shownKey(key)} ` +
    `from ${originalTopic}/${originalPartition}/${originalOffset} failed ${headers.failedAt}`
  );
}
