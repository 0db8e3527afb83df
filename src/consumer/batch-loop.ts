import type { AttemptSoFar, ComeBackLater } from '../ports/processing.js';
import type { BatchControl, BatchRecord, ConsumedBatch, IncomingRecord } from '../ports/records.js';
import { MAX_SPAN_LINKS, type Tracing } from '../ports/tracing.js';
import { BatchHeartbeat, EventLoopYield } from './batch-pacing.js';
import type { CommitStrategy, UnitEnd, WaitAt } from './commit-strategy.js';
import type { OrderProcessor } from './order-processor.js';
import type { OutcomeRecorder } from './outcome-recorder.js';
import { comesBack, nextAttempt } from './outcomes.js';
import { PartitionRetries } from './partition-retries.js';
import { rolledBackBy, UnitSpans } from './unit-spans.js';

export interface BatchLoopOptions {
  readonly processor: OrderProcessor;
  readonly recorder: OutcomeRecorder;
  /** At-least-once or exactly-once. */
  readonly commits: CommitStrategy;
  /** How often a batch heartbeats while it works (a third of the session, at most 3 s). */
  readonly heartbeatEveryMs: number;
  /**
   * None: tracing is off, and nothing is done for it. On: a span per run of good orders (cut to
   * MAX_SPAN_LINKS, each order a link) and a span per attempt at any other record, ended once their
   * unit has closed (UnitSpans), so that they say whether it committed.
   */
  readonly tracing?: Tracing | undefined;
}

/**
 * The consumer's answer to "here is a batch of one partition", in both processing modes: each record is
 * processed in order, good orders in runs, and committed by the mode's CommitStrategy. A record that
 * fails transiently, or waits for a dependency that is down, parks its partition (PartitionRetries):
 * the batch ends before it, nothing from it on is committed, and only that partition waits.
 *
 * Nothing a batch meets makes it throw: a dependency that is down (the registry, the broker, the DLQ)
 * makes the partition wait where it is, with a capped backoff, and go on by itself once it is back.
 */
export class BatchLoop {
  readonly #retries = new PartitionRetries();
  readonly #o: BatchLoopOptions;

  constructor(options: BatchLoopOptions) {
    this.#o = options;
  }

  async handle(batch: ConsumedBatch, control: BatchControl): Promise<void> {
    const heartbeat = new BatchHeartbeat(() => control.heartbeat(), this.#o.heartbeatEveryMs);
    try {
      await this.#handle(batch, control, () => control.shouldAbandon() || heartbeat.lost);
    } finally {
      heartbeat.stop();
    }
  }

  async #handle(batch: ConsumedBatch, control: BatchControl, shouldAbandon: () => boolean): Promise<void> {
    const { processor, recorder, commits, tracing } = this.#o;
    const { partition, messages } = batch;
    const head = messages[0];
    if (head === undefined) return;
    // A record whose backoff just ended comes first in its partition's batch: it goes on counting attempts.
    const parked = this.#retries.take(partition, head.offset);
    if (parked && !parked.due) {
      // Back before its backoff is over (the client restarted its consumer and forgot the pause): wait on.
      this.#retries.park(
        partition,
        head.offset,
        parked.soFar,
        parked.remainingMs,
        control.pause,
        parked.atOrAfter,
      );
      return;
    }
    const commit = await commits.open(batch, control);
    if (commit === undefined) {
      recorder.standsAt(batch, messages.length);
      return;
    }
    if ('waitAt' in commit) {
      this.#wait(batch, control, 0, commit, parked?.soFar);
      return;
    }
    let index = commit.from;
    // From now on the first record's age shows, even when it is slow (a downstream step, a registry lookup).
    recorder.standsAt(batch, index);
    // The parked attempt belongs to the record it was parked for, only.
    let soFar = parked && messages[index]?.offset === head.offset ? parked.soFar : undefined;
    // Good orders go in runs, unless each one is to be logged (or a downstream step needs it).
    const inRuns = processor.takesRuns && !recorder.wantsEachOrder;
    // A run span links each of its orders: runs are cut to what one span links.
    const runLength = tracing === undefined ? Number.POSITIVE_INFINITY : MAX_SPAN_LINKS;
    const spans = tracing === undefined ? undefined : new UnitSpans(tracing, batch);
    const loop = new EventLoopYield();
    /** Set while a unit takes again what one that could not commit took: up to the record that comes back. */
    let redo: { until: number; comeBack: ComeBackLater | undefined } | undefined;
    while (index < messages.length) {
      // A stop or a rebalance ends the batch between units (a redo first commits what came before its record).
      if (redo === undefined && shouldAbandon()) break;
      const unit = await commit.begin();
      if ('waitAt' in unit) {
        this.#wait(batch, control, index, unit, soFar);
        return;
      }
      const first = index;
      const firstSoFar = soFar;
      const limit = Math.min(redo?.until ?? messages.length, index + unit.maxRecords);
      // The client's isStale() builds a JSON key per call: asked every checkEvery records, and after any
      // record that awaited something (time passed, a rebalance may have begun).
      let check = index + unit.checkEvery;
      // One clock read per record or run: each one's finish time is the next one's start.
      let clock = performance.now();
      const closeAt = clock + unit.takesRecordsForMs;
      let comeBack: ComeBackLater | undefined;
      try {
        while (index < limit) {
          if (index >= check) {
            if (shouldAbandon()) break;
            check = index + unit.checkEvery;
          }
          const yielded = loop.maybeYield(clock);
          if (yielded) {
            await yielded;
            clock = performance.now();
          }
          const run =
            inRuns && soFar === undefined
              ? processor.takeRun(messages, index, Math.min(check, limit, index + runLength), clock)
              : undefined;
          if (run) {
            spans?.run(index, run.lastIndex, run.startedAt, run.finishedAt);
            unit.tookRun(run, messages);
            index += run.count;
            clock = run.finishedAt;
            if (clock >= closeAt) break;
            continue;
          }
          const record = incoming(batch, messages[index] as BatchRecord);
          const span = spans?.start(record, clock, soFar?.attempt ?? 1);
          const sync = processor.tryHandleWithoutIO(record, clock, soFar);
          const outcome = sync ?? (await processor.handle(record, unit.context, clock, soFar, span));
          soFar = undefined;
          if (comesBack(outcome)) {
            spans?.cameBack(outcome);
            comeBack = outcome;
            break;
          }
          spans?.took(outcome);
          unit.took(outcome);
          index += 1;
          clock = outcome.finishedAt;
          // Slow records (waits on the registry) must not keep a transaction open until the broker aborts it.
          if (clock >= closeAt) break;
          // A stop or a rebalance may have begun while this record awaited something.
          if (sync === undefined && shouldAbandon()) break;
        }
      } catch (error) {
        spans?.end(rolledBackBy(error));
        const failed = await unit.fail(error);
        if (typeof failed === 'object') this.#wait(batch, control, first, failed, firstSoFar);
        return;
      }
      let end: UnitEnd;
      try {
        end = await unit.close(index - first, comeBack);
      } catch (error) {
        spans?.end(rolledBackBy(error));
        throw error;
      }
      // Committed (or, at-least-once, resolved), or not: then its records are taken again.
      if (spans)
        spans.end(
          end === 'go-on' || end === 'end-batch'
            ? undefined
            : end === 'redo'
              ? (comeBack?.failure ?? rolledBackBy(new Error('its transaction was aborted')))
              : rolledBackBy(end.error),
        );
      if (end === 'end-batch') break;
      if (typeof end === 'object') {
        this.#wait(batch, control, first, end, firstSoFar);
        return;
      }
      if (end === 'redo') {
        redo = { until: index, comeBack };
        index = first;
        soFar = firstSoFar;
        continue;
      }
      if (redo !== undefined) {
        // A redo that reached its record leaves that record to come back (unless it came back earlier).
        if (comeBack === undefined && index === redo.until) comeBack = redo.comeBack;
        redo = undefined;
      }
      if (comeBack) {
        // Only this partition waits; the next fetch starts again at the record that comes back.
        if (
          !shouldAbandon() &&
          this.#retries.park(
            partition,
            comeBack.record.offset,
            nextAttempt(comeBack),
            comeBack.delayMs,
            control.pause,
          )
        )
          recorder.record(comeBack);
        break;
      }
    }
    await commit.finish();
    // Where the partition stands: caught up, behind, or parked at the record that comes back.
    recorder.standsAt(batch, index);
  }

  /**
   * Parks the partition at a position (`wait.waitAt`, the offset of the record at `index` or the
   * committed offset) for the dependency `wait.error` names, growing with each wait in a row. It waits
   * at a position, not for one record: the next batch may start past it (a transaction marker).
   */
  #wait(
    batch: ConsumedBatch,
    control: BatchControl,
    index: number,
    wait: WaitAt,
    soFar: AttemptSoFar | undefined,
  ): void {
    const record = incoming(batch, { ...(batch.messages[index] as BatchRecord), offset: wait.waitAt });
    const outcome = this.#o.processor.waitFor(record, wait.error, soFar);
    if (
      this.#retries.park(
        batch.partition,
        wait.waitAt,
        nextAttempt(outcome),
        outcome.delayMs,
        control.pause,
        true,
      )
    ) {
      this.#o.recorder.record(outcome);
      this.#o.recorder.standsAt(batch, index);
    }
  }

  /** The group gave us these partitions of the orders topic (all others are gone). */
  async onAssignment(partitions: readonly number[]): Promise<void> {
    this.#retries.keepOnly(partitions);
    this.#o.recorder.waits.keepOnly(partitions);
    await this.#o.commits.onAssignment(partitions);
  }

  async close(): Promise<void> {
    this.#retries.clear();
    await this.#o.commits.close();
  }
}

function incoming(batch: ConsumedBatch, message: BatchRecord): IncomingRecord {
  return {
    topic: batch.topic,
    partition: batch.partition,
    offset: message.offset,
    timestamp: message.timestamp,
    key: message.key,
    value: message.value,
    // Passed on, not copied: a good order costs one lookup in them (the redrive mark), a dead letter reads them.
    headers: message.headers,
    undecodableBatch: message.undecodableBatch,
  };
}
