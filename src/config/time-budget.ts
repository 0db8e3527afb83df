/**
 * The consumer's time limits, worked out once from the settings, and the rules that make them fit
 * the group's session. The group moves a member's partitions when it stays silent for the session
 * timeout, and a rebalance waits for every member to finish its batch; so no single step, no batch
 * between two stop checks and no transaction may outlast KAFKA_SESSION_TIMEOUT_MS. Retries of an
 * order do not count here: a backoff pauses only its partition, between batches, and the consumer
 * heartbeats throughout.
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

export interface TimeSettings {
  readonly sessionTimeoutMs: number;
  readonly registryTimeoutMs: number;
  readonly kafkaRequestTimeoutMs: number;
  readonly transactionTimeoutMs: number;
  readonly processingMode: 'exactly-once' | 'at-least-once';
}

export interface TimeBudget {
  /** The longest one registry lookup can take: every try runs into the timeout, plus the pauses between. */
  readonly registryLookupMs: number;
  /** The longest one Kafka write (a dead letter, an aggregate, offsets, a commit) may take, its client retries included. */
  readonly kafkaWriteMs: number;
  /** The longest one record's step can keep its batch from a stop check: the slower of the two. */
  readonly longestStepMs: number;
  /** How long a transaction takes records: then its last step and its commit still end inside the timeout. */
  readonly transactionCloseAfterMs: number;
}

export function timeBudget(settings: TimeSettings): TimeBudget {
  const registryLookupMs =
    (REGISTRY_CLIENT_RETRY.retries + 1) * settings.registryTimeoutMs +
    REGISTRY_CLIENT_RETRY.retries * REGISTRY_CLIENT_RETRY.maxRetryTimeInSecs * 1000;
  const kafkaWriteMs = settings.kafkaRequestTimeoutMs;
  const longestStepMs = Math.max(registryLookupMs, kafkaWriteMs);
  return {
    registryLookupMs,
    kafkaWriteMs,
    longestStepMs,
    transactionCloseAfterMs: settings.transactionTimeoutMs - longestStepMs - COMMIT_MARGIN_MS,
  };
}

/** Every combination of limits that does not fit, each naming its numbers; empty when all fit. */
export function timeBudgetProblems(settings: TimeSettings): string[] {
  const budget = timeBudget(settings);
  const session = settings.sessionTimeoutMs;
  const problems: string[] = [];
  const sessionText = `KAFKA_SESSION_TIMEOUT_MS=${session}`;
  if (budget.registryLookupMs + COMMIT_MARGIN_MS > session) {
    problems.push(
      `SCHEMA_REGISTRY_TIMEOUT_MS=${settings.registryTimeoutMs}: one lookup with the client's retry may take ${budget.registryLookupMs} ms ` +
        `(${REGISTRY_CLIENT_RETRY.retries + 1} calls and a ${REGISTRY_CLIENT_RETRY.maxRetryTimeInSecs * 1000} ms pause), ` +
        `and with ${COMMIT_MARGIN_MS} ms to commit that outlasts ${sessionText}`,
    );
  }
  if (budget.kafkaWriteMs + COMMIT_MARGIN_MS > session) {
    problems.push(
      `KAFKA_REQUEST_TIMEOUT_MS=${settings.kafkaRequestTimeoutMs}: one write to Kafka may take that long, ` +
        `and with ${COMMIT_MARGIN_MS} ms to commit that outlasts ${sessionText}`,
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
    const least = budget.longestStepMs + COMMIT_MARGIN_MS + MIN_TRANSACTION_OPEN_MS;
    problems.push(
      `TRANSACTION_TIMEOUT_MS=${settings.transactionTimeoutMs}: must be at least ${least} ` +
        `(one record's step may take ${budget.longestStepMs} ms, the slower of a registry lookup (${budget.registryLookupMs} ms) ` +
        `and a Kafka write (${budget.kafkaWriteMs} ms), plus ${COMMIT_MARGIN_MS} ms to commit and ${MIN_TRANSACTION_OPEN_MS} ms of processing)`,
    );
  }
  return problems;
}
