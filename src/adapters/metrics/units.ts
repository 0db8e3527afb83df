import { Counter, type Registry } from 'prom-client';
import { ERROR_DOCS, type ErrorCode } from '../../errors.js';

/**
 * Money stays bigint cents everywhere else; Prometheus only knows float64,
 * so the conversion to dollars happens here, at the metric boundary.
 */
export function centsToDollars(cents: bigint): number {
  // Split first so a huge sum keeps its cents: Number(cents) / 100 would
  // round the whole value once it passes 2^53 cents.
  const whole = cents / 100n;
  const rest = cents % 100n;
  return Number(whole) + Number(rest) / 100;
}

/**
 * Seconds: from a fast in-memory order (a few ms) to one that waited out
 * several exponential backoffs (minutes), so the p99 stays inside a bucket.
 */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300,
];

/** Send latency of one produce call with acks=all: milliseconds, rarely seconds. */
export const SEND_BUCKETS_SECONDS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

/** Label value for a reason that is not an error code of src/errors.ts. */
export const OTHER_REASON = 'other';

/**
 * Every value a `reason` label can take: the error codes of order failures
 * plus `other`. Series are created at zero up front, because
 * rate() and increase() cannot see the first increment of a series that
 * appears with value 1, and the DLQ alert must fire on the first order.
 */
export const FAILURE_REASONS: readonly string[] = [
  // Errors that stop startup, or are only alerted on, never reach an order: they are never a reason.
  ...(Object.keys(ERROR_DOCS) as ErrorCode[]).filter((code) => {
    const { handling } = ERROR_DOCS[code];
    return handling !== 'startup' && handling !== 'alert';
  }),
  OTHER_REASON,
];

/**
 * Keeps a `reason` label bounded and pre-created: an error code passes as it
 * is, anything else (a client error name, or by mistake an id) becomes
 * `other`; the log line of the failure keeps the detail.
 */
export function reasonLabel(reason: string): string {
  return FAILURE_REASON_SET.has(reason) ? reason : OTHER_REASON;
}

const FAILURE_REASON_SET = new Set(FAILURE_REASONS);

/** A counter by `reason`, every reason created at zero up front (see FAILURE_REASONS); reasonLabel() bounds its labels. */
export function reasonCounter(registers: Registry[], name: string, help: string): Counter<'reason'> {
  const counter = new Counter({ name, help, labelNames: ['reason'] as const, registers });
  for (const reason of FAILURE_REASONS) counter.inc({ reason }, 0);
  return counter;
}
