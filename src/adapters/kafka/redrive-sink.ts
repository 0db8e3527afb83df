import { Partitioners, type Kafka, type Message, type Producer, type Transaction } from 'kafkajs';
import type { Logger } from '../../logger.js';
import { RedriveFencedError, type Redrive, type RedriveSink } from '../../ports/redrive.js';
import type { TraceSpan, Tracing } from '../../ports/tracing.js';
import { describeKafkaError, isFenced } from './kafka-errors.js';
import { connectTransactional } from './transactional-producer.js';

/**
 * One transactional id per DLQ, whoever replays it: each replay's InitProducerId fences the one before,
 * whose open transaction is aborted and whose later commits fail, so two replays of one DLQ never send
 * side by side. The ledger is then read after the fence, so it holds every commit the fenced one made.
 */
export const redriveTransactionalId = (dlqTopic: string): string => `kos-redrive-${dlqTopic}`;

/** Long enough for one transaction of a replay, which only sends and commits (it never waits inside one). */
const TRANSACTION_TIMEOUT_MS = 60_000;

export interface KafkaRedriveSinkOptions {
  readonly dlqTopic: string;
  readonly ledgerTopic: string;
  readonly logger: Logger;
  /** None: tracing is off, and the records go with the trace context the dead letters carried. */
  readonly tracing?: Tracing | undefined;
}

/** Replayed records and their ledger entries, in one Kafka transaction per commit. */
export class KafkaRedriveSink implements RedriveSink {
  readonly #producer: Producer;
  readonly #o: KafkaRedriveSinkOptions;

  private constructor(producer: Producer, options: KafkaRedriveSinkOptions) {
    this.#producer = producer;
    this.#o = options;
  }

  /** Connects and initialises the transactional id: from here on, no earlier replay of this DLQ can commit. */
  static async connect(kafka: Kafka, options: KafkaRedriveSinkOptions): Promise<KafkaRedriveSink> {
    const producer = kafka.producer({
      transactionalId: redriveTransactionalId(options.dlqTopic),
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: TRANSACTION_TIMEOUT_MS,
      allowAutoTopicCreation: false,
      // The producer's (Java's murmur2): a replayed order lands in the partition of its key, after the
      // orders produced before it, as its original did.
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    await connectTransactional(producer, options.logger);
    return new KafkaRedriveSink(producer, options);
  }

  async commit(redrives: readonly Redrive[]): Promise<void> {
    if (redrives.length === 0) return;
    const byTopic = new Map<string, Message[]>();
    const { tracing } = this.#o;
    // One `send` span per replayed order, a child of the trace its dead letter carries; done at the commit.
    const spans: TraceSpan[] = [];
    for (const r of redrives) {
      const messages = byTopic.get(r.topic) ?? [];
      let headers = r.headers;
      if (tracing) {
        headers = { ...r.headers };
        spans.push(tracing.startRedrive(r.topic, headers));
      }
      messages.push({ key: r.key, value: r.value, headers });
      byTopic.set(r.topic, messages);
    }
    const ledger: Message[] = redrives.map((r) => ({ key: r.ledgerKey, value: r.ledgerValue }));
    // Opened inside the try: a transaction that cannot even open (fenced, the broker away) fails the
    // spans like any other.
    let tx: Transaction | undefined;
    try {
      tx = await this.#producer.transaction();
      await tx.sendBatch({
        acks: -1,
        topicMessages: [
          ...[...byTopic].map(([topic, messages]) => ({ topic, messages })),
          { topic: this.#o.ledgerTopic, messages: ledger },
        ],
      });
      await tx.commit();
    } catch (error) {
      for (const span of spans) span.end(error);
      await tx?.abort().catch(() => undefined);
      if (isFenced(error))
        throw new RedriveFencedError(
          `another replay of ${this.#o.dlqTopic} took over (transactional id ${redriveTransactionalId(this.#o.dlqTopic)}): ` +
            'this one stops; its open transaction was aborted and nothing of it is visible',
          { cause: error },
        );
      throw new Error(`a redrive transaction failed and was aborted: ${describeKafkaError(error)}`, {
        cause: error,
      });
    }
    for (const span of spans) span.end();
  }

  async disconnect(): Promise<void> {
    await this.#producer.disconnect().catch(() => undefined);
  }
}
