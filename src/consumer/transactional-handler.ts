import type { Consumer, EachBatchPayload, Kafka, KafkaMessage, Producer, Transaction } from 'kafkajs';
import { committedOffset } from '../adapters/kafka/group-lag.js';
import type { AppConfig } from '../config/load.js';
import { timeBudget } from '../config/time-budget.js';
import {
  BrokerUnavailableError,
  classifyError,
  DeadLetterUnwritableError,
  OrderSystemError,
} from '../errors.js';
import { waitDelayMs, type RetryPolicy } from '../domain/retry-policy.js';
import {
  emptyStats,
  serializeStats,
  statsKey,
  StatsDelta,
  type PartitionStats,
} from '../domain/partition-stats.js';
import { withDeadline } from '../adapters/kafka/deadline.js';
import { DeadLetterWriter } from '../adapters/kafka/dead-letter-writer.js';
import { describeKafkaError, isFenced } from '../adapters/kafka/kafka-errors.js';
import type { LazyAdmin } from '../adapters/kafka/lazy-admin.js';
import { connectTransactional } from '../adapters/kafka/transactional-producer.js';
import type { StatsChangelog } from '../adapters/kafka/stats-changelog.js';
import type { Logger } from '../logger.js';
import { BatchHeartbeat, EventLoopYield, lagAfter, toRecord, type BatchHandler } from './batch-handler.js';
import type { ConsumerEventBus } from './events.js';
import {
  comesBack,
  nextAttempt,
  type AttemptSoFar,
  type ComeBackLater,
  type DeadLetterSink,
  waiting,
  type IncomingRecord,
  type Outcome,
  type OrderProcessor,
  type ProcessingContext,
} from './order-processor.js';
import { OrderRun } from './order-run.js';
import type { OutcomeRecorder } from './outcome-recorder.js';
import { PartitionRetries } from './partition-retries.js';

/** What one transaction did: the outcomes it committed, and the record that has to come back, if any. */
interface ChunkResult {
  /** Undefined when the transaction had nothing to commit (its first record has to come back). */
  readonly lastOffset: string | undefined;
  /** Single outcomes and runs of good orders, in record order. */
  readonly outcomes: (Outcome | OrderRun)[];
  /** Records the outcomes cover. */
  readonly records: number;
  readonly comeBack: ComeBackLater | undefined;
}

/** The producer and last committed aggregate of one partition we own. */
interface PartitionOwner {
  readonly producer: Producer;
  state: PartitionStats;
}

const RESTORE_TIMEOUT_MS = 30_000;

/** Records between checks, within a transaction, of whether to stop early. */
const ABANDON_CHECK_EVERY = 1000;

/**
 * The first write of a transaction right after the previous commit is refused with
 * CONCURRENT_TRANSACTIONS until the broker has written the commit markers, a few milliseconds.
 * kafkajs's first retry would wait 300 ms; like the Java client (20 ms for this case), retry soon.
 * The retries are bounded so a broker that is away fails the write (and the partition waits)
 * instead of retrying in the background; the write deadline (withDeadline) bounds them in time.
 */
const TRANSACTIONAL_RETRY = {
  initialRetryTime: 10,
  maxRetryTime: 1000,
  retries: 6,
} as const;

export interface TransactionalHandlerOptions {
  readonly kafka: Kafka;
  readonly consumer: Consumer;
  readonly admin: LazyAdmin;
  readonly config: AppConfig;
  readonly policy: RetryPolicy;
  readonly processor: OrderProcessor;
  readonly recorder: OutcomeRecorder;
  readonly changelog: StatsChangelog;
  readonly bus: ConsumerEventBus;
  readonly logger: Logger;
  readonly isStopping: () => boolean;
  readonly heartbeatEveryMs: number;
}

/**
 * Kafka Streams' exactly-once, by hand: for each partition, the records'
 * DLQ writes, the new aggregate and the consumer offset commit in one
 * transaction.
 *
 * The transactional id is `<group>-<topic>-<partition>` (the scheme Kafka
 * Streams used before KIP-447). kafkajs's TxnOffsetCommit carries no group
 * generation, so a consumer that was removed from the group could otherwise
 * still commit; with one id per partition, whoever owns the partition next
 * initialises the same id, which aborts or completes the old owner's
 * transaction and fences it for good.
 *
 * Nothing a batch meets makes it throw: a dependency that is down (the registry, the broker, the DLQ)
 * makes the partition wait where it is, with a capped backoff, and go on by itself once it is back.
 */
export class TransactionalHandler implements BatchHandler {
  readonly #owners = new Map<number, Promise<PartitionOwner>>();
  readonly #retries = new PartitionRetries();
  readonly #closeAfterMs: number;
  readonly #writeTimeoutMs: number;
  readonly #deadLetters: DeadLetterWriter;
  readonly #o: TransactionalHandlerOptions;

  constructor(options: TransactionalHandlerOptions) {
    this.#o = options;
    const budget = timeBudget(options.config);
    // loadConfig guarantees this is positive in exactly-once mode.
    this.#closeAfterMs = budget.transactionCloseAfterMs;
    this.#writeTimeoutMs = budget.kafkaWriteMs;
    this.#deadLetters = new DeadLetterWriter(
      options.config.dlqTopic,
      options.admin,
      this.#writeTimeoutMs,
      options.logger,
    );
  }

  transactionalId(partition: number): string {
    return `${this.#o.config.groupId}-${this.#o.config.ordersTopic}-${partition}`;
  }

  async handle(payload: EachBatchPayload): Promise<void> {
    const heartbeat = new BatchHeartbeat(payload.heartbeat, this.#o.heartbeatEveryMs);
    try {
      await this.#handle(payload, heartbeat);
    } finally {
      heartbeat.stop();
    }
  }

  async #handle(payload: EachBatchPayload, heartbeat: BatchHeartbeat): Promise<void> {
    const { batch, resolveOffset, isRunning, isStale, pause } = payload;
    const { logger, recorder, bus, isStopping } = this.#o;
    const partition = batch.partition;
    const shouldAbandon = () => isStopping() || !isRunning() || isStale() || heartbeat.lost;
    const head = batch.messages[0];
    if (head === undefined) return;

    // A record whose backoff just ended comes first: it goes on counting attempts (or waits).
    const parked = this.#retries.take(partition, head.offset);
    if (parked && !parked.due) {
      // Back before its backoff is over (kafkajs restarted its consumer and forgot the pause): wait on.
      this.#retries.park(partition, head.offset, parked.soFar, parked.remainingMs, pause, parked.atOrAfter);
      return;
    }

    let owner: PartitionOwner;
    try {
      owner = await this.#ownerFor(partition, payload.heartbeat);
    } catch (error) {
      // Fencing or restoring failed (the broker is away, the changelog is slow): wait, then try again.
      logger.debug({ err: error, partition }, 'Could not take ownership of the partition; waiting');
      this.#waitForBroker(
        partition,
        head,
        parked?.soFar,
        error,
        pause,
        'taking ownership (fencing, restoring the aggregate)',
      );
      return;
    }

    // Records below nextOffset are already in the committed aggregate (e.g. a fenced owner's last commit
    // landed after our offsets were fetched): counting them again would break exactness.
    // Offsets ascend, so only a prefix can be below nextOffset: one BigInt per record skipped, not per record.
    let skip = 0;
    while (
      skip < batch.messages.length &&
      BigInt(batch.messages[skip]?.offset ?? '0') < owner.state.nextOffset
    )
      skip += 1;
    const pending = skip === 0 ? batch.messages : batch.messages.slice(skip);
    if (pending.length < batch.messages.length) {
      logger.debug(
        {
          partition,
          skipped: batch.messages.length - pending.length,
          nextOffset: owner.state.nextOffset.toString(),
        },
        'Skipping records already in the committed aggregate',
      );
    }
    if (pending.length === 0) {
      resolveOffset(batch.lastOffset());
      // Whatever the partition waited for (a commit that did land after all), it goes on.
      recorder.waits.wentOn(partition);
      return;
    }
    const first = pending[0] as KafkaMessage;
    if (BigInt(first.offset) > owner.state.nextOffset && owner.state.nextOffset > 0n) {
      logger.warn(
        { partition, from: owner.state.nextOffset.toString(), to: first.offset },
        'Offsets skip ahead of the aggregate (records deleted by retention?); continuing from the committed offset',
      );
    }

    // The parked attempt belongs to the record it was parked for, only.
    let soFar = parked && first.offset === head.offset ? parked.soFar : undefined;
    let start = 0;
    while (start < pending.length) {
      if (shouldAbandon()) return;
      const chunk = pending.slice(start, start + this.#o.config.transactionMaxRecords);
      let result: ChunkResult;
      try {
        result = await this.#commitChunk(owner, partition, chunk, soFar, shouldAbandon);
      } catch (error) {
        await this.#afterFailedTransaction(owner, partition, chunk, soFar, error, pause);
        return;
      }
      soFar = undefined;
      if (result.lastOffset !== undefined) {
        resolveOffset(result.lastOffset);
        for (const outcome of result.outcomes) {
          if (outcome instanceof OrderRun) recorder.recordRun(partition, outcome);
          else recorder.record(outcome);
        }
        bus.emit('lag', [{ partition, lag: lagAfter(batch.highWatermark, result.lastOffset) }]);
      }
      if (result.comeBack) {
        // Only this partition waits for the backoff; the next fetch starts again at the waiting record.
        const outcome = result.comeBack;
        if (
          !shouldAbandon() &&
          this.#retries.park(partition, outcome.record.offset, nextAttempt(outcome), outcome.delayMs, pause)
        )
          recorder.record(outcome);
        return;
      }
      start += result.records;
    }
  }

  /**
   * One transaction over the leading records of `chunk`: it closes after the last one, before a
   * record that has to come back (a retry, or a wait for a dependency), or once it has been open for
   * #closeAfterMs, or when a stop or a rebalance begins. Throws when the transaction itself failed (the
   * caller aborts, seeks back and waits).
   */
  async #commitChunk(
    owner: PartitionOwner,
    partition: number,
    chunk: EachBatchPayload['batch']['messages'],
    soFar: AttemptSoFar | undefined,
    shouldAbandon: () => boolean,
  ): Promise<ChunkResult> {
    const { processor, recorder, config, logger } = this.#o;
    const { ordersTopic, dlqTopic, statsTopic, groupId } = config;
    const transaction = await this.#write(owner.producer.transaction(), 'beginning a transaction');
    // A dead letter that was refused leaves the transaction in doubt: it is aborted, never committed. One
    // that got no answer may still be sent by kafkajs, into whatever transaction is open then: the
    // producer itself is in doubt, and is dropped.
    const doubt: { deadLetterFailed: boolean; producerInDoubt: DeadLetterUnwritableError | undefined } = {
      deadLetterFailed: false,
      producerInDoubt: undefined,
    };
    const deadLetters: DeadLetterSink = {
      publish: (record, headers) =>
        this.#deadLetters
          .write(
            (message) =>
              transaction.send({
                topic: dlqTopic,
                compression: DeadLetterWriter.compression,
                messages: [message],
              }),
            record,
            headers,
          )
          .catch((error: unknown) => {
            doubt.deadLetterFailed = true;
            if (error instanceof DeadLetterUnwritableError && error.inDoubt) doubt.producerInDoubt = error;
            throw error;
          }),
    };
    const ctx: ProcessingContext = { deadLetters };
    const delta = new StatsDelta();
    const outcomes: (Outcome | OrderRun)[] = [];
    let records = 0;
    let comeBack: ComeBackLater | undefined;
    let attemptSoFar = soFar;
    const loop = new EventLoopYield();
    // Good orders go in runs, unless each one is to be logged (or a downstream step needs it).
    const inRuns = processor.takesRuns && !recorder.wantsEachOrder;
    const openedAt = performance.now();
    // One clock read per record or run: each one's finish time is the next one's start.
    let clock = openedAt;
    let abandonCheck = ABANDON_CHECK_EVERY;
    let committed = false;
    try {
      while (records < chunk.length) {
        // A stop or a rebalance ends the transaction early, with what is done so far, so it does not
        // wait for a whole fetched batch (isStale() builds a JSON key per call: not every record).
        if (records >= abandonCheck) {
          if (shouldAbandon()) break;
          abandonCheck = records + ABANDON_CHECK_EVERY;
        }
        const pause = loop.maybeYield(clock);
        if (pause) {
          await pause;
          clock = performance.now();
        }
        const run =
          inRuns && attemptSoFar === undefined
            ? processor.takeRun(chunk, records, abandonCheck, clock)
            : undefined;
        if (run) {
          // The changelog keeps the last order's id: one order per run is decoded whole.
          const lastOrderId = processor.orderIdOf(chunk[run.lastIndex]?.value ?? null);
          delta.processedRun(run, lastOrderId);
          outcomes.push(run);
          records += run.count;
          clock = run.finishedAt;
          if (clock - openedAt >= this.#closeAfterMs) break;
          continue;
        }
        const message = chunk[records] as KafkaMessage;
        const record = toRecord(ordersTopic, partition, message);
        const handled = processor.handle(record, ctx, clock, attemptSoFar);
        attemptSoFar = undefined;
        const outcome: Outcome = handled instanceof Promise ? await handled : handled;
        if (comesBack(outcome)) {
          comeBack = outcome;
          break;
        }
        if (outcome.kind === 'processed') {
          delta.processed(outcome.order.priceCents, outcome.order.orderId, message.offset);
        } else {
          delta.deadLetteredAt(message.offset);
        }
        outcomes.push(outcome);
        records += 1;
        clock = outcome.finishedAt;
        // Slow records (waits on the registry) must not keep it open until the broker aborts it.
        if (clock - openedAt >= this.#closeAfterMs) break;
        // A stop or a rebalance may have begun while this record awaited something.
        if (handled instanceof Promise && shouldAbandon()) break;
      }
      if (doubt.producerInDoubt) throw doubt.producerInDoubt;
      if (doubt.deadLetterFailed) {
        // The dead letter of the record that comes back failed: abort, then commit what came before it
        // in a transaction of its own, so the partition waits at that record and not before it.
        await this.#abort(transaction);
        const before = chunk.slice(0, records);
        if (records === 0) return { lastOffset: undefined, outcomes: [], records: 0, comeBack };
        const salvaged = await this.#commitChunk(owner, partition, before, soFar, shouldAbandon);
        // An earlier record of the prefix may have to come back itself (its own dead letter refused now).
        if (salvaged.records < records || salvaged.comeBack) return salvaged;
        return { ...salvaged, comeBack };
      }
      const lastOffset = delta.lastOffset;
      if (lastOffset === undefined) {
        logger.debug({ partition }, 'The first record has to come back later; nothing to commit');
        await this.#abort(transaction);
        return { lastOffset: undefined, outcomes, records, comeBack };
      }
      const state = delta.applyTo(owner.state);
      await this.#write(
        transaction.send({
          topic: statsTopic,
          messages: [{ key: statsKey(groupId, ordersTopic, partition), value: serializeStats(state) }],
        }),
        `writing the aggregate to ${statsTopic}`,
      );
      await this.#write(
        transaction.sendOffsets({
          consumerGroupId: groupId,
          topics: [{ topic: ordersTopic, partitions: [{ partition, offset: state.nextOffset.toString() }] }],
        }),
        'committing offsets in the transaction',
      );
      await this.#write(transaction.commit(), 'committing the transaction');
      committed = true;
      logger.debug(
        {
          partition,
          from: owner.state.nextOffset.toString(),
          nextOffset: state.nextOffset.toString(),
          orders: state.orders.toString(),
          deadLettered: state.deadLettered.toString(),
          waiting: comeBack?.record.offset,
        },
        'Committed a transaction',
      );
      owner.state = state;
      return { lastOffset, outcomes, records, comeBack };
    } catch (error) {
      if (!committed) await this.#abort(transaction);
      throw error;
    }
  }

  /**
   * The transaction failed: everything it did is invisible to read_committed readers. Read again from
   * the committed offset with a new producer (fencing any zombie of ours), after a wait for the broker;
   * when another instance fenced us, the partition is theirs.
   */
  async #afterFailedTransaction(
    owner: PartitionOwner,
    partition: number,
    chunk: EachBatchPayload['batch']['messages'],
    soFar: AttemptSoFar | undefined,
    error: unknown,
    pause: () => () => void,
  ): Promise<void> {
    const { consumer, config, logger } = this.#o;
    const from = owner.state.nextOffset.toString();
    consumer.seek({ topic: config.ordersTopic, partition, offset: from });
    await this.#drop(partition);
    // Fenced means another producer of this id took over: another instance, whose rebalance takes the
    // partition from us shortly, or the broker, which aborted our own transaction on timeout. Either
    // way, taking it back at once would only fence the other one in turn: wait like any failure.
    const fenced = isFenced(error);
    logger.debug(
      { partition, err: error, from, fenced },
      'Transaction failed; aborted, reading again from the committed offset',
    );
    const head = chunk[0];
    if (head)
      this.#waitForBroker(
        partition,
        { ...head, offset: from },
        soFar,
        error,
        pause,
        fenced ? 'a transaction fenced by a newer producer of its id' : 'a transaction',
      );
  }

  /**
   * Parks `partition` at `message` for a wait on the dependency `error` names (the broker unless it
   * names another), growing with each failure in a row. It waits at a position, not for one record:
   * the next batch may start past it (a transaction marker at the committed offset).
   */
  #waitForBroker(
    partition: number,
    message: KafkaMessage,
    soFar: AttemptSoFar | undefined,
    error: unknown,
    pause: () => () => void,
    what: string,
  ): void {
    const now = performance.now();
    const failure = classifyError(
      error instanceof OrderSystemError && error.handling === 'wait'
        ? error
        : new BrokerUnavailableError(
            `${what} on ${this.#o.config.ordersTopic}[${partition}] failed: ${describeKafkaError(error)}`,
            { cause: error },
          ),
    );
    const record: IncomingRecord = toRecord(this.#o.config.ordersTopic, partition, message);
    const before = soFar ?? { attempt: 1, startedAt: now };
    const outcome = waiting(record, failure, before, waitDelayMs(this.#o.policy, (before.waits ?? 0) + 1));
    if (this.#retries.park(partition, message.offset, nextAttempt(outcome), outcome.delayMs, pause, true))
      this.#o.recorder.record(outcome);
  }

  /** One write of the transaction, bounded by KAFKA_REQUEST_TIMEOUT_MS whatever kafkajs retries. */
  #write<T>(work: Promise<T>, what: string): Promise<T> {
    return withDeadline(work, this.#writeTimeoutMs, what);
  }

  async #abort(transaction: Transaction): Promise<void> {
    await withDeadline(transaction.abort(), this.#writeTimeoutMs, 'aborting a transaction').catch(
      () => undefined,
    );
  }

  #ownerFor(partition: number, heartbeat: () => Promise<void>): Promise<PartitionOwner> {
    let owner = this.#owners.get(partition);
    if (!owner) {
      const becoming = this.#becomeOwner(partition, heartbeat);
      owner = becoming;
      this.#owners.set(partition, becoming);
      // A failed restore is forgotten, unless a newer attempt replaced it meanwhile.
      becoming.catch(() => {
        if (this.#owners.get(partition) === becoming) this.#owners.delete(partition);
      });
    }
    return owner;
  }

  /** Fence the previous owner, then restore the partition's aggregate from the changelog. */
  async #becomeOwner(partition: number, heartbeat: () => Promise<void>): Promise<PartitionOwner> {
    const { kafka, config, changelog, logger } = this.#o;
    const producer = kafka.producer({
      transactionalId: this.transactionalId(partition),
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: config.transactionTimeoutMs,
      retry: TRANSACTIONAL_RETRY,
    });
    try {
      // InitProducerId bumps the epoch, completing or aborting whatever the previous owner left open.
      await connectTransactional(producer, logger.child({ partition }));
      // Only after fencing is the changelog final for this partition; read it to its current end.
      await changelog.catchUp(RESTORE_TIMEOUT_MS);
      const state = await this.#restore(partition, heartbeat);
      logger.info(
        { partition, orders: state.orders.toString(), nextOffset: state.nextOffset.toString() },
        `Restored the aggregate of ${config.ordersTopic}[${partition}]: ${state.orders.toString()} orders up to offset ${state.nextOffset.toString()}`,
      );
      return { producer, state };
    } catch (error) {
      await producer.disconnect().catch(() => undefined);
      throw error;
    }
  }

  /**
   * The aggregate to go on from. The group's offset and the aggregate are committed in one
   * transaction, so the aggregate must reach the offset: the changelog's read_committed end can stop
   * short of it, behind another transaction still open on the changelog, so the restore waits for it.
   * Then the aggregate must be plausible (StatsChangelog.restorable): one that claims to be complete
   * beyond the partition's end or far beyond the committed offset would make us skip orders. Such a
   * record is refused, loudly, and the newest plausible one is used, or the committed offset alone.
   */
  async #restore(partition: number, heartbeat: () => Promise<void>): Promise<PartitionStats> {
    const { config, changelog, logger, bus, admin } = this.#o;
    const { groupId, ordersTopic } = config;
    const client = await admin.get();
    const committed = await committedOffset(client, groupId, ordersTopic, partition);
    const ends = await client.fetchTopicOffsets(ordersTopic);
    const end = BigInt(ends.find((p) => p.partition === partition)?.high ?? '0');
    const bounds = { end, committed, transactionSpan: 2n * BigInt(config.transactionMaxRecords) };
    // A transaction left open is aborted by the broker after TRANSACTION_TIMEOUT_MS at the latest. Only a
    // plausible aggregate ends the wait: a forged one must not stand in for the real one still to come.
    const waitMs = config.transactionTimeoutMs + RESTORE_TIMEOUT_MS;
    if (!(await changelog.reaches(groupId, ordersTopic, partition, committed, waitMs, heartbeat, bounds))) {
      logger.warn(
        { partition, committed: committed.toString() },
        'The aggregate stays behind the committed offset (offsets moved by hand?); continuing with it',
      );
    }
    const { state, refused } = changelog.restorable(groupId, ordersTopic, partition, bounds);
    if (refused.length > 0) {
      const fallback = state
        ? `an earlier aggregate, complete up to ${state.nextOffset.toString()}`
        : `the committed offset ${committed.toString()} with an empty aggregate`;
      logger.error(
        {
          code: 'KOS_CHANGELOG_REJECTED',
          partition,
          refused,
          committed: committed.toString(),
          end: end.toString(),
        },
        `Refused ${refused.length} changelog aggregate(s) of ${ordersTopic}[${partition}] that cannot be right (${refused[0] ?? ''}); going on from ${fallback}`,
      );
      for (const reason of refused) bus.emit('changelog.rejected', { partition, reason });
    }
    if (state) return state;
    // No aggregate at all (a new group, a group that ran at-least-once before, a lost changelog): what
    // came before the committed offset was processed without one, so counting starts there.
    return { ...emptyStats(groupId, ordersTopic, partition), nextOffset: committed > 0n ? committed : 0n };
  }

  async #drop(partition: number): Promise<void> {
    const owner = this.#owners.get(partition);
    this.#owners.delete(partition);
    if (owner) await (await owner.catch(() => undefined))?.producer.disconnect().catch(() => undefined);
  }

  async onAssignment(partitions: readonly number[]): Promise<void> {
    this.#retries.keepOnly(partitions);
    this.#o.recorder.waits.keepOnly(partitions);
    const kept = new Set(partitions);
    const gone = [...this.#owners.keys()].filter((p) => !kept.has(p));
    if (gone.length > 0) this.#o.logger.debug({ partitions: gone }, 'Releasing partitions we no longer own');
    // A partition we lose may come back after another instance processed it: forget our copy.
    await Promise.all(gone.map((p) => this.#drop(p)));
  }

  async close(): Promise<void> {
    this.#retries.clear();
    await Promise.all([...this.#owners.keys()].map((p) => this.#drop(p)));
  }
}
