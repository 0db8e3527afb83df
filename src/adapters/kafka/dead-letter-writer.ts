import kafkajs, { type Message } from 'kafkajs';
import { DeadLetterUnwritableError, OrderSystemError } from '../../errors.js';
import { fitDeadLetter } from '../../domain/dead-letter.js';
import type { Logger } from '../../logger.js';
import type { IncomingRecord } from '../../ports/records.js';
import { withDeadline } from './deadline.js';
import { describeKafkaError, isTooLarge, isTopicRefusal } from './kafka-errors.js';
import type { LazyAdmin } from './lazy-admin.js';

// kafkajs is CommonJS, and Node's ESM loader sees only some of its named exports: these come from the default.
const { CompressionTypes, ConfigResourceTypes } = kafkajs;

/** The broker's default max.message.bytes: what a topic accepts when nothing else is known. */
export const DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;
/** The least a dead letter is given: its headers always fit, with some of the original. */
const MIN_RECORD_BYTES = 4096;
/** How long the DLQ topic's limit is believed before it is read again. */
const LIMIT_TTL_MS = 5 * 60_000;
/** How long "the DLQ topic exists" is believed; a failed write asks again at once. */
const EXISTS_TTL_MS = 30_000;

/** How far one write got, for its failure's classification. */
interface WriteProgress {
  /** The send began: the letter may land. */
  sending: boolean;
  /** The deadline passed: nothing may be sent any more. */
  abandoned: boolean;
  maxBytes: number;
  /** The topic limit this write read. */
  limit: number | undefined;
}

/** Sends one dead letter, in a plain producer or in the open transaction. */
export type SendDeadLetter = (message: Message) => Promise<unknown>;

export interface DeadLetterWriterOptions {
  /** The DLQ topic (DLQ_TOPIC). */
  readonly topic: string;
  /** Looks the topic up and reads its max.message.bytes. */
  readonly admin: LazyAdmin;
  /** The longest one write may take, all of it (KAFKA_REQUEST_TIMEOUT_MS). */
  readonly writeTimeoutMs: number;
  readonly logger: Logger;
  /** How long the topic's limit is believed before it is read again (default 5 minutes). */
  readonly limitTtlMs?: number;
}

/**
 * Writes dead letters that always fit the DLQ topic: gzip-compressed, their value (and key) cut to
 * the topic's max.message.bytes with the original's length and SHA-256 in headers (fitDeadLetter),
 * and every failure reported as the partition's reason to wait, never as a crash:
 * DeadLetterUnwritableError when the broker refuses the topic, BrokerUnavailableError otherwise.
 */
export class DeadLetterWriter {
  #limit: { bytes: number; readAt: number } | undefined;
  #existsAt: number | undefined;
  /**
   * Halved on each "too large" refusal: what the broker really takes, when that is less than the topic
   * says (or than the default we assume when the topic's limit cannot be read). It is forgotten only
   * when the topic's limit reads differently, so a refused size is never tried again.
   */
  #learnedMax = Number.POSITIVE_INFINITY;
  /** The topic limit #learnedMax was learned under. */
  #learnedUnder: number | undefined;

  readonly #o: DeadLetterWriterOptions;

  constructor(options: DeadLetterWriterOptions) {
    this.#o = options;
  }

  /** The DLQ topic. */
  get topic(): string {
    return this.#o.topic;
  }

  /**
   * Writes one dead letter, all of it (looking the topic up, reading its limit, sending) within
   * KAFKA_REQUEST_TIMEOUT_MS. Any failure is a DeadLetterUnwritableError, in doubt when the letter may
   * still land (no answer, or a failure that is not a refusal).
   */
  async write(send: SendDeadLetter, record: IncomingRecord, headers: Record<string, Buffer>): Promise<void> {
    const started: WriteProgress = {
      sending: false,
      abandoned: false,
      maxBytes: MIN_RECORD_BYTES,
      limit: undefined,
    };
    try {
      await withDeadline(
        this.#write(send, record, headers, started),
        this.#o.writeTimeoutMs,
        `writing a dead letter to ${this.#o.topic}`,
      );
    } catch (error) {
      // A write that ran out of time before its send must never send later: the record's next try
      // writes the letter again, and two would land.
      started.abandoned = true;
      throw this.#failure(error, started);
    }
  }

  async #write(
    send: SendDeadLetter,
    record: IncomingRecord,
    headers: Record<string, Buffer>,
    started: WriteProgress,
  ): Promise<void> {
    // A send to a missing topic would retry in the background for minutes and might land later, a
    // duplicate: look first, and say plainly that the topic is missing.
    await this.#assertTopicExists();
    started.limit = await this.#topicLimit();
    started.maxBytes = Math.max(MIN_RECORD_BYTES, Math.min(started.limit, this.#learnedMax));
    const letter = fitDeadLetter(record.key, record.value, headers, started.maxBytes);
    if (started.abandoned) return;
    started.sending = true;
    await send({ key: letter.key, value: letter.value, headers: letter.headers });
  }

  /** The compression of every dead-letter send. */
  static readonly compression = CompressionTypes.GZIP;

  #failure(error: unknown, started: WriteProgress): DeadLetterUnwritableError {
    this.#existsAt = undefined;
    if (error instanceof DeadLetterUnwritableError) return error;
    const detail = error instanceof OrderSystemError ? error.message : describeKafkaError(error);
    if (isTooLarge(error)) {
      // The topic's limit was not what we read (or could not read): try again with half the room, and
      // read the limit again, in case it was just changed.
      // Under the limit this write read (another write may have cleared the cached one meanwhile).
      this.#learnedMax = Math.max(MIN_RECORD_BYTES, Math.floor(started.maxBytes / 2));
      this.#learnedUnder = started.limit;
      this.#limit = undefined;
    }
    if (isTopicRefusal(error)) {
      return new DeadLetterUnwritableError(`${this.#o.topic} refused the dead letter: ${detail}`, {
        cause: error,
      });
    }
    // Not a refusal: once the send began, it may have been appended, or may still be (no answer yet).
    return new DeadLetterUnwritableError(`writing a dead letter to ${this.#o.topic}: ${detail}`, {
      cause: error,
      inDoubt: started.sending,
    });
  }

  async #assertTopicExists(): Promise<void> {
    const now = performance.now();
    if (this.#existsAt !== undefined && now - this.#existsAt < EXISTS_TTL_MS) return;
    const admin = await this.#o.admin.get();
    if (!(await admin.listTopics()).includes(this.#o.topic)) {
      throw new DeadLetterUnwritableError(
        `the dead-letter topic ${this.#o.topic} does not exist (create it, or fix DLQ_TOPIC)`,
      );
    }
    this.#existsAt = now;
  }

  /** The topic's max.message.bytes, read now and then; the broker default when it cannot be read. */
  async #topicLimit(): Promise<number> {
    const now = performance.now();
    if (this.#limit && now - this.#limit.readAt < (this.#o.limitTtlMs ?? LIMIT_TTL_MS))
      return this.#limit.bytes;
    let bytes = DEFAULT_MAX_MESSAGE_BYTES;
    try {
      const admin = await withDeadline(
        this.#o.admin.get(),
        this.#o.writeTimeoutMs,
        'connecting an admin client',
      );
      const { resources } = await withDeadline(
        admin.describeConfigs({
          includeSynonyms: false,
          resources: [
            { type: ConfigResourceTypes.TOPIC, name: this.#o.topic, configNames: ['max.message.bytes'] },
          ],
        }),
        this.#o.writeTimeoutMs,
        `reading max.message.bytes of ${this.#o.topic}`,
      );
      const value = Number(
        resources[0]?.configEntries.find((e) => e.configName === 'max.message.bytes')?.configValue,
      );
      if (Number.isSafeInteger(value) && value > 0) bytes = value;
    } catch (error) {
      // Not authorised to describe it, or the topic is missing (then the write says so): assume the default.
      this.#o.logger.debug(
        { err: error, topic: this.#o.topic },
        'Could not read the DLQ topic limit; assuming the default',
      );
    }
    this.#limit = { bytes, readAt: now };
    if (this.#learnedUnder !== undefined && bytes !== this.#learnedUnder) {
      this.#learnedMax = Number.POSITIVE_INFINITY;
      this.#learnedUnder = undefined;
    }
    return bytes;
  }
}
