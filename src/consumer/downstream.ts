import { TransientDownstreamError } from '../errors.js';
import type { Order } from '../domain/order.js';

/**
 * The business step after validation (in a real system: reserve stock, call
 * payment, ...). It throws typed errors: retriable ones are retried,
 * permanent ones are dead-lettered.
 */
export type DownstreamStep = (order: Order) => Promise<void>;

/**
 * A stand-in for a flaky downstream service, as in the seed: each call fails
 * transiently with probability `failureRate`. Off (0) by default.
 */
export function simulatedDownstream(failureRate: number, random: () => number = Math.random): DownstreamStep {
  return (order) => {
    if (failureRate > 0 && random() < failureRate) {
      return Promise.reject(
        new TransientDownstreamError(`simulated downstream failure for order ${order.orderId}`),
      );
    }
    return Promise.resolve();
  };
}
