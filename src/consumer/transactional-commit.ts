import { StatsDelta, type PartitionStats } from '../domain/partition-stats.js';
import type { Logger } from '../logger.js';
import type { OwnedPartition, PartitionOwnership, PartitionTransaction } from '../ports/exactly-once.js';
import type { ComeBackLater, FinalOutcome, ProcessingContext } from '../ports/processing.js';
import type { BatchControl, BatchRecord, ConsumedBatch } from '../ports/records.js';
import type { BatchCommit, CommitStrategy, CommitUnit, UnitEnd, WaitAt } from './commit-strategy.js';
import { OrderRun } from './order-run.js';
import type { OutcomeRecorder } from './outcome-recorder.js';

/** Records between checks, within a transaction, of whether to stop early. */
const ABANDON_CHECK_EVERY = 1000;

export interface TransactionalCommitOptions {
  /** Each partition's producer and restored aggregate (adapters/kafka/partition-owners.ts). */
  readonly owners: PartitionOwnership;
  readonly recorder: OutcomeRecorder;
  /** The id of an order taken in a run (OrderProcessor.orderIdOf): the changelog keeps the last one. */
  readonly orderIdOf: (value: Buffer | null) => string;
  readonly logger: Logger;
  /** TRANSACTION_MAX_RECORDS. */
  readonly maxRecords: number;
  /** How long a transaction takes records (config/time-budget.ts: one more record and the commit still fit). */
  readonly closeAfterMs: number;
}

/**
 * Kafka Streams' exactly-once, by hand: for each partition, the records' DLQ writes, the new aggregate
 * and the consumer offset commit in one transaction, of at most TRANSACTION_MAX_RECORDS records. It
 * closes after the last one, before a record that has to come back (a retry, or a wait for a
 * dependency), once it has been open for `closeAfterMs`, or when a stop or a rebalance begins.
 * Outcomes are recorded once their transaction has committed.
 *
 * Ownership (the per-partition transactional id that fences the previous owner, the restored
 * aggregate) is PartitionOwnership's; a transaction that fails makes the partition read again from the
 * committed offset with a new producer, after a wait.
 */
export class TransactionalCommit implements CommitStrategy {
  readonly #o: TransactionalCommitOptions;

  constructor(options: TransactionalCommitOptions) {
    this.#o = options;
  }

  async open(batch: ConsumedBatch, control: BatchControl): Promise<BatchCommit | WaitAt | undefined> {
    const { owners, recorder, logger } = this.#o;
    const { partition, messages } = batch;
    const head = messages[0] as BatchRecord;
    let owner: OwnedPartition;
    try {
      owner = await owners.ownerFor(partition, () => control.heartbeat());
    } catch (error) {
      // Fencing or restoring failed (the broker is away, the changelog is slow): wait, then try again.
      return { waitAt: head.offset, error };
    }
    // Records below nextOffset are already in the committed aggregate (e.g. a fenced owner's last commit
    // landed after our offsets were fetched): counting them again would break exactness. Offsets
    // ascend, so only a prefix can be below nextOffset: one BigInt per record skipped, not per record.
    const { nextOffset } = owner.state;
    let skip = 0;
    while (skip < messages.length && BigInt(messages[skip]?.offset ?? '0') < nextOffset) skip += 1;
    if (skip > 0) {
      logger.debug(
        { partition, skipped: skip, nextOffset: nextOffset.toString() },
        'Skipping records already in the committed aggregate',
      );
    }
    const first = messages[skip];
    if (first === undefined) {
      control.resolveBatch();
      // Whatever the partition waited for (a commit that did land after all), it goes on.
      recorder.waits.wentOn(partition);
      return undefined;
    }
    if (BigInt(first.offset) > nextOffset && nextOffset > 0n) {
      logger.warn(
        { partition, from: nextOffset.toString(), to: first.offset },
        'Offsets skip ahead of the aggregate (records deleted by retention?); continuing from the committed offset',
      );
    }
    return new TransactionalBatch({ batch, control, owner, from: skip, strategy: this.#o });
  }

  /** A partition we lose may come back after another instance processed it: its owner is dropped. */
  onAssignment(partitions: readonly number[]): Promise<void> {
    return this.#o.owners.keepOnly(partitions);
  }

  close(): Promise<void> {
    return this.#o.owners.close();
  }
}

/** The open transaction of a batch, with the aggregate and the outcomes of what it took so far. */
interface OpenTransaction {
  readonly tx: PartitionTransaction;
  readonly delta: StatsDelta;
  readonly outcomes: (FinalOutcome | OrderRun)[];
}

interface TransactionalBatchOptions {
  readonly batch: ConsumedBatch;
  readonly control: BatchControl;
  readonly owner: OwnedPartition;
  readonly from: number;
  readonly strategy: TransactionalCommitOptions;
}

/** One batch of a partition we own, in transactions: each unit is one transaction. */
class TransactionalBatch implements BatchCommit, CommitUnit {
  readonly from: number;
  readonly checkEvery = ABANDON_CHECK_EVERY;
  readonly maxRecords: number;
  readonly takesRecordsForMs: number;
  readonly #batch: ConsumedBatch;
  readonly #control: BatchControl;
  readonly #owner: OwnedPartition;
  readonly #o: TransactionalCommitOptions;
  #open: OpenTransaction | undefined;

  constructor(options: TransactionalBatchOptions) {
    this.from = options.from;
    this.#batch = options.batch;
    this.#control = options.control;
    this.#owner = options.owner;
    this.#o = options.strategy;
    this.maxRecords = options.strategy.maxRecords;
    this.takesRecordsForMs = options.strategy.closeAfterMs;
  }

  get context(): ProcessingContext {
    return this.#transaction().tx;
  }

  async begin(): Promise<CommitUnit | WaitAt> {
    try {
      this.#open = { tx: await this.#owner.begin(), delta: new StatsDelta(), outcomes: [] };
    } catch (error) {
      return this.#readAgain(error);
    }
    return this;
  }

  took(outcome: FinalOutcome): void {
    const { delta, outcomes } = this.#transaction();
    const { offset } = outcome.record;
    if (outcome.kind === 'processed')
      delta.processed(outcome.order.priceCents, outcome.order.orderId, offset);
    else delta.deadLetteredAt(offset);
    outcomes.push(outcome);
  }

  tookRun(run: OrderRun, records: readonly BatchRecord[]): void {
    const { delta, outcomes } = this.#transaction();
    // The changelog keeps the last order's id: one order per run is decoded whole.
    delta.processedRun(run, this.#o.orderIdOf(records[run.lastIndex]?.value ?? null));
    outcomes.push(run);
  }

  async close(taken: number, comeBack: ComeBackLater | undefined): Promise<UnitEnd> {
    const { tx, delta, outcomes } = this.#transaction();
    const { logger, recorder } = this.#o;
    const partition = this.#batch.partition;
    const lastOffset = delta.lastOffset;
    let state: PartitionStats;
    try {
      if (tx.producerInDoubt) throw tx.producerInDoubt;
      if (tx.deadLetterFailed) {
        // The dead letter of the record that comes back failed: abort; the loop then takes what came
        // before it again in a unit of its own ('redo'), so the partition waits at that record, not before.
        await tx.abort();
        return taken === 0 ? 'go-on' : 'redo';
      }
      if (lastOffset === undefined) {
        logger.debug({ partition }, 'The first record has to come back later; nothing to commit');
        await tx.abort();
        return 'go-on';
      }
      state = delta.applyTo(this.#owner.state);
      await tx.commit(state);
    } catch (error) {
      return this.fail(error);
    }
    logger.debug(
      {
        partition,
        from: this.#owner.state.nextOffset.toString(),
        nextOffset: state.nextOffset.toString(),
        orders: state.orders.toString(),
        deadLettered: state.deadLettered.toString(),
        waiting: comeBack?.record.offset,
      },
      'Committed a transaction',
    );
    this.#owner.state = state;
    this.#control.resolveOffset(lastOffset);
    for (const outcome of outcomes) {
      if (outcome instanceof OrderRun) recorder.recordRun(partition, outcome);
      else recorder.record(outcome);
    }
    recorder.doneUpTo(this.#batch, lastOffset);
    return 'go-on';
  }

  /** The transaction failed: aborted, everything it did is invisible to read_committed readers. */
  async fail(error: unknown): Promise<UnitEnd> {
    await this.#transaction().tx.abort();
    return this.#readAgain(error);
  }

  finish(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * Read again from the committed offset with a new producer (fencing any zombie of ours), after a wait
   * for the broker; when another instance fenced us, the partition is theirs.
   */
  async #readAgain(error: unknown): Promise<WaitAt> {
    const from = this.#owner.state.nextOffset.toString();
    this.#control.seek(from);
    const waitFor = await this.#o.owners.afterFailedTransaction(this.#batch.partition, error, from);
    return { waitAt: from, error: waitFor };
  }

  #transaction(): OpenTransaction {
    if (this.#open === undefined) throw new Error('no transaction is open');
    return this.#open;
  }
}
