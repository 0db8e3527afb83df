import type { Producer } from 'kafkajs';
import type { DeadLetterSink, IncomingRecord } from '../../consumer/order-processor.js';

/**
 * Writes dead letters with the original key and value bytes untouched, so a
 * record can be replayed as it was. `acks: -1` makes "sent" mean "on every
 * in-sync replica", which is what lets the consumer commit past it.
 */
export class DeadLetterPublisher implements DeadLetterSink {
  constructor(
    private readonly producer: Producer,
    private readonly topic: string,
  ) {}

  async publish(record: IncomingRecord, headers: Record<string, Buffer>): Promise<void> {
    await this.producer.send({
      topic: this.topic,
      acks: -1,
      messages: [{ key: record.key, value: record.value, headers }],
    });
  }
}
