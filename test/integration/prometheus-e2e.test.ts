import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { startConsumer, type ConsumerHandle } from '../../src/consumer/index.js';
import { centsToDollars } from '../../src/adapters/metrics/units.js';
import { OrderCodec } from '../../src/adapters/registry/order-codec.js';
import { createSchemaRegistry } from '../../src/adapters/registry/schema-registry-client.js';
import { averageCents } from '../../src/domain/money.js';
import { TransientDownstreamError } from '../../src/errors.js';
import { runProducer } from '../../src/producer/index.js';
import {
  createTestTopics,
  deleteTestTopics,
  newTestTopics,
  produceRaw,
  quietLogger,
  testConfig,
  testKafka,
} from '../helpers/kafka.js';
import {
  clusterAveragePricePromQL,
  dashboardPanels,
  exactClusterAveragePricePromQL,
  resolveGrafanaVariables,
  shippedExpressions,
} from '../helpers/observability-queries.js';
import { freePort, RULES_FILE, startPrometheus, type PrometheusInstance } from '../helpers/prometheus.js';
import { startPushgateway, type PushgatewayInstance } from '../helpers/pushgateway.js';
import { waitUntil } from '../helpers/wait.js';

const kafka = testKafka();
const topics = newTestTopics('prom-e2e');
const heldTopics = newTestTopics('prom-held');
const consumers: ConsumerHandle[] = [];
const prometheuses: PrometheusInstance[] = [];
const tempDirs: string[] = [];
let pushgateway: PushgatewayInstance | undefined;

after(async () => {
  await Promise.all(consumers.map((c) => c.stop()));
  await Promise.all(prometheuses.map((p) => p.stop()));
  await pushgateway?.stop();
  await deleteTestTopics(kafka, topics);
  await deleteTestTopics(kafka, heldTopics);
  await Promise.all(tempDirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** The dashboard's query of the lag-in-seconds panel, every namespace, job and instance selected. */
function lagSecondsPanelPromQL(): string {
  const expr = dashboardPanels().find((p) => p.title === 'Consumer lag in seconds by partition')?.exprs[0]
    ?.expr;
  assert.ok(expr !== undefined, 'the dashboard has the lag-in-seconds panel');
  return resolveGrafanaVariables(expr);
}

/**
 * The shipped rule file with `alert`'s hold time (`for`) removed, so a test sees it fire in seconds; the
 * expression is the shipped one, and the hold time is promtool's to test (test/prometheus).
 */
async function rulesWithoutHold(alert: string): Promise<string> {
  const rules = parse(await readFile(RULES_FILE, 'utf8')) as {
    groups: { rules: { alert?: string; for?: string }[] }[];
  };
  const rule = rules.groups.flatMap((g) => g.rules).find((r) => r.alert === alert);
  assert.ok(rule?.for !== undefined, `${alert} is in the rule file, with a hold time`);
  delete rule.for;
  const dir = await mkdtemp(join(tmpdir(), 'kos-rules-'));
  tempDirs.push(dir);
  const file = join(dir, 'rules.yaml');
  await writeFile(file, stringify(rules));
  return file;
}

describe('a real Prometheus scraping the real consumers and producer', () => {
  it('when orders flow, then the PromQL averages equal the average of the orders produced, and every shipped query evaluates', async () => {
    await createTestTopics(kafka, topics);
    for (let i = 0; i < 2; i += 1) {
      consumers.push(await startConsumer(testConfig('consumer', topics), { logger: quietLogger }));
    }
    await waitUntil('both consumers in the group', () => consumers.every((c) => c.health.joined));
    pushgateway = await startPushgateway();
    const producerPort = await freePort();
    const prometheus = await startPrometheus({
      jobs: {
        consumer: consumers.map((c) => `127.0.0.1:${c.httpPort}`),
        producer: [`127.0.0.1:${producerPort}`],
        pushgateway: { targets: [pushgateway.url.replace('http://', '')], honorLabels: true },
      },
    });
    prometheuses.push(prometheus);

    // Prometheus applies new targets only every 5 s: wait until it scrapes, so it also sees the short-lived producer.
    await prometheus.waitFor(
      'up{job="consumer"}',
      (s) => s.length === 2 && s.every((x) => x.value === 1),
      30_000,
    );
    // Slow enough (10 s: ten 1 s scrape intervals) that Prometheus scrapes the producer while it runs,
    // even on a busy machine; the final totals are pushed.
    const produced = await runProducer(
      testConfig('producer', topics, {
        ORDER_COUNT: '300',
        ORDER_RATE: '30',
        INVALID_RATIO: '0.1',
        PRODUCER_SEED: '300',
        HTTP_PORT: String(producerPort),
        PUSHGATEWAY_URL: pushgateway.url,
      }),
      { logger: quietLogger },
    );
    const valid = produced.validAcknowledged;
    await waitUntil(
      'the consumers to settle every order',
      () =>
        consumers.reduce((n, c) => n + c.stats().processed + c.stats().deadLettered, 0) ===
        produced.acknowledged,
    );
    const expectedDollars = centsToDollars(averageCents(produced.validSumCents, BigInt(valid)));

    await prometheus.waitFor('sum(orders_price_count_total)', (s) => s[0]?.value === valid, 30_000);
    const [replicas] = await prometheus.vector(clusterAveragePricePromQL());
    assert.ok(replicas, 'the replicas average has a value');
    assert.ok(Math.abs(replicas.value - expectedDollars) < 0.005, `${replicas.value} vs ${expectedDollars}`);

    const [exact] = await prometheus.waitFor(
      exactClusterAveragePricePromQL(),
      (s) => s[0]?.value === expectedDollars,
      30_000,
    );
    assert.equal(exact?.value, expectedDollars, 'the exact changelog average, to the cent');

    const up = await prometheus.vector('max_over_time(up{job="producer"}[5m])');
    assert.equal(
      up[0]?.value,
      1,
      `the producer was scraped while it ran: ${JSON.stringify(await prometheus.api('/api/v1/targets'))}`,
    );
    await prometheus.waitFor(
      // The producer has exited by now, so its last scrapes are looked up over a window.
      'sum(max_over_time(orders_produced_total{job="producer"}[5m]))',
      (s) => (s[0]?.value ?? 0) > 0,
      30_000,
    );
    await prometheus.waitFor(
      'sum(orders_produced_total{job="order-producer"})',
      (s) => s[0]?.value === produced.acknowledged,
      30_000,
    );

    // Every partition's last batch reached its end: no order waits anywhere.
    const lagSeconds = await prometheus.waitFor(
      lagSecondsPanelPromQL(),
      (s) => s.length === 3 && s.every((x) => x.value === 0),
      30_000,
    );
    assert.deepEqual(lagSeconds.map((s) => s.metric.partition).sort(), ['0', '1', '2']);

    const failures: string[] = [];
    for (const { source, expr } of shippedExpressions()) {
      await prometheus.query(resolveGrafanaVariables(expr)).catch((error: unknown) => {
        failures.push(`${source}: ${(error as Error).message}`);
      });
    }
    assert.deepEqual(failures, []);
  });

  it('when a partition is held back by a long retry backoff at an order written 10 minutes ago, then its lag in seconds counts from that order, not from the one before it, while its record lag is 1, and OrdersConsumerLagHighSeconds fires', async () => {
    await createTestTopics(kafka, heldTopics, 1);
    const consumer = await startConsumer(
      testConfig('consumer', heldTopics, { RETRY_BACKOFF_MS: '600000', LAG_POLL_INTERVAL_MS: '1000' }),
      {
        logger: quietLogger,
        downstream: (order) => {
          if (order.orderId === '7002')
            throw new TransientDownstreamError(`the downstream refuses order ${order.orderId}`);
          return undefined;
        },
      },
    );
    consumers.push(consumer);
    await waitUntil('the consumer in its group', () => consumer.health.joined);
    const prometheus = await startPrometheus({
      jobs: { consumer: [`127.0.0.1:${consumer.httpPort}`] },
      ruleFiles: [await rulesWithoutHold('OrdersConsumerLagHighSeconds')],
    });
    prometheuses.push(prometheus);

    // As if produced while no consumer ran (record timestamps, CreateTime, 20 and 10 minutes old): the first
    // is processed, the second waits for its retry, so the lag counts from the second.
    const processedAt = Date.now() - 1_200_000;
    const heldAt = processedAt + 600_000;
    const codec = new OrderCodec(createSchemaRegistry(testConfig('producer', heldTopics)));
    await codec.register(heldTopics.ordersTopic);
    const record = (orderId: string, writtenAt: number) => ({
      key: orderId,
      value: codec.encode({ orderId, product: 'Held', priceCents: 1234n, createdAtMs: writtenAt }),
      partition: 0,
      timestamp: String(writtenAt),
    });
    await produceRaw(kafka, heldTopics.ordersTopic, [record('7001', processedAt), record('7002', heldAt)]);
    await waitUntil('the second order to wait for its first retry', () => consumer.stats().retried === 1);
    assert.equal(consumer.stats().processed, 1);

    const heldSeconds = () => (Date.now() - heldAt) / 1000;
    const [age] = await prometheus.waitFor(
      lagSecondsPanelPromQL(),
      (s) => s.length === 1 && (s[0]?.value ?? 0) >= 600 && (s[0]?.value ?? 0) <= heldSeconds(),
      30_000,
    );
    assert.equal(age?.metric.partition, '0');
    await prometheus.waitFor(
      'max by (partition) (orders_consumer_lag{job="consumer"})',
      (s) => s.length === 1 && s[0]?.value === 1,
      30_000,
    );
    const firing = await prometheus.waitFor(
      'ALERTS{alertname="OrdersConsumerLagHighSeconds", alertstate="firing"}',
      (s) => s.length === 1,
      30_000,
    );
    assert.deepEqual([firing[0]?.metric.job, firing[0]?.metric.severity], ['consumer', 'warning']);
    assert.equal(consumer.stats().processed, 1, 'the second order still waits for its retry');
  });
});
