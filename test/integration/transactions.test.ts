import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Kafka, Producer } from 'kafkajs';
import { isFenced } from '../../src/adapters/kafka/kafka-errors.js';
import { connectTransactional } from '../../src/adapters/kafka/transactional-producer.js';
import {
  collect,
  createTestTopics,
  deleteTestTopics,
  newTestTopics,
  quietLogger,
  testKafka,
  uniqueName,
  type TestTopics,
} from '../helpers/kafka.js';

let kafka: Kafka;
let topics: TestTopics;
const producers: Producer[] = [];

function transactional(id: string): Producer {
  const producer = kafka.producer({ transactionalId: id, idempotent: true, maxInFlightRequests: 1 });
  producers.push(producer);
  return producer;
}

before(async () => {
  kafka = testKafka();
  topics = newTestTopics('txn');
  await createTestTopics(kafka, topics);
});

after(async () => {
  await Promise.all(producers.map((p) => p.disconnect().catch(() => undefined)));
  await deleteTestTopics(kafka, topics);
});

describe('kafkajs transactions on the real broker', () => {
  it('when a new owner takes over a transactional id mid-transaction, then the old owner is fenced and its records stay invisible', async () => {
    const id = uniqueName('owner');
    const zombie = transactional(id);
    await connectTransactional(zombie, quietLogger);
    const open = await zombie.transaction();
    await open.send({ topic: topics.dlqTopic, messages: [{ key: 'zombie', value: 'must never be read' }] });

    // The new owner connects while the zombie's transaction is open (CONCURRENT_TRANSACTIONS is retried).
    const owner = transactional(id);
    await connectTransactional(owner, quietLogger);
    // Fenced by the connect itself, before the new owner reads any state or begins a transaction.
    const late = await open.commit().then(
      () => undefined,
      (error: unknown) => error,
    );
    assert.ok(late !== undefined, 'the zombie cannot commit');
    assert.ok(isFenced(late), `fenced, got ${(late as Error).message}`);

    const mine = await owner.transaction();
    await mine.send({ topic: topics.dlqTopic, messages: [{ key: 'owner', value: 'committed' }] });
    await mine.commit();

    const visible = await collect(kafka, topics.dlqTopic, 1);
    assert.deepEqual(
      visible.map((r) => r.message.key?.toString()),
      ['owner'],
    );
  });

  it('when two transactions abort in the opposite order to their start, then a read_committed reader sees none of their records', async () => {
    // The broker lists aborted transactions in abort order; unpatched kafkajs 2.2.4 showed the first record here.
    const own = newTestTopics('txn-abort-order');
    await createTestTopics(kafka, own);
    try {
      const first = transactional(uniqueName('first'));
      const second = transactional(uniqueName('second'));
      await Promise.all([
        connectTransactional(first, quietLogger),
        connectTransactional(second, quietLogger),
      ]);
      const early = await first.transaction();
      const late = await second.transaction();
      await early.send({ topic: own.dlqTopic, messages: [{ key: 'early-0', value: 'aborted' }] });
      await late.send({ topic: own.dlqTopic, messages: [{ key: 'late-1', value: 'aborted' }] });
      await early.send({ topic: own.dlqTopic, messages: [{ key: 'early-2', value: 'aborted' }] });
      await late.abort();
      await early.abort();
      const kept = await first.transaction();
      await kept.send({ topic: own.dlqTopic, messages: [{ key: 'committed', value: 'kept' }] });
      await kept.commit();

      const visible = await collect(kafka, own.dlqTopic, 1);
      assert.deepEqual(
        visible.map((r) => r.message.key?.toString()),
        ['committed'],
      );
    } finally {
      await deleteTestTopics(kafka, own);
    }
  });

  it('when a transaction is aborted, then the next one on the same producer commits (no stuck ongoing-transaction state)', async () => {
    const producer = transactional(uniqueName('abort'));
    await connectTransactional(producer, quietLogger);
    for (let round = 0; round < 3; round += 1) {
      const aborted = await producer.transaction();
      await aborted.send({ topic: topics.statsTopic, messages: [{ key: `aborted-${round}`, value: 'x' }] });
      await aborted.abort();
      // Right after an abort the coordinator may answer CONCURRENT_TRANSACTIONS; kafkajs retries it.
      const committed = await producer.transaction();
      await committed.send({
        topic: topics.statsTopic,
        messages: [{ key: `committed-${round}`, value: 'y' }],
      });
      await committed.commit();
    }
    const visible = await collect(kafka, topics.statsTopic, 3);
    assert.deepEqual(
      visible.map((r) => r.message.key?.toString()),
      ['committed-0', 'committed-1', 'committed-2'],
    );
  });
});
