import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { loadOrderSchema, subjectFor } from '../../src/adapters/registry/order-codec.js';
import { createTestTopics, deleteTestTopics, newTestTopics, testKafka } from '../helpers/kafka.js';
import { startCli, type LogLine } from '../helpers/processes.js';
import { waitUntil } from '../helpers/wait.js';

const kafka = testKafka();
const topics = newTestTopics('producer-sigterm');
const preset = newTestTopics('producer-preset');
const registryUrl = loadConfig('producer', process.env).schemaRegistryUrl;

after(async () => {
  await deleteTestTopics(kafka, topics);
  await deleteTestTopics(kafka, preset);
});

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
      // Metadata of a topic this new can lag behind for a moment: a failed look is a reason to look again.
      async () => (await recordsIn(topics.ordersTopic).catch(() => 0)) >= 50,
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

  it('when a platform team registered the subject first, with its own compatibility level, then the producer starts, uses that id and changes nothing', async () => {
    await createTestTopics(kafka, preset);
    const subject = subjectFor(preset.ordersTopic);
    const call = async (method: string, path: string, body: unknown) => {
      const response = await fetch(`${registryUrl}${path}`, {
        method,
        headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
        body: JSON.stringify(body),
      });
      const text = await response.text();
      assert.ok(response.ok, `${method} ${path}: ${response.status} ${text}`);
      return JSON.parse(text) as Record<string, unknown>;
    };
    const { id } = await call('POST', `/subjects/${subject}/versions`, {
      schema: JSON.stringify(loadOrderSchema()),
    });
    // The level that made an earlier producer refuse to start ("Compatibility does not match the configuration").
    await call('PUT', `/config/${subject}`, { compatibility: 'NONE' });
    const proc = startCli(
      'producer',
      {
        ORDERS_TOPIC: preset.ordersTopic,
        DLQ_TOPIC: preset.dlqTopic,
        STATS_TOPIC: preset.statsTopic,
        HTTP_PORT: '0',
      },
      ['--count', '20'],
    );
    const { code } = await proc.exited;
    assert.equal(code, 0, JSON.stringify(proc.lines.filter((l) => Number(l.level) >= 50)));
    assert.ok(
      proc.lines.some((l) => l.schemaId === id),
      `wrote with the registered id ${String(id)}`,
    );
    assert.equal(await recordsIn(preset.ordersTopic), 20);
    const level = (await (await fetch(`${registryUrl}/config/${subject}`)).json()) as {
      compatibilityLevel: string;
    };
    assert.equal(level.compatibilityLevel, 'NONE', 'the level is left alone');
  });
});
