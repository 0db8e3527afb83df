import { BrokerUnavailableError, OrderSystemError } from '../../errors.js';

/**
 * kafkajs wraps broker errors (retriers wrap them in originalError, others in
 * cause); this finds the broker's error type anywhere in that chain.
 */
export function kafkaErrorType(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; current && depth < 5; depth += 1) {
    if (typeof current !== 'object') return undefined;
    const candidate = current as { type?: unknown; originalError?: unknown; cause?: unknown };
    if (typeof candidate.type === 'string') return candidate.type;
    current = candidate.originalError ?? candidate.cause;
  }
  return undefined;
}

/** Another instance now owns this transactional id: our transaction can never commit. */
export function isFenced(error: unknown): boolean {
  const type = kafkaErrorType(error);
  return (
    type === 'INVALID_PRODUCER_EPOCH' || type === 'PRODUCER_FENCED' || type === 'INVALID_PRODUCER_ID_MAPPING'
  );
}

/**
 * The broker is still finishing an earlier transaction of this id (typically
 * right after a crash or an abort); retrying shortly succeeds.
 */
export function isConcurrentTransaction(error: unknown): boolean {
  const type = kafkaErrorType(error);
  return (
    type === 'CONCURRENT_TRANSACTIONS' ||
    type === 'COORDINATOR_LOAD_IN_PROGRESS' ||
    type === 'NOT_COORDINATOR'
  );
}

/**
 * The broker refused a write to this topic for good, whatever is retried: missing topic, not
 * authorised, record too large, policy. For a dead letter that means the DLQ itself is unwritable.
 */
const TOPIC_REFUSALS = new Set([
  'UNKNOWN_TOPIC_OR_PARTITION',
  'TOPIC_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_TOPIC_EXCEPTION',
  'INVALID_RECORD',
  'POLICY_VIOLATION',
  'INVALID_REQUIRED_ACKS',
]);

export function isTopicRefusal(error: unknown): boolean {
  const type = kafkaErrorType(error);
  return type !== undefined && TOPIC_REFUSALS.has(type);
}

/** The record (batch) is larger than the topic accepts. */
export function isTooLarge(error: unknown): boolean {
  const type = kafkaErrorType(error);
  return type === 'MESSAGE_TOO_LARGE' || type === 'RECORD_LIST_TOO_LARGE';
}

/** The message of a kafkajs error with the broker's error type, for a log line or an error of ours. */
export function describeKafkaError(error: unknown): string {
  const type = kafkaErrorType(error);
  const message = error instanceof Error ? error.message : String(error);
  return type && !message.includes(type) ? `${message} (${type})` : message;
}

/**
 * What a partition waits for after `what` (taking ownership, a transaction) failed with `error`: the
 * error itself when it already names a dependency that is down, else the broker.
 */
export function brokerWait(what: string, error: unknown): OrderSystemError {
  if (error instanceof OrderSystemError && error.handling === 'wait') return error;
  return new BrokerUnavailableError(`${what} failed: ${describeKafkaError(error)}`, { cause: error });
}
