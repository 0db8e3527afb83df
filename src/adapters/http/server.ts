import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import { Gauge, type Registry } from 'prom-client';
import type { Logger } from '../../logger.js';
import { startLivenessMonitor } from './liveness.js';
import { evaluateReadiness, type ReadinessCheck, type ReadinessReport } from './readiness.js';

export type { ReadinessCheck } from './readiness.js';

export interface HttpServerOptions {
  host: string;
  /** 0 = any free port; the bound one is HttpServer.port. */
  port: number;
  registry: Registry;
  logger: Logger;
  /** /readyz answers 200 only when every check passes. */
  readiness: readonly ReadinessCheck[];
  /** Extra routes, mounted before the 404 handler. */
  routes?: (app: Express) => void;
  /** Longest one readiness check may take before it counts as failed (default 2000). */
  readinessTimeoutMs?: number;
  /** Event-loop delay above which /healthz fails (default 5000 ms). */
  maxEventLoopDelayMs?: number;
}

export interface HttpServer {
  readonly port: number;
  /** /healthz answers 503 from now on, so the kubelet restarts the pod. */
  markFatal(error: unknown): void;
  close(): Promise<void>;
}

/** Metric names the server owns in the registry it is given. */
export const READINESS_METRICS = {
  ready: 'orders_ready',
  check: 'orders_readiness_check',
} as const;

const CLOSE_GRACE_MS = 2000;
/** A scrape reads both readiness gauges; one evaluation serves both. */
const READINESS_MEMO_MS = 500;

/**
 * /metrics, /healthz and /readyz. Started before anything connects to Kafka,
 * so the probes answer during startup, and closed last during shutdown.
 */
export async function startHttpServer(options: HttpServerOptions): Promise<HttpServer> {
  const { registry, logger, readiness } = options;
  const readinessTimeoutMs = options.readinessTimeoutMs ?? 2000;
  const liveness = startLivenessMonitor({ maxDelayMs: options.maxEventLoopDelayMs ?? 5000 });

  let memo: { at: number; report: Promise<ReadinessReport> } | undefined;
  const readinessReport = (): Promise<ReadinessReport> => {
    const now = performance.now();
    if (memo === undefined || now - memo.at > READINESS_MEMO_MS) {
      memo = { at: now, report: evaluateReadiness(readiness, readinessTimeoutMs) };
    }
    return memo.report;
  };
  registerReadinessMetrics(registry, readinessReport);

  const app = express();
  app.disable('x-powered-by');
  app.get('/metrics', async (_req, res) => {
    try {
      const body = await registry.metrics();
      res.type(registry.contentType).send(body);
    } catch (error) {
      logger.error({ err: error }, 'collecting metrics failed');
      res.status(500).type('text/plain').send('collecting metrics failed\n');
    }
  });
  app.get('/healthz', (_req, res) => {
    const report = liveness.report();
    res.status(report.live ? 200 : 503).json({ status: report.live ? 'ok' : 'failing', ...report });
  });
  app.get('/readyz', async (_req, res) => {
    const report = await readinessReport();
    res.status(report.ready ? 200 : 503).json({ status: report.ready ? 'ready' : 'not ready', ...report });
  });
  options.routes?.(app);

  const server = createServer(app);
  try {
    await listen(server, options.host, options.port);
  } catch (error) {
    liveness.stop();
    unregisterReadinessMetrics(registry);
    throw error;
  }
  const port = (server.address() as AddressInfo).port;
  logger.info({ host: options.host, port }, 'http server listening (/metrics, /healthz, /readyz)');

  let closing: Promise<void> | undefined;
  return {
    port,
    markFatal(error) {
      logger.error({ err: error }, 'fatal error: /healthz now fails');
      liveness.markFatal(error);
    },
    close() {
      closing ??= closeServer(server).finally(() => {
        liveness.stop();
        unregisterReadinessMetrics(registry);
      });
      return closing;
    },
  };
}

function registerReadinessMetrics(registry: Registry, readinessReport: () => Promise<ReadinessReport>): void {
  // A registry outlives a server in tests that restart it; replace, never clash.
  unregisterReadinessMetrics(registry);
  new Gauge({
    name: READINESS_METRICS.ready,
    help: '1 when every readiness check passes (what /readyz answers with 200), else 0.',
    registers: [registry],
    async collect() {
      this.set((await readinessReport()).ready ? 1 : 0);
    },
  });
  new Gauge({
    name: READINESS_METRICS.check,
    help: 'Result of each readiness check at scrape time: 1 = passed, 0 = failed or timed out.',
    labelNames: ['check'] as const,
    registers: [registry],
    async collect() {
      for (const check of (await readinessReport()).checks) this.set({ check: check.name }, check.ok ? 1 : 0);
    },
  });
}

function unregisterReadinessMetrics(registry: Registry): void {
  for (const name of Object.values(READINESS_METRICS)) registry.removeSingleMetric(name);
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => {
      reject(error);
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** Stops accepting, lets in-flight requests finish, then cuts keep-alive sockets (Prometheus keeps them open). */
function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    const force = setTimeout(() => {
      server.closeAllConnections();
    }, CLOSE_GRACE_MS);
    force.unref();
    server.close((error) => {
      clearTimeout(force);
      if (error) reject(error);
      else resolve();
    });
    server.closeIdleConnections();
  });
}
