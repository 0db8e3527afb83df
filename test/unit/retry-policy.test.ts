import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  backoffDelayMs,
  decideAfterFailure,
  waitDelayMs,
  type RetryPolicy,
} from '../../src/domain/retry-policy.js';

const fixed: RetryPolicy = {
  maxRetries: 3,
  backoffMs: 2000,
  strategy: 'fixed',
  maxBackoffMs: 30_000,
  jitter: 0,
  waitBackoffMs: 1000,
  waitMaxBackoffMs: 8000,
};

describe('retry policy', () => {
  it('when a transient failure happens within the budget, then it is retried after the backoff', () => {
    for (const attempt of [1, 2, 3]) {
      assert.deepEqual(decideAfterFailure(fixed, attempt, 'retry'), { action: 'retry', delayMs: 2000 });
    }
  });

  it('when the last attempt (1 + MAX_RETRIES) fails, then the record is dead-lettered', () => {
    assert.deepEqual(decideAfterFailure(fixed, 4, 'retry'), { action: 'dead-letter' });
  });

  it('when the failure is permanent, then it is dead-lettered at once, with no retry', () => {
    assert.deepEqual(decideAfterFailure(fixed, 1, 'dead-letter'), { action: 'dead-letter' });
  });

  it('when MAX_RETRIES is 0, then a transient failure is dead-lettered after one attempt', () => {
    assert.deepEqual(decideAfterFailure({ ...fixed, maxRetries: 0 }, 1, 'retry'), { action: 'dead-letter' });
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

  it('when a dependency is down, then the record waits with a capped exponential backoff and no attempt is used, however many waits', () => {
    assert.deepEqual(
      [0, 1, 2, 3, 4, 10, 1_000_000].map((waits) => decideAfterFailure(fixed, 4, 'wait', waits)),
      [1000, 2000, 4000, 8000, 8000, 8000, 8000].map((delayMs) => ({ action: 'wait', delayMs })),
    );
    // Even on the last attempt: waiting is never the record's fault.
    assert.equal(decideAfterFailure({ ...fixed, maxRetries: 0 }, 1, 'wait').action, 'wait');
  });

  it('when waits are jittered, then they stay within ±jitter of the delay, and never above the cap', () => {
    const jittered: RetryPolicy = { ...fixed, jitter: 0.5 };
    assert.equal(
      waitDelayMs(jittered, 100, () => 0),
      4000,
    );
    assert.equal(
      waitDelayMs(jittered, 100, () => 0.999999),
      8000,
      'never above the cap',
    );
    assert.equal(
      waitDelayMs(jittered, 1, () => 0.999999),
      1500,
    );
  });
});
