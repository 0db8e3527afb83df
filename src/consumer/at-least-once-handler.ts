import type { EachBatchPayload, KafkaMessage } from 'kafkajs';
import type { Logger } from '../logger.js';
import type { BatchHandler } from './batch-handler.js';
import { BatchHeartbeat, EventLoopYield, lagAfter, toRecord } from './batch-handler.js';
import type { ConsumerEventBus } from './events.js';
import {
  comesBack,
  nextAttempt,
  type DeadLetterSink,
  type OrderProcessor,
  type Outcome,
  type ProcessingContext,
} from './order-processor.js';
import type { OutcomeRecorder } from './outcome-recorder.js';
import { PartitionRetries } from './partition-retries.js';

/** Records between checks of kafkajs's commit interval within one batch. */
const COMMIT_CHECK_EVERY = 200;

export interface AtLeastOnceHandlerOptions {
  readonly processor: OrderProcessor;
  readonly recorder: OutcomeRecorder;
  readonly deadLetters: DeadLetterSink;
  readonly bus: ConsumerEventBus;
  readonly logger: Logger;
  readonly isStopping: () => boolean;
  /** How often a batch heartbeats while it works (a third of the session, at most 3 s). */
  readonly heartbeatEveryMs: number;
}

/**
 * The seed's model, done right: a record's offset is resolved only after it
 * was processed or its dead letter was acknowledged (acks=all), so a crash
 * at any point loses nothing; it may process a record twice. A transient
 * failure parks its record and pauses only its partition for the backoff; so
 * does a dependency that is down (the registry, the DLQ), without using an attempt.
 */
export class AtLeastOnceHandler implements BatchHandler {
  readonly #retries = new PartitionRetries();
  readonly #options: AtLeastOnceHandlerOptions;

  constructor(options: AtLeastOnceHandlerOptions) {
    this.#options = options;
  }

  async handle(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, commitOffsetsIfNecessary, isRunning, isStale, pause } = payload;
    const { processor, recorder, deadLetters, bus, isStopping, logger } = this.#options;
    const heartbeat = new BatchHeartbeat(payload.heartbeat, this.#options.heartbeatEveryMs);
    const ctx: ProcessingContext = { deadLetters };
    const shouldAbandon = (): boolean => isStopping() || !isRunning() || isStale() || heartbeat.lost;
    let lastDone: string | undefined;
    const loop = new EventLoopYield();
    try {
      // A record whose backoff just ended comes first in its partition's batch: it goes on counting attempts.
      const first = batch.messages[0];
      const parked = first && this.#retries.take(batch.partition, first.offset);
      if (first && parked && !parked.due) {
        // Back before its backoff is over (kafkajs restarted its consumer and forgot the pause): wait on.
        this.#retries.park(batch.partition, first.offset, parked.soFar, parked.remainingMs, pause);
        return;
      }
      let soFar = parked?.soFar;
      const { messages } = batch;
      // Good orders go in runs, unless each one is to be logged (or a downstream step needs it).
      const inRuns = processor.takesRuns && !recorder.wantsEachOrder;
      // kafkajs's isStale() builds a JSON key per call, a tenth of a good order's cost: ask at the
      // checkpoints and after any order that awaited something (time passed, a rebalance may have begun).
      let askAbandon = true;
      let checkpoint = COMMIT_CHECK_EVERY;
      // One clock read per record or run: each one's finish time is the next one's start.
      let clock = performance.now();
      for (let index = 0; index < messages.length;) {
        if (askAbandon && shouldAbandon()) break;
        askAbandon = false;
        const run =
          inRuns && soFar === undefined ? processor.takeRun(messages, index, checkpoint, clock) : undefined;
        if (run) {
          recorder.recordRun(batch.partition, run);
          index += run.count;
          lastDone = run.lastOffset;
          clock = run.finishedAt;
        } else {
          const message = messages[index] as KafkaMessage;
          const record = toRecord(batch.topic, batch.partition, message);
          const handled = processor.handle(record, ctx, clock, soFar);
          soFar = undefined;
          askAbandon = handled instanceof Promise;
          const outcome: Outcome = handled instanceof Promise ? await handled : handled;
          if (comesBack(outcome)) {
            // Only this partition waits; the batch ends here, so nothing from this record on is committed.
            if (
              !shouldAbandon() &&
              this.#retries.park(
                batch.partition,
                message.offset,
                nextAttempt(outcome),
                outcome.delayMs,
                pause,
              )
            )
              recorder.record(outcome);
            break;
          }
          recorder.record(outcome);
          index += 1;
          lastDone = message.offset;
          clock = outcome.finishedAt;
        }
        // Resolving costs kafkajs a Long per call, so offsets are resolved at these checkpoints, where
        // kafkajs's commit interval is also checked (it commits after every batch anyway).
        if (index >= checkpoint) {
          resolveOffset(lastDone);
          if (!(await commitOrGiveWay(commitOffsetsIfNecessary, logger, batch.partition))) break;
          clock = performance.now();
          checkpoint = index + COMMIT_CHECK_EVERY;
          askAbandon = true;
        }
        const yielded = loop.maybeYield(clock);
        if (yielded) {
          await yielded;
          clock = performance.now();
        }
      }
      if (lastDone === undefined) return;
      resolveOffset(lastDone);
      bus.emit('lag', [{ partition: batch.partition, lag: lagAfter(batch.highWatermark, lastDone) }]);
      // kafkajs does not commit on stop; do it here so a graceful shutdown leaves nothing to redo.
      if (isStopping() || !isRunning()) {
        await commitOrGiveWay(
          () =>
            commitOffsetsIfNecessary({
              topics: [
                {
                  topic: batch.topic,
                  partitions: [
                    { partition: batch.partition, offset: (BigInt(lastDone as string) + 1n).toString() },
                  ],
                },
              ],
            }),
          logger,
          batch.partition,
        );
      }
    } finally {
      heartbeat.stop();
    }
  }

  onAssignment(partitions: readonly number[]): Promise<void> {
    this.#retries.keepOnly(partitions);
    this.#options.recorder.waits.keepOnly(partitions);
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.#retries.clear();
    return Promise.resolve();
  }
}

/**
 * Commits what is resolved, or, when the commit fails (a rebalance began, the coordinator moved, the
 * broker is away), ends the batch: the resolved offsets stay with kafkajs, which commits them at its
 * next chance, and anything not committed is read again. False means "end the batch".
 */
async function commitOrGiveWay(
  commit: () => Promise<void>,
  logger: Logger,
  partition: number,
): Promise<boolean> {
  try {
    await commit();
    return true;
  } catch (error) {
    logger.debug(
      { err: error, partition },
      'Committing offsets failed; ending the batch, kafkajs commits later',
    );
    return false;
  }
}
