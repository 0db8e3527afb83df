import { Pushgateway, type Registry } from 'prom-client';
import type { Logger } from '../../logger.js';

const PUSH_TIMEOUT_MS = 5000;

/**
 * Pushes the final totals of a short-lived process (the producer Job) so its
 * counts survive the end of the pod. PUT replaces the job's previous group,
 * so the gateway holds the last run, not a sum of stale runs.
 * Never throws: a missing gateway must not fail a Job that did its work.
 */
/** The `job` label of the producer's pushed totals (kept by Prometheus with honor_labels). */
export const PUSHGATEWAY_JOB = 'order-producer';

export async function pushFinalMetrics(
  url: string,
  registry: Registry,
  job: string,
  logger: Logger,
): Promise<void> {
  const gateway = new Pushgateway(url, { timeout: PUSH_TIMEOUT_MS }, registry);
  const started = performance.now();
  try {
    await gateway.push({ jobName: job });
    logger.info(
      { pushgateway: url, job, ms: Math.round(performance.now() - started) },
      'pushed final metrics',
    );
  } catch (error) {
    logger.warn({ pushgateway: url, job, err: error }, 'could not push final metrics to the Pushgateway');
  }
}
