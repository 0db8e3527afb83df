import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  backoffDelayMs,
  decideAfterFailure,
  transactionCloseAfterMs,
  type RetryPolicy,
} from '../../src/domain/retry-policy.js';

const fixed: RetryPolicy = {
  maxRetries: 3,
  backoffMs: 2000,
  strategy: 'fixed',
  maxBackoffMs: 30_000,
  jitter: 0,
};

describe('retry policy', () => {
  it('when a transient failure happens within the budget, then it is retried after the backoff', () => {
    for (const attempt of [1, 2, 3]) {
      assert.deepEqual(decideAfterFailure(fixed, attempt, true), { action: 'retry', delayMs: 2000 });
    }
  });

  it('when the last attempt (1 + MAX_RETRIES) fails, then the record is dead-lettered', () => {
    assert.deepEqual(decideAfterFailure(fixed, 4, true), { action: 'dead-letter' });
  });

  it('when the failure is permanent, then it is dead-lettered at once, with no retry', () => {
    assert.deepEqual(decideAfterFailure(fixed, 1, false), { action: 'dead-letter' });
  });

  it('when MAX_RETRIES is 0, then a transient failure is dead-lettered after one attempt', () => {
    assert.deepEqual(decideAfterFailure({ ...fixed, maxRetries: 0 }, 1, true), { action: 'dead-letter' });
  });

  it('when the strategy is exponential, then delays double and stop at the cap', () => {
    const exp: RetryPolicy = { ...fixed, strategy: 'exponential', backoffMs: 1000, maxBackoffMs: 5000 };
    assert.deepEqual(
      [1, 2, 3, 4, 5].map((r) => backoffDelayMs(exp, r)),
      [1000, 2000, 4000, 5000, 5000],
    );
  });

  it('when jitter is set, then delays stay within ±jitter of the base', () => {
    const jittered: RetryPolicy = { ...fixed, jitter: 0.2 };
    assert.equal(
      backoffDelayMs(jittered, 1, () => 0),
      1600,
    );
    assert.equal(
      backoffDelayMs(jittered, 1, () => 0.5),
      2000,
    );
    assert.equal(
      backoffDelayMs(jittered, 1, () => 0.999999),
      2400,
    );
  });

  it('when a transaction has a 60 s timeout and an attempt can take 5 s, then it takes new records for 50 s (5 s kept to commit)', () => {
    assert.equal(transactionCloseAfterMs(60_000, 5000), 50_000);
  });
});
