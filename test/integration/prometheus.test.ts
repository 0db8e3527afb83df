import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startHttpServer, type HttpServer } from '../../src/adapters/http/server.js';
import { registerConsumerMetrics } from '../../src/adapters/metrics/consumer-metrics.js';
import { registerProducerMetrics } from '../../src/adapters/metrics/producer-metrics.js';
import { centsToDollars } from '../../src/adapters/metrics/units.js';
import { createMetricsRegistry } from '../../src/adapters/metrics/registry.js';
import { ConsumerEventBus } from '../../src/consumer/events.js';
import { ProducerEventBus } from '../../src/producer/events.js';
import { createLogger } from '../../src/logger.js';
import {
  alertNames,
  clusterAveragePricePromQL,
  dashboardPanels,
  dashboardVariableExpressions,
  resolveGrafanaVariables,
  shippedExpressions,
} from '../helpers/observability-queries.js';
import { startPrometheus, type PrometheusInstance } from '../helpers/prometheus.js';
import { waitUntil } from '../helpers/wait.js';

/**
 * Proves the harness and the shipped PromQL against a real Prometheus, with
 * the real HTTP server and metric registries fed through the event buses.
 */

const logger = createLogger({ level: 'silent', format: 'json', name: 'test' });

/** Panels that must show data once orders flowed (the rest may legitimately be empty). */
const CORE_PANELS = [
  'Average price (cluster-wide)',
  'Average price per instance',
  'Orders processed',
  'Dead-lettered (total)',
  'Throughput by outcome',
  'Retries / s by reason',
  'Dead-lettered / s by reason',
  'Dead-lettered total by reason',
  'Producer rate',
  'End-to-end latency',
  'Processing duration',
  'Producer send latency',
  'Consumer lag by partition',
  'Consumer lag in seconds by partition',
  'Redriven / s by outcome',
  'Partitions per consumer',
  'Consumers ready',
];

describe('shipped dashboard and alert PromQL against a real Prometheus', () => {
  const servers: HttpServer[] = [];
  const consumerBuses = [new ConsumerEventBus(), new ConsumerEventBus()];
  const producerBus = new ProducerEventBus();
  let prometheus: PrometheusInstance;
  const prices: bigint[] = [];
  const pendingSinceMs = Date.now() - 42_000;

  /** Feeds one consumer as the real one would. */
  function process(consumer: number, priceCents: bigint): void {
    prices.push(priceCents);
    consumerBuses[consumer]!.emit('orders.processed', {
      partition: consumer,
      count: 1,
      priceSumCents: priceCents,
      durationSeconds: 0.004 + consumer * 0.01,
      endToEndSeconds: [0.08],
    });
  }

  before(async () => {
    const consumerTargets: string[] = [];
    for (const [i, bus] of consumerBuses.entries()) {
      const registry = createMetricsRegistry({ service: 'consumer' });
      registerConsumerMetrics(registry, bus);
      const server = await startHttpServer({
        host: '127.0.0.1',
        port: 0,
        registry,
        logger,
        readiness: [{ name: 'group', check: () => true }],
      });
      servers.push(server);
      consumerTargets.push(`127.0.0.1:${server.port}`);
      bus.emit('partitions.assigned', { partitions: [i * 2, i * 2 + 1] });
      bus.emit('lag', [
        { partition: i * 2, lag: 3 },
        { partition: i * 2 + 1, lag: 0 },
      ]);
      // The first partition of each waits at a record written 42 s ago; the second is caught up.
      bus.emit('partition.pending', { partition: i * 2, oldestTimestampMs: pendingSinceMs });
      bus.emit('partition.pending', { partition: i * 2 + 1, oldestTimestampMs: undefined });
    }
    const producerRegistry = createMetricsRegistry({ service: 'producer' });
    registerProducerMetrics(producerRegistry, producerBus);
    const producerServer = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      registry: producerRegistry,
      logger,
      readiness: [],
    });
    servers.push(producerServer);

    prometheus = await startPrometheus({
      jobs: { consumer: consumerTargets, producer: [`127.0.0.1:${producerServer.port}`] },
    });
    // Counters must be seen at zero first, or increase()/rate() miss the first events.
    await prometheus.waitFor('count(up == 1)', (s) => s[0]?.value === 3, 30_000);
    await prometheus.waitFor(
      'count(orders_processed_total{outcome="success"} == 0)',
      (s) => s[0]?.value === 2,
    );

    const orderPrices = [85932n, 1999n, 1n, 12345n, 99999n, 50n, 4200n];
    orderPrices.forEach((price, i) => {
      process(i % 2, price);
    });
    producerBus.emit('orders.acknowledged', { valid: orderPrices.length, invalid: 0, sendSeconds: 0.003 });
    producerBus.emit('orders.acknowledged', { valid: 0, invalid: 1, sendSeconds: 0.002 });
    producerBus.emit('orders.failed', {
      count: 1,
      reason: 'KafkaJSNumberOfRetriesExceeded',
      sendSeconds: 1.5,
    });
    consumerBuses[0]!.emit('order.retrying', {
      partition: 0,
      reason: 'KOS_DOWNSTREAM_TRANSIENT',
      attempt: 1,
      delayMs: 10,
    });
    consumerBuses[1]!.emit('order.redriven', { partition: 2, outcome: 'success' });
    consumerBuses[1]!.emit('order.dead_lettered', {
      partition: 2,
      reason: 'KOS_ORDER_INVALID',
      attempts: 1,
      durationSeconds: 0.002,
      endToEndSeconds: 0.05,
    });
  });

  after(async () => {
    await prometheus.stop();
    await Promise.all(servers.map((s) => s.close()));
  });

  it('when the cluster-wide average is queried, then it equals the average of the processed prices', async () => {
    const expectedDollars = centsToDollars(prices.reduce((a, b) => a + b, 0n)) / prices.length;
    const averageExpr = clusterAveragePricePromQL();
    // Both consumers must have been scraped after the orders, or the quotient mixes old and new totals.
    await prometheus.waitFor('sum(orders_price_count_total)', (s) => s[0]?.value === prices.length, 30_000);
    const [sample] = await prometheus.vector(averageExpr);
    assert.ok(
      Math.abs(sample!.value - expectedDollars) < 1e-9,
      `PromQL ${sample!.value} vs produced ${expectedDollars}`,
    );
  });

  it('when every dashboard query, variable and alert expression is evaluated, then each parses', async () => {
    const expressions = [...shippedExpressions(), ...dashboardVariableExpressions()];
    assert.ok(expressions.length >= 35, `only ${expressions.length} expressions found`);
    const failures: string[] = [];
    for (const e of expressions) {
      try {
        await prometheus.query(e.expr);
      } catch (error) {
        failures.push(`${e.source} ${e.name}: ${(error as Error).message}`);
      }
    }
    assert.deepEqual(failures, []);
  });

  it('when orders flowed, then every query of the core panels returns data', async () => {
    const panels = dashboardPanels();
    for (const title of CORE_PANELS) {
      const matching = panels.filter((p) => p.title === title);
      assert.ok(matching.length > 0, `no panel titled ${title}`);
      for (const panel of matching) {
        for (const { refId, expr } of panel.exprs) {
          // The changelog aggregate exists only on real exactly-once consumers: prometheus-e2e.test.ts covers it.
          if (expr.includes('orders_cluster_')) continue;
          await prometheus
            .waitFor(
              // A 10 m rate window: the orders flowed in before(), perhaps more than 1 m ago on a slow run.
              resolveGrafanaVariables(expr, { rateInterval: '10m' }),
              (s) => s.length > 0 && s.every((x) => Number.isFinite(x.value)),
              30_000,
            )
            .catch((error: unknown) => {
              throw new Error(`${title} [${refId}] returned no data: ${(error as Error).message}`);
            });
        }
      }
    }
  });

  it('when a partition waits at an old record, then the lag-in-seconds panel shows its age per partition, and 0 for the caught-up ones', async () => {
    const panel = dashboardPanels().find((p) => p.title === 'Consumer lag in seconds by partition');
    const expr = panel?.exprs[0]?.expr;
    assert.ok(expr !== undefined, 'the dashboard has the panel');
    const samples = await prometheus.waitFor(resolveGrafanaVariables(expr), (s) => s.length === 4, 30_000);
    const byPartition = new Map(samples.map((s) => [s.metric.partition, s.value]));
    assert.deepEqual([...byPartition.keys()].sort(), ['0', '1', '2', '3']);
    assert.equal(byPartition.get('1'), 0);
    assert.equal(byPartition.get('3'), 0);
    // Taken at the last scrape: 42 s plus however long the test took to get here.
    const elapsedSeconds = (Date.now() - pendingSinceMs) / 1000;
    for (const partition of ['0', '2']) {
      const age = byPartition.get(partition) ?? 0;
      assert.ok(
        age >= 42 && age <= elapsedSeconds,
        `partition ${partition}: ${age} s (${elapsedSeconds} s since)`,
      );
    }
  });

  it('when the dashboard variables are queried, then they list the scraped jobs and instances', async () => {
    const variables = Object.fromEntries(dashboardVariableExpressions().map((v) => [v.name, v.expr]));
    const jobs = await prometheus.vector(variables.job!);
    assert.deepEqual(jobs.map((s) => s.metric.job).sort(), ['consumer', 'producer']);
    const instances = await prometheus.vector(variables.instance!);
    assert.equal(instances.length, 3);
  });

  it('when the rule file is loaded, then every alert is evaluated without error', async () => {
    interface RulesData {
      groups: { rules: { name: string; health: string; lastError?: string }[] }[];
    }
    const expected = alertNames().sort();
    let unhealthy: RulesData['groups'][number]['rules'] = [];
    await waitUntil(
      () => `every rule to be evaluated; not yet: ${JSON.stringify(unhealthy)}`,
      async () => {
        const data = (await prometheus.api('/api/v1/rules')) as RulesData;
        const rules = data.groups.flatMap((g) => g.rules);
        assert.deepEqual(rules.map((r) => r.name).sort(), expected);
        unhealthy = rules.filter((r) => r.health !== 'ok');
        // Not evaluated yet is "unknown"; anything else is an error in a rule.
        assert.ok(
          unhealthy.every((r) => r.health === 'unknown'),
          `rule errors: ${JSON.stringify(unhealthy)}`,
        );
        return unhealthy.length === 0;
      },
      30_000,
      250,
    );
  });

  it('when an order is dead-lettered and a send fails, then OrdersDeadLettered and OrdersProduceErrors fire', async () => {
    const firing = await prometheus.waitFor(
      'ALERTS{alertstate="firing", alertname=~"OrdersDeadLettered|OrdersProduceErrors"}',
      (s) => s.length === 2,
      30_000,
    );
    assert.deepEqual(firing.map((s) => `${s.metric.alertname} ${s.metric.job}`).sort(), [
      'OrdersDeadLettered consumer',
      'OrdersProduceErrors producer',
    ]);
    const quiet = await prometheus.vector(
      'ALERTS{alertname=~"OrdersNoActiveConsumer|OrdersConsumerNotReady"}',
    );
    assert.deepEqual(quiet, [], 'consumers own partitions and are ready');
  });
});
