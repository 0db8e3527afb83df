import { formatCents, parseCents } from '../../src/domain/money.js';
import {
  apply,
  jsonLogs,
  kubectl,
  kubectlJson,
  NAMESPACE,
  chartProducerJob,
  readyConsumers,
  stats,
  type ClusterStats,
} from './kube.js';
import { waitUntil } from '../helpers/wait.js';

/** What the producers said they wrote: the consumers' /stats must add up to exactly this. */
export class Ledger {
  orders = 0n;
  sumCents = 0n;
  deadLettered = 0n;

  add(run: ProducerRun): void {
    this.orders += run.valid;
    this.sumCents += run.validSumCents;
    this.deadLettered += run.invalid;
  }

  matches(s: ClusterStats): boolean {
    return (
      s.caughtUp &&
      BigInt(s.orders) === this.orders &&
      parseCents(s.sum) === this.sumCents &&
      BigInt(s.deadLettered) === this.deadLettered
    );
  }

  toString(): string {
    return `${this.orders} orders, $${formatCents(this.sumCents)}, ${this.deadLettered} dead-lettered`;
  }
}

export interface ProducerRun {
  readonly valid: bigint;
  readonly validSumCents: bigint;
  readonly invalid: bigint;
}

/** Waits for a producer Job to complete and reads its closing line. */
export async function producerRun(job: string, timeoutMs = 300_000): Promise<ProducerRun> {
  await kubectl(
    ['-n', NAMESPACE, 'wait', '--for=condition=complete', `job/${job}`, `--timeout=${timeoutMs / 1000}s`],
    timeoutMs + 10_000,
  );
  const finished = (await jsonLogs(`job/${job}`)).find(
    (l) => typeof l.msg === 'string' && l.msg.startsWith('Producer finished'),
  );
  if (!finished) throw new Error(`job/${job}: no "Producer finished" line`);
  if (finished.failed !== 0) throw new Error(`job/${job}: ${String(finished.failed)} orders failed`);
  return {
    valid: BigInt(finished.valid as number),
    validSumCents: parseCents(String(finished.validSum)),
    invalid: BigInt(finished.invalid as number),
  };
}

interface Job {
  metadata: { name: string; labels?: Record<string, string> };
  spec: {
    template: {
      metadata?: { labels?: Record<string, string> };
      spec: { containers: { name: string; env?: { name: string; value?: string }[] }[] };
    };
  } & Record<string, unknown>;
}

/** Starts another run of the chart's producer Job, with its own order ids, count and rate. */
export async function startProducer(name: string, env: Record<string, string>): Promise<string> {
  const template = await kubectlJson<Job>(['-n', NAMESPACE, 'get', 'job', await chartProducerJob()]);
  const { selector: _selector, manualSelector: _manual, ...spec } = template.spec;
  // The Job controller's own labels are given to the new Job's pods by the controller again.
  const labels = Object.fromEntries(
    Object.entries(template.spec.template.metadata?.labels ?? {}).filter(
      ([key]) => !key.includes('controller-uid') && key !== 'job-name' && !key.endsWith('/job-name'),
    ),
  );
  const containers = template.spec.template.spec.containers.map((c) =>
    c.name === 'producer'
      ? {
          ...c,
          env: [
            ...(c.env ?? []).filter((e) => !(e.name in env)),
            ...Object.entries(env).map(([n, value]) => ({ name: n, value })),
          ],
        }
      : c,
  );
  await kubectl(['-n', NAMESPACE, 'delete', 'job', name, '--ignore-not-found', '--wait=true']);
  await apply({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, labels: { 'app.kubernetes.io/part-of': 'kafka-order-system-k8s-test' } },
    spec: {
      ...spec,
      template: {
        ...template.spec.template,
        metadata: { labels },
        spec: { ...template.spec.template.spec, containers },
      },
    },
  });
  return name;
}

/** Waits until every Ready consumer's /stats equals the ledger (and there are `replicas` of them). */
export async function waitForExactStats(
  ledger: Ledger,
  replicas: number,
  timeoutMs = 180_000,
): Promise<void> {
  let last = '';
  await waitUntil(
    () => `every consumer's /stats to equal ${ledger.toString()}; last seen: ${last}`,
    async () => {
      const ready = await readyConsumers();
      if (ready.length !== replicas) {
        last = `${ready.length} of ${replicas} consumers Ready`;
        return false;
      }
      const views = await Promise.all(ready.map((p) => stats(p).catch(() => undefined)));
      last = JSON.stringify(
        views.map((v) => v && { orders: v.orders, sum: v.sum, dl: v.deadLettered, caughtUp: v.caughtUp }),
      );
      return views.every((v) => v !== undefined && ledger.matches(v));
    },
    timeoutMs,
    1000,
  );
}
