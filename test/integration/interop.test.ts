import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';
import { startConsumer } from '../../src/consumer/index.js';
import { parseCents } from '../../src/domain/money.js';
import { runProducer } from '../../src/producer/index.js';
import {
  createTestTopics,
  deleteTestTopics,
  newTestTopics,
  quietLogger,
  testConfig,
  testKafka,
} from '../helpers/kafka.js';
import { waitUntil } from '../helpers/wait.js';

const PYTHON = fileURLToPath(new URL('../../.cache/pyclient/bin/python', import.meta.url));
const SCRIPT = fileURLToPath(new URL('../interop/produce_with_confluent_kafka.py', import.meta.url));
const kafka = testKafka();
const topics = newTestTopics('interop');

after(() => deleteTestTopics(kafka, topics));

describe('interoperability with another Confluent client', () => {
  it("when Confluent's Python client produces Avro orders with the registered schema, then our consumer processes them to the cent", async () => {
    assert.ok(existsSync(PYTHON), `${PYTHON} is missing: run scripts/setup-python-client.sh (npm test does)`);
    await createTestTopics(kafka, topics);
    const producerConfig = testConfig('producer', topics, { ORDER_COUNT: '1' });
    // Our producer registers the subject; the foreign client then writes with that schema.
    await runProducer(producerConfig, { logger: quietLogger, http: false });
    const consumer = await startConsumer(testConfig('consumer', topics), { logger: quietLogger });
    try {
      await waitUntil('our own order', () => consumer.stats().processed === 1);
      const before = consumer.stats().sumCents;

      const { stdout } = await promisify(execFile)(
        PYTHON,
        [
          SCRIPT,
          producerConfig.brokers.join(','),
          producerConfig.schemaRegistryUrl,
          topics.ordersTopic,
          '25',
        ],
        { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
      ).catch((error: unknown) => {
        // The script logs its steps and librdkafka's broker/EOS debug lines to stderr: show where it stopped.
        const stderr = (error as { stderr?: string }).stderr ?? '';
        throw new Error(
          `${String(error).split('\n')[0]}\n--- last stderr lines ---\n${stderr.split('\n').slice(-60).join('\n')}`,
        );
      });
      const sent = stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { orderId: string; price: string });
      assert.equal(sent.length, 25);
      const expectedSum = sent.reduce((sum, o) => sum + parseCents(o.price), 0n);

      await waitUntil('the 25 foreign orders', () => consumer.stats().processed === 26);
      assert.equal(consumer.stats().deadLettered, 0);
      assert.equal(consumer.stats().sumCents - before, expectedSum);
    } finally {
      await consumer.stop();
    }
  });
});
