import type { Kafka } from 'kafkajs';
import { ledgerEntryIdentity } from '../../domain/redrive-selection.js';
import type { Logger } from '../../logger.js';
import type { DlqReader, DlqRecord } from '../../ports/redrive.js';
import { readToEnd } from './committed-reader.js';

export interface KafkaDlqReaderOptions {
  readonly dlqTopic: string;
  readonly ledgerTopic: string;
  readonly logger: Logger;
}

/** The DLQ and its redrive ledger, each read to its end as of the call, under read_committed. */
export class KafkaDlqReader implements DlqReader {
  readonly #kafka: Kafka;
  readonly #o: KafkaDlqReaderOptions;

  constructor(kafka: Kafka, options: KafkaDlqReaderOptions) {
    this.#kafka = kafka;
    this.#o = options;
  }

  async readLedger(): Promise<ReadonlyMap<string, string>> {
    const { ledgerTopic, logger } = this.#o;
    const entries = new Map<string, string>();
    // No ledger yet (no replay ever ran, or a dry run before the first): nothing was replayed.
    if (!(await this.#exists(ledgerTopic))) return entries;
    await readToEnd(this.#kafka, {
      topic: ledgerTopic,
      logger,
      each: ({ message }) => {
        const key = message.key?.toString('utf8');
        const identity = ledgerEntryIdentity(message.value);
        // Compacted, keyed by DLQ position: the newest entry of a key is the one that counts. A record
        // that is not an entry of ours proves nothing was replayed, so it never hides a dead letter.
        if (key !== undefined && identity !== undefined) entries.set(key, identity);
        else if (key !== undefined) entries.delete(key);
        return Promise.resolve();
      },
    });
    return entries;
  }

  async scan(each: (record: DlqRecord) => Promise<void>): Promise<void> {
    // Said plainly, rather than after the client's retries give up on an unknown topic.
    if (!(await this.#exists(this.#o.dlqTopic)))
      throw new Error(`the dead-letter topic ${this.#o.dlqTopic} does not exist (DLQ_TOPIC)`);
    await readToEnd(this.#kafka, {
      topic: this.#o.dlqTopic,
      logger: this.#o.logger,
      each: ({ partition, message }) =>
        each({
          partition,
          offset: message.offset,
          key: message.key,
          value: message.value,
          headers: message.headers ?? {},
        }),
    });
  }

  async #exists(topic: string): Promise<boolean> {
    const admin = this.#kafka.admin();
    await admin.connect();
    try {
      return (await admin.listTopics()).includes(topic);
    } finally {
      await admin.disconnect();
    }
  }
}
