import { TransientDownstreamError } from '../errors.js';
import type { Order } from '../domain/order.js';

/**
 * The business step after validation (in a real system: reserve stock, call
 * payment, ...). It throws or rejects with typed errors: retriable ones are
 * retried, permanent ones are dead-lettered. A step that needs no I/O returns
 * undefined, which keeps the record on the consumer's synchronous fast path.
 */
export type DownstreamStep = (order: Order) => Promise<void> | undefined;

/**
 * A stand-in for a flaky downstream service, as in the seed: each call fails
 * transiently with probability `failureRate`. Off (0) by default.
 */
export function simulatedDownstream(failureRate: number, random: () => number = Math.random): DownstreamStep {
  // Synchronous (undefined, or a throw) like any step that needs no I/O, so good orders cost no promise.
  return (order) => {
    if (failureRate > 0 && random() < failureRate) {
      throw new TransientDownstreamError(`simulated downstream failure for order ${order.orderId}`);
    }
    return undefined;
  };
}
