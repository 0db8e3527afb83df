import type { Producer } from 'kafkajs';
import type { DeadLetterSink } from '../../ports/processing.js';
import type { IncomingRecord } from '../../ports/records.js';
import { DeadLetterWriter } from './dead-letter-writer.js';

/**
 * At-least-once dead letters: original key and value bytes (cut only when they cannot fit, see
 * DeadLetterWriter), sent with `acks: -1`, so "sent" means "on every in-sync replica", which is
 * what lets the consumer commit past the record.
 */
export class DeadLetterPublisher implements DeadLetterSink {
  /** `producer` sends through `writer` (whose topic is the DLQ). */
  constructor(
    private readonly producer: Producer,
    private readonly writer: DeadLetterWriter,
  ) {}

  publish(record: IncomingRecord, headers: Record<string, Buffer>): Promise<void> {
    return this.writer.write(
      (message) =>
        this.producer.send({
          topic: this.writer.topic,
          acks: -1,
          compression: DeadLetterWriter.compression,
          messages: [message],
        }),
      record,
      headers,
    );
  }
}
