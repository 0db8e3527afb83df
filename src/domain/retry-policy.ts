import type { Handling } from '../errors.js';

export interface RetryPolicy {
  /** Retries after the first attempt; attempts in all = 1 + maxRetries. */
  readonly maxRetries: number;
  readonly backoffMs: number;
  readonly strategy: 'fixed' | 'exponential';
  readonly maxBackoffMs: number;
  /** Fraction of random spread around each delay, 0..1. */
  readonly jitter: number;
  /** First wait for a dependency that is down; it doubles per wait, up to waitMaxBackoffMs. */
  readonly waitBackoffMs: number;
  readonly waitMaxBackoffMs: number;
}

export type RetryDecision =
  | { readonly action: 'retry'; readonly delayMs: number }
  | { readonly action: 'dead-letter' }
  /** A dependency is down: the record keeps its attempt, its partition waits `delayMs`. */
  | { readonly action: 'wait'; readonly delayMs: number };

/**
 * What to do after attempt number `attempt` (1-based) failed with a failure handled as `handling`.
 * Permanent failures are dead-lettered at once; transient ones are retried until the budget is
 * spent; a dependency that is down costs no attempt, only a wait that grows with `waits`, the
 * waits in a row so far. `random` is injectable so the schedule is testable.
 */
export function decideAfterFailure(
  policy: RetryPolicy,
  attempt: number,
  handling: Handling,
  waits = 0,
  random: () => number = Math.random,
): RetryDecision {
  if (handling === 'wait') return { action: 'wait', delayMs: waitDelayMs(policy, waits + 1, random) };
  if (handling !== 'retry' || attempt > policy.maxRetries) return { action: 'dead-letter' };
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
  return jittered(Math.min(base, policy.maxBackoffMs), policy.jitter, random);
}

/** Delay of wait number `wait` (1-based) for a dependency: capped exponential. */
export function waitDelayMs(policy: RetryPolicy, wait: number, random: () => number = Math.random): number {
  // 2^30 is far past any cap; the exponent stays bounded however long the outage.
  const base = policy.waitBackoffMs * 2 ** Math.min(30, Math.max(0, wait - 1));
  // The cap holds after the jitter too: an operator reads DEPENDENCY_BACKOFF_MAX_MS as the longest wait.
  return Math.min(
    policy.waitMaxBackoffMs,
    jittered(Math.min(base, policy.waitMaxBackoffMs), policy.jitter, random),
  );
}

function jittered(delayMs: number, jitter: number, random: () => number): number {
  if (jitter === 0) return delayMs;
  const spread = delayMs * jitter;
  return Math.max(0, Math.round(delayMs - spread + random() * 2 * spread));
}
