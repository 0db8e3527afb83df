import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { startConsumer, type ConsumerHandle } from '../../src/consumer/index.js';
import { centsToDollars } from '../../src/adapters/metrics/units.js';
import { averageCents } from '../../src/domain/money.js';
import { runProducer } from '../../src/producer/index.js';
import {
  createTestTopics,
  deleteTestTopics,
  newTestTopics,
  quietLogger,
  testConfig,
  testKafka,
} from '../helpers/kafka.js';
import {
  clusterAveragePricePromQL,
  exactClusterAveragePricePromQL,
  resolveGrafanaVariables,
  shippedExpressions,
} from '../helpers/observability-queries.js';
import { freePort, startPrometheus, type PrometheusInstance } from '../helpers/prometheus.js';
import { startPushgateway, type PushgatewayInstance } from '../helpers/pushgateway.js';
import { waitUntil } from '../helpers/wait.js';

const kafka = testKafka();
const topics = newTestTopics('prom-e2e');
const consumers: ConsumerHandle[] = [];
let prometheus: PrometheusInstance | undefined;
let pushgateway: PushgatewayInstance | undefined;

after(async () => {
  await Promise.all(consumers.map((c) => c.stop()));
  await prometheus?.stop();
  await pushgateway?.stop();
  await deleteTestTopics(kafka, topics);
});

describe('a real Prometheus scraping the real consumers and producer', () => {
  it('when orders flow, then the PromQL averages equal the average of the orders produced, and every shipped query evaluates', async () => {
    await createTestTopics(kafka, topics);
    for (let i = 0; i < 2; i += 1) {
      consumers.push(await startConsumer(testConfig('consumer', topics), { logger: quietLogger }));
    }
    await waitUntil('both consumers in the group', () => consumers.every((c) => c.health.joined));
    pushgateway = await startPushgateway();
    const producerPort = await freePort();
    prometheus = await startPrometheus({
      jobs: {
        consumer: consumers.map((c) => `127.0.0.1:${c.httpPort}`),
        producer: [`127.0.0.1:${producerPort}`],
        pushgateway: { targets: [pushgateway.url.replace('http://', '')], honorLabels: true },
      },
    });

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

    const failures: string[] = [];
    for (const { source, expr } of shippedExpressions()) {
      await prometheus.query(resolveGrafanaVariables(expr)).catch((error: unknown) => {
        failures.push(`${source}: ${(error as Error).message}`);
      });
    }
    assert.deepEqual(failures, []);
  });
});
