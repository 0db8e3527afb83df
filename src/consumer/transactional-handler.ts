import type { Admin, Consumer, EachBatchPayload, Kafka, KafkaMessage, Producer } from 'kafkajs';
import { committedOffset } from '../adapters/kafka/group-lag.js';
import type { AppConfig } from '../config/load.js';
import { transactionCloseAfterMs } from '../domain/retry-policy.js';
import { longestRegistryCallMs } from '../adapters/registry/schema-registry-client.js';
import {
  emptyStats,
  serializeStats,
  statsKey,
  StatsDelta,
  type PartitionStats,
} from '../domain/partition-stats.js';
import { isFenced } from '../adapters/kafka/kafka-errors.js';
import { connectTransactional } from '../adapters/kafka/transactional-producer.js';
import type { StatsChangelog } from '../adapters/kafka/stats-changelog.js';
import type { Logger } from '../logger.js';
import { EventLoopYield, lagAfter, toRecord, type BatchHandler } from './batch-handler.js';
import type { ConsumerEventBus } from './events.js';
import type {
  AttemptSoFar,
  DeadLetterSink,
  Outcome,
  OrderProcessor,
  ProcessingContext,
} from './order-processor.js';
import { OrderRun } from './order-run.js';
import type { OutcomeRecorder } from './outcome-recorder.js';
import { PartitionRetries } from './partition-retries.js';

type RetryLater = Extract<Outcome, { kind: 'retry-later' }>;

/** What one transaction did: the outcomes it committed, and the record that has to wait, if any. */
interface ChunkResult {
  /** Undefined when the transaction had nothing to commit (its first record has to wait). */
  readonly lastOffset: string | undefined;
  /** Single outcomes and runs of good orders, in record order. */
  readonly outcomes: (Outcome | OrderRun)[];
  /** Records the outcomes cover. */
  readonly records: number;
  readonly retryLater: RetryLater | undefined;
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
 * Unbounded, as kafkajs does for an idempotent producer; the transaction timeout ends a stuck one.
 */
const TRANSACTIONAL_RETRY = {
  initialRetryTime: 10,
  maxRetryTime: 10_000,
  retries: Number.MAX_SAFE_INTEGER,
} as const;

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
 */
export class TransactionalHandler implements BatchHandler {
  readonly #owners = new Map<number, Promise<PartitionOwner>>();
  readonly #retries = new PartitionRetries();
  readonly #closeAfterMs: number;
  #admin: Promise<Admin> | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly consumer: Consumer,
    private readonly config: AppConfig,
    private readonly processor: OrderProcessor,
    private readonly recorder: OutcomeRecorder,
    private readonly changelog: StatsChangelog,
    private readonly bus: ConsumerEventBus,
    private readonly logger: Logger,
    private readonly isStopping: () => boolean,
  ) {
    // loadConfig guarantees this is positive in exactly-once mode.
    this.#closeAfterMs = transactionCloseAfterMs(
      config.transactionTimeoutMs,
      longestRegistryCallMs(config.registryTimeoutMs),
    );
  }

  transactionalId(partition: number): string {
    return `${this.config.groupId}-${this.config.ordersTopic}-${partition}`;
  }

  async handle(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, isRunning, isStale, pause } = payload;
    const partition = batch.partition;
    const owner = await this.#ownerFor(partition, payload.heartbeat);
    const shouldAbandon = () => this.isStopping() || !isRunning() || isStale();

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
      this.logger.debug(
        {
          partition,
          skipped: batch.messages.length - pending.length,
          nextOffset: owner.state.nextOffset.toString(),
        },
        'Skipping records already in the committed aggregate',
      );
    }
    if (pending.length === 0) {
      if (batch.messages.length > 0) resolveOffset(batch.lastOffset());
      return;
    }
    const first = pending[0];
    if (first && BigInt(first.offset) > owner.state.nextOffset && owner.state.nextOffset > 0n) {
      this.logger.warn(
        { partition, from: owner.state.nextOffset.toString(), to: first.offset },
        'Offsets skip ahead of the aggregate (records deleted by retention?); continuing from the committed offset',
      );
    }

    // A record whose backoff just ended comes first: it goes on counting attempts.
    const parked = first && this.#retries.take(partition, first.offset);
    if (first && parked && !parked.due) {
      // Back before its backoff is over (kafkajs restarted its consumer and forgot the pause): wait on.
      this.#retries.park(partition, first.offset, parked.soFar, parked.remainingMs, pause);
      return;
    }
    let soFar = parked?.soFar;
    let start = 0;
    while (start < pending.length) {
      if (shouldAbandon()) return;
      const chunk = pending.slice(start, start + this.config.transactionMaxRecords);
      const result = await this.#commitChunk(owner, partition, chunk, soFar, shouldAbandon);
      soFar = undefined;
      if (result === undefined) return;
      if (result.lastOffset !== undefined) {
        resolveOffset(result.lastOffset);
        for (const outcome of result.outcomes) {
          if (outcome instanceof OrderRun) this.recorder.recordRun(partition, outcome);
          else this.recorder.record(outcome);
        }
        this.bus.emit('lag', [{ partition, lag: lagAfter(batch.highWatermark, result.lastOffset) }]);
      }
      if (result.retryLater) {
        // Only this partition waits for the backoff; the next fetch starts again at the waiting record.
        const { record, attempt, startedAt, delayMs } = result.retryLater;
        const next = { attempt: attempt + 1, startedAt };
        if (!shouldAbandon() && this.#retries.park(partition, record.offset, next, delayMs, pause))
          this.recorder.record(result.retryLater);
        return;
      }
      start += result.records;
    }
  }

  /**
   * One transaction over the leading records of `chunk`: it closes after the last one, before a
   * record that has to wait for a retry, or once it has been open for #closeAfterMs. Undefined when
   * the transaction failed (the records will be read again).
   */
  async #commitChunk(
    owner: PartitionOwner,
    partition: number,
    chunk: EachBatchPayload['batch']['messages'],
    soFar: AttemptSoFar | undefined,
    shouldAbandon: () => boolean,
  ): Promise<ChunkResult | undefined> {
    const { ordersTopic, dlqTopic, statsTopic, groupId } = this.config;
    const transaction = await owner.producer.transaction();
    const deadLetters: DeadLetterSink = {
      publish: async (record, headers) => {
        await transaction.send({
          topic: dlqTopic,
          messages: [{ key: record.key, value: record.value, headers }],
        });
      },
    };
    const ctx: ProcessingContext = { deadLetters };
    const delta = new StatsDelta();
    const outcomes: (Outcome | OrderRun)[] = [];
    let records = 0;
    let retryLater: RetryLater | undefined;
    let attemptSoFar = soFar;
    const loop = new EventLoopYield();
    // Good orders go in runs, unless each one is to be logged (or a downstream step needs it).
    const inRuns = this.processor.takesRuns && !this.recorder.wantsEachOrder;
    const openedAt = performance.now();
    // One clock read per record or run: each one's finish time is the next one's start.
    let clock = openedAt;
    let abandonCheck = ABANDON_CHECK_EVERY;
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
            ? this.processor.takeRun(chunk, records, abandonCheck, clock)
            : undefined;
        if (run) {
          // The changelog keeps the last order's id: one order per run is decoded whole.
          const lastOrderId = this.processor.orderIdOf(chunk[run.lastIndex]?.value ?? null);
          delta.processedRun(run, lastOrderId);
          outcomes.push(run);
          records += run.count;
          clock = run.finishedAt;
          if (clock - openedAt >= this.#closeAfterMs) break;
          continue;
        }
        const message = chunk[records] as KafkaMessage;
        const record = toRecord(ordersTopic, partition, message);
        const handled = this.processor.handle(record, ctx, clock, attemptSoFar);
        attemptSoFar = undefined;
        const outcome: Outcome = handled instanceof Promise ? await handled : handled;
        if (outcome.kind === 'retry-later') {
          retryLater = outcome;
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
        // Slow records (retries during an outage) must not keep it open until the broker aborts it.
        if (clock - openedAt >= this.#closeAfterMs) break;
      }
      const lastOffset = delta.lastOffset;
      if (lastOffset === undefined) {
        this.logger.debug({ partition }, 'The first record has to wait for a retry; nothing to commit');
        await transaction.abort();
        return { lastOffset: undefined, outcomes, records, retryLater };
      }
      const state = delta.applyTo(owner.state);
      await transaction.send({
        topic: statsTopic,
        messages: [{ key: statsKey(groupId, ordersTopic, partition), value: serializeStats(state) }],
      });
      await transaction.sendOffsets({
        consumerGroupId: groupId,
        topics: [{ topic: ordersTopic, partitions: [{ partition, offset: state.nextOffset.toString() }] }],
      });
      await transaction.commit();
      this.logger.debug(
        {
          partition,
          from: owner.state.nextOffset.toString(),
          nextOffset: state.nextOffset.toString(),
          orders: state.orders.toString(),
          deadLettered: state.deadLettered.toString(),
          waiting: retryLater?.record.offset,
        },
        'Committed a transaction',
      );
      owner.state = state;
      return { lastOffset, outcomes, records, retryLater };
    } catch (error) {
      this.logger.debug(
        { partition, err: error, from: owner.state.nextOffset.toString() },
        'Transaction failed; aborting and reading again from the committed offset',
      );
      await transaction.abort().catch(() => undefined);
      // Read again from the last committed offset; the aborted work is invisible to read_committed readers.
      this.consumer.seek({ topic: ordersTopic, partition, offset: owner.state.nextOffset.toString() });
      await this.#drop(partition);
      if (isFenced(error)) {
        this.logger.warn(
          { partition },
          'Fenced: another instance now owns this partition; dropping our state',
        );
        return undefined;
      }
      throw error;
    }
  }

  #ownerFor(partition: number, heartbeat: () => Promise<void>): Promise<PartitionOwner> {
    let owner = this.#owners.get(partition);
    if (!owner) {
      owner = this.#becomeOwner(partition, heartbeat);
      this.#owners.set(partition, owner);
      owner.catch(() => this.#owners.delete(partition));
    }
    return owner;
  }

  /** Fence the previous owner, then restore the partition's aggregate from the changelog. */
  async #becomeOwner(partition: number, heartbeat: () => Promise<void>): Promise<PartitionOwner> {
    const producer = this.kafka.producer({
      transactionalId: this.transactionalId(partition),
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: this.config.transactionTimeoutMs,
      retry: TRANSACTIONAL_RETRY,
    });
    // InitProducerId bumps the epoch, completing or aborting whatever the previous owner left open.
    await connectTransactional(producer, this.logger.child({ partition }));
    // Only after fencing is the changelog final for this partition; read it to its current end.
    await this.changelog.catchUp(RESTORE_TIMEOUT_MS);
    const { groupId, ordersTopic } = this.config;
    // The group's offset and the aggregate are committed in one transaction, so the aggregate must reach
    // the offset. The changelog's read_committed end can stop short of it: behind another transaction still
    // open on the changelog. Starting from the offset with an older aggregate would lose those orders.
    const committed = await committedOffset(await this.#adminClient(), groupId, ordersTopic, partition);
    // A transaction left open is aborted by the broker after TRANSACTION_TIMEOUT_MS at the latest.
    const waitMs = this.config.transactionTimeoutMs + RESTORE_TIMEOUT_MS;
    if (!(await this.changelog.reaches(groupId, ordersTopic, partition, committed, waitMs, heartbeat))) {
      this.logger.warn(
        { partition, committed: committed.toString() },
        'The aggregate stays behind the committed offset (offsets moved by hand?); continuing with it',
      );
    }
    const state =
      this.changelog.get(groupId, ordersTopic, partition) ?? emptyStats(groupId, ordersTopic, partition);
    this.logger.info(
      { partition, orders: state.orders.toString(), nextOffset: state.nextOffset.toString() },
      `Restored the aggregate of ${this.config.ordersTopic}[${partition}]: ${state.orders.toString()} orders up to offset ${state.nextOffset.toString()}`,
    );
    return { producer, state };
  }

  async #drop(partition: number): Promise<void> {
    const owner = this.#owners.get(partition);
    this.#owners.delete(partition);
    if (owner) await (await owner.catch(() => undefined))?.producer.disconnect().catch(() => undefined);
  }

  async onAssignment(partitions: readonly number[]): Promise<void> {
    this.#retries.keepOnly(partitions);
    const kept = new Set(partitions);
    const gone = [...this.#owners.keys()].filter((p) => !kept.has(p));
    if (gone.length > 0) this.logger.debug({ partitions: gone }, 'Releasing partitions we no longer own');
    // A partition we lose may come back after another instance processed it: forget our copy.
    await Promise.all(gone.map((p) => this.#drop(p)));
  }

  async close(): Promise<void> {
    this.#retries.clear();
    await Promise.all([...this.#owners.keys()].map((p) => this.#drop(p)));
    await this.#admin?.then((admin) => admin.disconnect()).catch(() => undefined);
    this.#admin = undefined;
  }

  /** One admin client for the group's committed offsets, connected on first use. */
  #adminClient(): Promise<Admin> {
    this.#admin ??= (async () => {
      const admin = this.kafka.admin();
      await admin.connect();
      return admin;
    })();
    // A failed connect is not kept: the next new owner tries again.
    this.#admin.catch(() => (this.#admin = undefined));
    return this.#admin;
  }
}
