import { collectDefaultMetrics, Registry } from 'prom-client';

/**
 * The label every series of a process carries, telling consumer and producer
 * apart in PromQL. It is `role`, not `service`: a Prometheus Operator
 * ServiceMonitor sets its own `service` target label, which would rename ours
 * to `exported_service`.
 */
export const ROLE_LABEL = 'role';

/** A fresh registry per process (never the global one), with the default process and Node.js metrics. */
export function createMetricsRegistry(labels: { service: 'consumer' | 'producer' }): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ [ROLE_LABEL]: labels.service });
  collectDefaultMetrics({ register: registry });
  return registry;
}
