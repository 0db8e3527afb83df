import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createTestTopics, deleteTestTopics, newTestTopics, testKafka } from '../helpers/kafka.js';
import { startCli, type LogLine } from '../helpers/processes.js';
import { waitUntil } from '../helpers/wait.js';

const kafka = testKafka();
const topics = newTestTopics('producer-sigterm');

after(() => deleteTestTopics(kafka, topics));

async function recordsIn(topic: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
}

const finishedLine = (l: LogLine) => typeof l.msg === 'string' && l.msg.startsWith('Producer finished');

describe('producer process (the Kubernetes Job)', () => {
  it('when the producer receives SIGTERM mid-run, then it stops generating, flushes what was sent and exits 0', async () => {
    await createTestTopics(kafka, topics);
    const proc = startCli(
      'producer',
      {
        ORDERS_TOPIC: topics.ordersTopic,
        DLQ_TOPIC: topics.dlqTopic,
        STATS_TOPIC: topics.statsTopic,
        HTTP_PORT: '0',
      },
      ['--count', '100000', '--rate', '200'],
    );
    await waitUntil(
      '50 orders in the topic',
      async () => (await recordsIn(topics.ordersTopic)) >= 50,
      60_000,
      200,
    );
    proc.child.kill('SIGTERM');
    const { code } = await proc.exited;
    assert.equal(code, 0);

    // Every order it counts as acknowledged is in the topic, and nothing else: the flush lost nothing.
    const finished = proc.lines.find(finishedLine);
    const acknowledged = Number(/^Producer finished: (\d+) acknowledged/.exec(String(finished?.msg))?.[1]);
    assert.ok(acknowledged >= 50 && acknowledged < 100_000, `stopped generating after ${acknowledged}`);
    assert.equal(await recordsIn(topics.ordersTopic), acknowledged);
  });
});
