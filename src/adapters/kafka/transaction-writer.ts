import type { Producer, Transaction } from 'kafkajs';
import { DeadLetterUnwritableError } from '../../errors.js';
import { serializeStats, statsKey, type PartitionStats } from '../../domain/partition-stats.js';
import type { PartitionTransaction } from '../../ports/exactly-once.js';
import type { DeadLetterSink } from '../../ports/processing.js';
import { withDeadline } from './deadline.js';
import { DeadLetterWriter } from './dead-letter-writer.js';

/** The topics and group a transaction writes to. */
export interface TransactionTopics {
  readonly groupId: string;
  readonly ordersTopic: string;
  readonly dlqTopic: string;
  readonly statsTopic: string;
}

export interface TransactionWriterOptions {
  readonly topics: TransactionTopics;
  /** Writes dead letters that always fit the DLQ topic. */
  readonly deadLetters: DeadLetterWriter;
  /** The longest one write may take (KAFKA_REQUEST_TIMEOUT_MS), whatever kafkajs retries. */
  readonly writeTimeoutMs: number;
}

/**
 * Opens the transactions of partitions we own, on each one's transactional producer: dead letters
 * go into the transaction, then the new aggregate and the consumer offset, then the commit; every
 * write bounded by the write deadline.
 */
export class TransactionWriter {
  readonly #o: TransactionWriterOptions;

  constructor(options: TransactionWriterOptions) {
    this.#o = options;
  }

  async begin(producer: Producer, partition: number): Promise<PartitionTransaction> {
    const transaction = await withDeadline(
      producer.transaction(),
      this.#o.writeTimeoutMs,
      'beginning a transaction',
    );
    return new KafkaTransaction({ transaction, partition, writer: this.#o });
  }
}

interface KafkaTransactionOptions {
  readonly transaction: Transaction;
  readonly partition: number;
  readonly writer: TransactionWriterOptions;
}

class KafkaTransaction implements PartitionTransaction {
  deadLetterFailed = false;
  producerInDoubt: DeadLetterUnwritableError | undefined;
  /**
   * A dead letter that was refused leaves the transaction in doubt: it is aborted, never committed. One
   * that got no answer may still be sent by kafkajs, into whatever transaction is open then: the
   * producer itself is in doubt, and is dropped.
   */
  readonly deadLetters: DeadLetterSink = {
    publish: (record, headers) =>
      this.#t.writer.deadLetters
        .write(
          (message) =>
            this.#t.transaction.send({
              topic: this.#t.writer.topics.dlqTopic,
              compression: DeadLetterWriter.compression,
              messages: [message],
            }),
          record,
          headers,
        )
        .catch((error: unknown) => {
          this.deadLetterFailed = true;
          if (error instanceof DeadLetterUnwritableError && error.inDoubt) this.producerInDoubt = error;
          throw error;
        }),
  };

  readonly #t: KafkaTransactionOptions;

  constructor(options: KafkaTransactionOptions) {
    this.#t = options;
  }

  async commit(state: PartitionStats): Promise<void> {
    const { groupId, ordersTopic, statsTopic } = this.#t.writer.topics;
    const { partition, transaction } = this.#t;
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
  }

  async abort(): Promise<void> {
    await this.#write(this.#t.transaction.abort(), 'aborting a transaction').catch(() => undefined);
  }

  /** One write of the transaction, bounded by KAFKA_REQUEST_TIMEOUT_MS whatever kafkajs retries. */
  #write<T>(work: Promise<T>, what: string): Promise<T> {
    return withDeadline(work, this.#t.writer.writeTimeoutMs, what);
  }
}
