import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TOPICS } from '../../src/topics.js';
import { renderChart } from '../helpers/helm.js';

interface KafkaTopicSpec {
  topicName: string;
  partitions: number;
  replicas: number;
  config?: Record<string, string>;
}

function renderedTopics(set: Record<string, unknown> = {}) {
  return renderChart({ set })
    .filter((m) => m.kind === 'KafkaTopic')
    .map((m) => {
      const labels = (m.body.metadata as { labels: Record<string, string> }).labels;
      return {
        role: labels['kafka-order-system/topic-role'],
        spec: m.body.spec as KafkaTopicSpec,
      };
    });
}

describe('chart KafkaTopics', () => {
  test('when rendered with defaults, then its application topics are exactly src/topics.ts (names, partitions, config)', () => {
    const appTopics = renderedTopics().filter((t) => t.role !== undefined);
    const actual = Object.fromEntries(
      appTopics.map((t): [string, unknown] => [
        t.role ?? '',
        { name: t.spec.topicName, partitions: t.spec.partitions, config: t.spec.config ?? {} },
      ]),
    );
    const expected = Object.fromEntries(
      TOPICS.map((t): [string, unknown] => [
        t.role,
        { name: t.defaultName, partitions: t.partitions, config: { ...t.config } },
      ]),
    );
    assert.deepEqual(actual, expected);
  });

  test('when rendered, then the only other topic is the schema registry storage topic, compacted with one partition', () => {
    const others = renderedTopics().filter((t) => t.role === undefined);
    assert.deepEqual(
      others.map((t) => t.spec),
      [{ topicName: '_schemas', partitions: 1, replicas: 1, config: { 'cleanup.policy': 'compact' } }],
    );
  });

  test('when the node pool has 3 nodes, then every topic is replicated 3 times', () => {
    const topics = renderedTopics({ 'kafka.nodePool.replicas': 3 });
    assert.ok(topics.length > 0);
    for (const t of topics) assert.equal(t.spec.replicas, 3, t.spec.topicName);
  });

  test('when kafka.enabled=false, then no KafkaTopic is rendered', () => {
    const topics = renderedTopics({
      'kafka.enabled': false,
      'kafka.external.bootstrapServers': 'kafka.example:9092',
      'networkPolicy.allowEndpointPorts': true,
    });
    assert.deepEqual(topics, []);
  });
});
