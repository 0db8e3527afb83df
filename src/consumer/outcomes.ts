import type { ErrorClassification } from '../errors.js';
import type { Order } from '../domain/order.js';
import type { AttemptSoFar, ComeBackLater, Outcome } from '../ports/processing.js';
import type { IncomingRecord } from '../ports/records.js';

/** Whether an outcome makes its record come back later (a retry or a wait), so the batch ends before it. */
export const comesBack = (outcome: Outcome): outcome is ComeBackLater =>
  outcome.kind === 'retry-later' || outcome.kind === 'waiting';

/** Where a record that comes back later starts again: its next attempt, or the same one after a wait. */
export function nextAttempt(outcome: ComeBackLater): AttemptSoFar {
  return outcome.kind === 'retry-later'
    ? { attempt: outcome.attempt + 1, startedAt: outcome.startedAt, waits: 0 }
    : { attempt: outcome.attempt, startedAt: outcome.startedAt, waits: outcome.waits };
}

/** The outcome of a record whose partition waits `delayMs` for the dependency `failure` names. */
export function waiting(
  record: IncomingRecord,
  failure: ErrorClassification,
  soFar: AttemptSoFar,
  delayMs: number,
): ComeBackLater {
  return {
    kind: 'waiting',
    record,
    failure,
    // classifyError sets a dependency for every failure handled as `wait`.
    dependency: failure.dependency ?? 'broker',
    attempt: soFar.attempt,
    waits: (soFar.waits ?? 0) + 1,
    delayMs,
    startedAt: soFar.startedAt,
    finishedAt: performance.now(),
  };
}

/** A record ends counted: its order is done, after `soFar.attempt` attempts. */
export function processed(record: IncomingRecord, order: Order, soFar: AttemptSoFar): Outcome {
  const finishedAt = performance.now();
  const durationSeconds = (finishedAt - soFar.startedAt) / 1000;
  return { kind: 'processed', record, order, attempts: soFar.attempt, durationSeconds, finishedAt };
}

/** A record ends dead-lettered, after `soFar.attempt` attempts. */
export function deadLettered(
  record: IncomingRecord,
  failure: ErrorClassification,
  soFar: AttemptSoFar,
): Outcome {
  const finishedAt = performance.now();
  const durationSeconds = (finishedAt - soFar.startedAt) / 1000;
  return { kind: 'dead-lettered', record, failure, attempts: soFar.attempt, durationSeconds, finishedAt };
}

/** Order time when the writer gave one, else the record's timestamp; 0 when neither is known. */
export function originMs(createdAtMs: number, recordTimestamp: string): number {
  if (createdAtMs > 0) return createdAtMs;
  const timestamp = Number(recordTimestamp);
  return Number.isFinite(timestamp) && timestamp > 0 ? timestamp : 0;
}

export function where(record: IncomingRecord): string {
  return `${record.topic}[${record.partition}]@${record.offset}`;
}
