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
