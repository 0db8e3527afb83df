import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { registerConsumerMetrics } from '../../src/adapters/metrics/consumer-metrics.js';
import { createMetricsRegistry } from '../../src/adapters/metrics/registry.js';
import { startHttpServer, type HttpServer, type ReadinessCheck } from '../../src/adapters/http/server.js';
import { ConsumerEventBus } from '../../src/consumer/events.js';
import { createLogger } from '../../src/logger.js';
import { parseMetricsText, sampleValue } from '../helpers/metrics-text.js';

const logger = createLogger({ level: 'silent', format: 'json', name: 'test' });
const servers: HttpServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function start(
  readiness: readonly ReadinessCheck[] = [],
  extra: { readinessTimeoutMs?: number; maxEventLoopDelayMs?: number } = {},
) {
  const registry = createMetricsRegistry({ service: 'consumer' });
  const bus = new ConsumerEventBus();
  registerConsumerMetrics(registry, bus);
  const server = await startHttpServer({
    host: '127.0.0.1',
    port: 0,
    registry,
    logger,
    readiness,
    routes: (app) => {
      app.get('/stats', (_req, res) => {
        res.json({ extra: true });
      });
    },
    ...extra,
  });
  servers.push(server);
  const url = (path: string) => `http://127.0.0.1:${server.port}${path}`;
  return { server, bus, registry, url };
}

interface ReadyBody {
  status: string;
  ready: boolean;
  checks: { name: string; ok: boolean; error?: string }[];
}

describe('http server', () => {
  it('when started on port 0, then it binds a free port and serves Prometheus text on /metrics', async () => {
    const { server, bus, url } = await start();
    assert.ok(server.port > 0);
    bus.emit('orders.processed', {
      partition: 0,
      count: 1,
      priceSumCents: 85932n,
      durationSeconds: 0.01,
      endToEndSeconds: [0.1],
    });
    const response = await fetch(url('/metrics'));
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const samples = parseMetricsText(await response.text());
    assert.equal(sampleValue(samples, 'orders_average_price_dollars'), 859.32);
    assert.equal(sampleValue(samples, 'orders_ready'), 1, 'no checks means ready');
  });

  it('when every readiness check passes, then /readyz is 200 and lists each check', async () => {
    const { url } = await start([
      { name: 'broker', check: () => true },
      { name: 'registry', check: () => Promise.resolve(true) },
    ]);
    const response = await fetch(url('/readyz'));
    assert.equal(response.status, 200);
    const body = (await response.json()) as ReadyBody;
    assert.equal(body.status, 'ready');
    assert.deepEqual(
      body.checks.map((c) => [c.name, c.ok]),
      [
        ['broker', true],
        ['registry', true],
      ],
    );
  });

  it('when a check fails, throws or hangs, then /readyz is 503 within the timeout and names each failure', async () => {
    const { url } = await start(
      [
        { name: 'broker', check: () => true },
        { name: 'group', check: () => false },
        {
          name: 'registry',
          check: () => {
            throw new Error('ECONNREFUSED');
          },
        },
        { name: 'hanging', check: () => new Promise<boolean>(() => undefined) },
      ],
      { readinessTimeoutMs: 200 },
    );
    const started = performance.now();
    const response = await fetch(url('/readyz'));
    const elapsed = performance.now() - started;
    assert.equal(response.status, 503);
    assert.ok(elapsed < 2000, `answered in ${Math.round(elapsed)}ms`);
    const body = (await response.json()) as ReadyBody;
    assert.equal(body.status, 'not ready');
    const byName = Object.fromEntries(body.checks.map((c) => [c.name, c]));
    assert.equal(byName.broker?.ok, true);
    assert.equal(byName.group?.error, 'returned false');
    assert.equal(byName.registry?.error, 'ECONNREFUSED');
    assert.equal(byName.hanging?.error, 'timed out after 200ms');
  });

  it('when a check fails, then the readiness gauges in /metrics say so per check', async () => {
    const { url } = await start([
      { name: 'broker', check: () => true },
      { name: 'group', check: () => false },
    ]);
    const samples = parseMetricsText(await (await fetch(url('/metrics'))).text());
    assert.equal(sampleValue(samples, 'orders_ready'), 0);
    assert.equal(sampleValue(samples, 'orders_readiness_check', { check: 'broker' }), 1);
    assert.equal(sampleValue(samples, 'orders_readiness_check', { check: 'group' }), 0);
  });

  it('when the process is healthy, then /healthz is 200; after markFatal it is 503 with the error', async () => {
    const { server, url } = await start();
    const healthy = await fetch(url('/healthz'));
    assert.equal(healthy.status, 200);
    assert.equal(((await healthy.json()) as { status: string }).status, 'ok');

    server.markFatal(new Error('offset commit failed for good'));
    const failing = await fetch(url('/healthz'));
    assert.equal(failing.status, 503);
    const body = (await failing.json()) as { status: string; fatal: string };
    assert.equal(body.status, 'failing');
    assert.equal(body.fatal, 'Error: offset commit failed for good');
  });

  it('when the event loop was blocked longer than the limit, then /healthz is 503', async () => {
    const { url } = await start([], { maxEventLoopDelayMs: 100 });
    // Let the delay monitor take a first sample, then block the loop on purpose.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const until = performance.now() + 400;
    while (performance.now() < until) {
      // busy: this is the stall /healthz must notice
    }
    const response = await fetch(url('/healthz'));
    assert.equal(response.status, 503);
    const body = (await response.json()) as { eventLoopDelayMaxMs: number };
    assert.ok(body.eventLoopDelayMaxMs >= 100, `max delay ${body.eventLoopDelayMaxMs}ms`);
  });

  it('when extra routes are given, then they are served and unknown paths are 404', async () => {
    const { url } = await start();
    assert.deepEqual(await (await fetch(url('/stats'))).json(), { extra: true });
    assert.equal((await fetch(url('/nope'))).status, 404);
  });

  it('when the port is taken, then startHttpServer rejects with EADDRINUSE', async () => {
    const { server } = await start();
    await assert.rejects(
      startHttpServer({
        host: '127.0.0.1',
        port: server.port,
        registry: createMetricsRegistry({ service: 'consumer' }),
        logger,
        readiness: [],
      }),
      { code: 'EADDRINUSE' },
    );
  });

  it('when closed while a client keeps its connection alive, then close resolves and the port is released', async () => {
    const { server, url, registry } = await start();
    await fetch(url('/metrics'), { keepalive: true });
    const started = performance.now();
    await server.close();
    assert.ok(performance.now() - started < 3000);
    await assert.rejects(fetch(url('/healthz')));
    assert.equal(registry.getSingleMetric('orders_ready'), undefined, 'readiness gauges are removed');
    // The same registry can serve a new server (tests restart the process in-place).
    const again = await startHttpServer({ host: '127.0.0.1', port: 0, registry, logger, readiness: [] });
    servers.push(again);
    assert.equal((await fetch(`http://127.0.0.1:${again.port}/readyz`)).status, 200);
  });
});
