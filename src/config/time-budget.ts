import type { SettingValues } from './settings.js';

/**
 * The consumer's time limits, worked out once from the settings, and the rules that make them fit
 * the group's session. The group moves a member's partitions when it stays silent for the session
 * timeout, and a rebalance waits for every member to finish what it is doing; so no single record
 * (between two stop checks of its batch) and no transaction may outlast KAFKA_SESSION_TIMEOUT_MS.
 * Retries of an order do not count here: a backoff pauses only its partition, between batches, and
 * the consumer heartbeats throughout a batch.
 */

/** The registry client's own retry: one quick second try; our retry policy owns the longer story. */
export const REGISTRY_CLIENT_RETRY = {
  retries: 1,
  initialRetryTimeInSecs: 0.1,
  maxRetryTimeInSecs: 1,
} as const;

/**
 * Room left after the last record of a transaction for sending its aggregate and offsets and
 * committing, in normal operation. A commit slower than that runs into the broker's transaction
 * timeout, and the transaction is aborted and redone: slower, never wrong.
 */
export const COMMIT_MARGIN_MS = 2000;

/** The least time a transaction must be able to take records, or every record would need its own. */
export const MIN_TRANSACTION_OPEN_MS = 1000;

/** The settings the limits come from. */
export type TimeSettings = Pick<
  SettingValues,
  | 'sessionTimeoutMs'
  | 'registryTimeoutMs'
  | 'kafkaRequestTimeoutMs'
  | 'transactionTimeoutMs'
  | 'processingMode'
>;

export interface TimeBudget {
  /** The longest one registry lookup can take: every try runs into the timeout, plus the pauses between. */
  readonly registryLookupMs: number;
  /**
   * The longest one write to Kafka may take (a dead letter, with its topic lookup, or an aggregate,
   * offsets, a commit), its client retries included: the consumer gives up on it then.
   */
  readonly kafkaWriteMs: number;
  /** The longest a downstream step may take before it fails transiently: one Kafka write's budget. */
  readonly downstreamStepMs: number;
  /**
   * The longest one record can keep its batch from a stop check: a registry lookup, a downstream
   * step and a dead letter, one after the other.
   */
  readonly longestRecordMs: number;
  /** How long a transaction takes records: then one more record and the commit still end inside it. */
  readonly transactionCloseAfterMs: number;
}

export function timeBudget(settings: TimeSettings): TimeBudget {
  const registryLookupMs =
    (REGISTRY_CLIENT_RETRY.retries + 1) * settings.registryTimeoutMs +
    REGISTRY_CLIENT_RETRY.retries * REGISTRY_CLIENT_RETRY.maxRetryTimeInSecs * 1000;
  const kafkaWriteMs = settings.kafkaRequestTimeoutMs;
  const downstreamStepMs = kafkaWriteMs;
  const longestRecordMs = registryLookupMs + downstreamStepMs + kafkaWriteMs;
  return {
    registryLookupMs,
    kafkaWriteMs,
    downstreamStepMs,
    longestRecordMs,
    transactionCloseAfterMs: settings.transactionTimeoutMs - longestRecordMs - COMMIT_MARGIN_MS,
  };
}

/** Every combination of limits that does not fit, each naming its numbers; empty when all fit. */
export function timeBudgetProblems(settings: TimeSettings): string[] {
  const budget = timeBudget(settings);
  const session = settings.sessionTimeoutMs;
  const problems: string[] = [];
  const sessionText = `KAFKA_SESSION_TIMEOUT_MS=${session}`;
  const recordText =
    `one record may take ${budget.longestRecordMs} ms: a registry lookup with the client's retry ` +
    `(2 × SCHEMA_REGISTRY_TIMEOUT_MS=${settings.registryTimeoutMs} + ${REGISTRY_CLIENT_RETRY.maxRetryTimeInSecs * 1000} ms = ${budget.registryLookupMs} ms), ` +
    `a downstream step and a dead letter (KAFKA_REQUEST_TIMEOUT_MS=${settings.kafkaRequestTimeoutMs} each)`;
  if (budget.longestRecordMs + COMMIT_MARGIN_MS > session) {
    problems.push(
      `SCHEMA_REGISTRY_TIMEOUT_MS and KAFKA_REQUEST_TIMEOUT_MS: ${recordText}, and with ${COMMIT_MARGIN_MS} ms to commit ` +
        `that outlasts ${sessionText}`,
    );
  }
  if (settings.processingMode !== 'exactly-once') return problems;
  if (settings.transactionTimeoutMs > session) {
    problems.push(
      `TRANSACTION_TIMEOUT_MS=${settings.transactionTimeoutMs}: a transaction may stay open that long, longer than ${sessionText} ` +
        `(and a stuck one holds back every read_committed reader of the changelog and the DLQ until it times out)`,
    );
  }
  if (budget.transactionCloseAfterMs < MIN_TRANSACTION_OPEN_MS) {
    const least = budget.longestRecordMs + COMMIT_MARGIN_MS + MIN_TRANSACTION_OPEN_MS;
    problems.push(
      `TRANSACTION_TIMEOUT_MS=${settings.transactionTimeoutMs}: must be at least ${least} ` +
        `(${recordText}; plus ${COMMIT_MARGIN_MS} ms to commit and ${MIN_TRANSACTION_OPEN_MS} ms of processing)`,
    );
  }
  return problems;
}
