import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Message } from 'kafkajs';
import { DeadLetterWriter, DEFAULT_MAX_MESSAGE_BYTES } from '../../src/adapters/kafka/dead-letter-writer.js';
import type { LazyAdmin } from '../../src/adapters/kafka/lazy-admin.js';
import type { IncomingRecord } from '../../src/ports/records.js';
import { DeadLetterUnwritableError } from '../../src/errors.js';
import { createLogger } from '../../src/logger.js';

const TOPIC = 'orders-dlq';
const logger = createLogger({ level: 'silent', format: 'json', name: 'test' });

/** A broker error as kafkajs raises it: the broker's error type on the error. */
const brokerError = (type: string) => Object.assign(new Error(`broker said ${type}`), { type });

interface BrokerStandIn {
  /** What the DLQ topic says its max.message.bytes is; undefined: describing it is not allowed. */
  topicLimit: number | undefined;
  /** What the broker really appends (a broker-wide or proxy limit below the topic's). */
  accepts: number;
  topics: string[];
  /** The uncompressed sizes of the sends tried, in order, and whether each was appended. */
  readonly sends: { bytes: number; appended: boolean }[];
}

/**
 * An admin client and a send answering like a broker: a topic list, the topic's limit (or a refusal to
 * describe it), and MESSAGE_TOO_LARGE for a letter over what it really appends.
 */
function brokerStandIn(initial: Partial<BrokerStandIn>) {
  const broker: BrokerStandIn = {
    topicLimit: DEFAULT_MAX_MESSAGE_BYTES,
    accepts: DEFAULT_MAX_MESSAGE_BYTES,
    topics: [TOPIC],
    sends: [],
    ...initial,
  };
  const admin = {
    listTopics: () => Promise.resolve(broker.topics),
    describeConfigs: () =>
      broker.topicLimit === undefined
        ? Promise.reject(brokerError('TOPIC_AUTHORIZATION_FAILED'))
        : Promise.resolve({
            resources: [
              {
                configEntries: [{ configName: 'max.message.bytes', configValue: String(broker.topicLimit) }],
              },
            ],
          }),
  };
  const lazyAdmin = { get: () => Promise.resolve(admin) } as unknown as LazyAdmin;
  const send = (message: Message) => {
    const bytes =
      (message.key?.length ?? 0) +
      (Buffer.isBuffer(message.value) ? message.value.length : 0) +
      Object.entries(message.headers ?? {}).reduce(
        (n, [name, v]) => n + name.length + (Buffer.isBuffer(v) ? v.length : 0),
        0,
      );
    const appended = bytes <= broker.accepts;
    broker.sends.push({ bytes, appended });
    return appended ? Promise.resolve() : Promise.reject(brokerError('MESSAGE_TOO_LARGE'));
  };
  return { broker, lazyAdmin, send };
}

const record = (valueBytes: number): IncomingRecord => ({
  topic: 'orders',
  partition: 0,
  offset: '7',
  timestamp: '0',
  key: Buffer.from('order-7'),
  value: Buffer.alloc(valueBytes, 0x41),
});
const headers = { 'kafka_dlt-exception-message': Buffer.from('schema id 9 is not in the registry') };

/** Writes until the letter lands (each failure is what makes the partition wait and try again). */
async function writeUntilAppended(writer: DeadLetterWriter, send: (m: Message) => Promise<unknown>) {
  const failures: DeadLetterUnwritableError[] = [];
  for (let attempt = 0; attempt < 20; attempt += 1) {
    try {
      await writer.write(send, record(900_000), headers);
      return failures;
    } catch (error) {
      assert.ok(error instanceof DeadLetterUnwritableError, String(error));
      failures.push(error);
    }
  }
  assert.fail('the dead letter never landed');
}

describe('dead-letter writer', () => {
  it('when the broker appends less than the topic limit says, then the letter shrinks until it lands, and stays at that size', async () => {
    // The topic limit cannot be read (no DescribeConfigs right): the writer assumes the broker default.
    const { broker, lazyAdmin, send } = brokerStandIn({ topicLimit: undefined, accepts: 200_000 });
    // The limit is read again before every write (it is believed for minutes in production): reading
    // the same answer again must not forget what the refusals taught.
    const writer = new DeadLetterWriter({
      topic: TOPIC,
      admin: lazyAdmin,
      writeTimeoutMs: 1000,
      logger,
      limitTtlMs: 0,
    });
    const failures = await writeUntilAppended(writer, send);
    assert.ok(failures.length >= 1 && failures.length <= 4, `${failures.length} refusals`);
    for (const failure of failures) {
      assert.equal(failure.inDoubt, false, 'a refusal is not in doubt: nothing was appended');
    }
    const landed = broker.sends.at(-1);
    assert.ok(landed?.appended && landed.bytes <= 200_000 && landed.bytes > 100_000, JSON.stringify(landed));

    // The next letters go straight at the size that landed: no refusal, no oscillation back up.
    broker.sends.length = 0;
    for (let i = 0; i < 5; i += 1) await writer.write(send, record(900_000), headers);
    assert.deepEqual(
      broker.sends.map((s) => s.appended),
      [true, true, true, true, true],
    );
  });

  it('when the topic limit is raised after the writer learned a smaller size, then the letters grow back', async () => {
    const { broker, lazyAdmin, send } = brokerStandIn({ topicLimit: 1_000_000, accepts: 100_000 });
    // The limit is read again before every write (it is believed for minutes in production).
    const writer = new DeadLetterWriter({
      topic: TOPIC,
      admin: lazyAdmin,
      writeTimeoutMs: 1000,
      logger,
      limitTtlMs: 0,
    });
    await writeUntilAppended(writer, send);
    assert.ok((broker.sends.at(-1)?.bytes ?? 0) <= 100_000);

    // An operator fixes the broker and says so on the topic: once the limit is read again and reads
    // differently, what was learned under the old one is dropped.
    broker.accepts = 2_000_000;
    broker.topicLimit = 2_000_000;
    broker.sends.length = 0;
    await writer.write(send, record(900_000), headers);
    assert.deepEqual(broker.sends.length, 1);
    assert.ok((broker.sends[0]?.bytes ?? 0) > 900_000, 'the whole original fits again');
  });

  it('when the DLQ topic does not exist, then nothing is sent and the error says so, not in doubt', async () => {
    const { broker, lazyAdmin, send } = brokerStandIn({ topics: ['orders'] });
    const writer = new DeadLetterWriter({ topic: TOPIC, admin: lazyAdmin, writeTimeoutMs: 1000, logger });
    await assert.rejects(writer.write(send, record(10), headers), (error: unknown) => {
      assert.ok(error instanceof DeadLetterUnwritableError);
      assert.match(error.message, /does not exist/);
      assert.equal(error.inDoubt, false);
      return true;
    });
    assert.equal(broker.sends.length, 0);
  });

  it('when the send gets no answer, then the write ends at its deadline, in doubt (it may still land)', async () => {
    const { lazyAdmin } = brokerStandIn({});
    const writer = new DeadLetterWriter({ topic: TOPIC, admin: lazyAdmin, writeTimeoutMs: 300, logger });
    const started = performance.now();
    await assert.rejects(
      writer.write(() => new Promise(() => undefined), record(10), headers),
      (error: unknown) => {
        assert.ok(error instanceof DeadLetterUnwritableError);
        assert.equal(error.inDoubt, true);
        return true;
      },
    );
    const took = performance.now() - started;
    assert.ok(took >= 250 && took < 2000, `${took} ms`);
  });

  it('when the deadline passes before the send (a slow topic lookup), then nothing is sent later', async () => {
    let answerLookup: () => void = () => undefined;
    const lookedUp = new Promise<void>((resolve) => (answerLookup = resolve));
    const sends: Message[] = [];
    const admin = {
      listTopics: async () => {
        await lookedUp;
        return [TOPIC];
      },
      describeConfigs: () => Promise.reject(brokerError('TOPIC_AUTHORIZATION_FAILED')),
    };
    const lazyAdmin = { get: () => Promise.resolve(admin) } as unknown as LazyAdmin;
    const writer = new DeadLetterWriter({ topic: TOPIC, admin: lazyAdmin, writeTimeoutMs: 100, logger });
    await assert.rejects(
      writer.write((m) => Promise.resolve(sends.push(m)), record(10), headers),
      (error: unknown) => error instanceof DeadLetterUnwritableError && !error.inDoubt,
    );
    // The lookup answers after the deadline; the abandoned write goes on until it would send.
    answerLookup();
    await lookedUp;
    for (let i = 0; i < 10; i += 1) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(sends.length, 0, 'the record will be written again by its next try: one letter only');
  });

  it('when the broker refuses the topic (not authorised), then the error is not in doubt', async () => {
    const { lazyAdmin } = brokerStandIn({});
    const writer = new DeadLetterWriter({ topic: TOPIC, admin: lazyAdmin, writeTimeoutMs: 1000, logger });
    await assert.rejects(
      writer.write(() => Promise.reject(brokerError('TOPIC_AUTHORIZATION_FAILED')), record(10), headers),
      (error: unknown) => error instanceof DeadLetterUnwritableError && !error.inDoubt,
    );
  });
});
