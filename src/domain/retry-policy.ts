export interface RetryPolicy {
  /** Retries after the first attempt; attempts in all = 1 + maxRetries. */
  readonly maxRetries: number;
  readonly backoffMs: number;
  readonly strategy: 'fixed' | 'exponential';
  readonly maxBackoffMs: number;
  /** Fraction of random spread around each delay, 0..1. */
  readonly jitter: number;
}

export type RetryDecision =
  { readonly action: 'retry'; readonly delayMs: number } | { readonly action: 'dead-letter' };

/**
 * What to do after attempt number `attempt` (1-based) failed. Permanent
 * failures are dead-lettered at once; transient ones are retried until the
 * budget is spent. `random` is injectable so the schedule is testable.
 */
export function decideAfterFailure(
  policy: RetryPolicy,
  attempt: number,
  retriable: boolean,
  random: () => number = Math.random,
): RetryDecision {
  if (!retriable || attempt > policy.maxRetries) return { action: 'dead-letter' };
  return { action: 'retry', delayMs: backoffDelayMs(policy, attempt, random) };
}

/** Delay before retry number `retry` (1-based). */
export function backoffDelayMs(
  policy: RetryPolicy,
  retry: number,
  random: () => number = Math.random,
): number {
  const base =
    policy.strategy === 'exponential' ? policy.backoffMs * 2 ** Math.max(0, retry - 1) : policy.backoffMs;
  const capped = Math.min(base, policy.maxBackoffMs);
  if (policy.jitter === 0) return capped;
  const spread = capped * policy.jitter;
  return Math.max(0, Math.round(capped - spread + random() * 2 * spread));
}

/** Room left after the last record for sending the aggregate and offsets and ending the transaction. */
export const COMMIT_MARGIN_MS = 5000;

/**
 * How long a transaction may take new records: a record started before this
 * still finishes its attempt, and the commit follows, inside the broker's
 * transaction timeout. Zero or less means the timeout is too short.
 */
export function transactionCloseAfterMs(transactionTimeoutMs: number, longestAttemptMs: number): number {
  return transactionTimeoutMs - longestAttemptMs - COMMIT_MARGIN_MS;
}
