import { parseArgs } from 'node:util';
import type { Scenario } from './types.js';

export interface BenchOptions {
  /** Orders per repetition of the produce scenario. */
  readonly orders: number;
  /** Orders per repetition of the consume scenario (more: raw kafkajs reads 20k in a blink). */
  readonly consumeOrders: number;
  readonly repetitions: number;
  /** Untimed rounds each in-process client runs first, so every timed round meets a warm JIT. */
  readonly warmupRounds: number;
  /** Producer rates of the end-to-end latency scenario (orders/s). */
  readonly rates: readonly number[];
  readonly e2eSeconds: number;
  /** Orders per repetition of the scale scenario. */
  readonly scaleOrders: number;
  readonly consumers: readonly number[];
  readonly memoryOrders: number;
  readonly scenarios: readonly Scenario[];
  readonly java: boolean;
  /** Extra client baselines beside raw kafkajs (today @platformatic/kafka, consume only). */
  readonly extraClients: boolean;
  readonly outDir: string;
  readonly smoke: boolean;
}

export const ALL_SCENARIOS: readonly Scenario[] = ['produce', 'consume', 'e2e-latency', 'scale', 'memory'];

/** Under 5 minutes on 2 shared cores. */
export const DEFAULTS: BenchOptions = {
  orders: 200_000,
  consumeOrders: 1_000_000,
  repetitions: 3,
  warmupRounds: 1,
  rates: [1000, 5000],
  e2eSeconds: 5,
  scaleOrders: 40_000,
  consumers: [1, 2, 3],
  memoryOrders: 100_000,
  scenarios: ALL_SCENARIOS,
  java: true,
  extraClients: true,
  outDir: 'bench/results',
  smoke: false,
};

/** For CI: every scenario and baseline runs, on a few thousand orders. */
export const SMOKE: BenchOptions = {
  ...DEFAULTS,
  orders: 2000,
  consumeOrders: 2000,
  repetitions: 1,
  warmupRounds: 0,
  rates: [500],
  e2eSeconds: 2,
  scaleOrders: 2000,
  consumers: [1, 2],
  memoryOrders: 5000,
  smoke: true,
};

export const USAGE = `Usage: npm run bench -- [options]
  --smoke               a few thousand orders, one repetition (CI)
  --orders N            orders per repetition, produce (default ${DEFAULTS.orders})
  --consume-orders N    orders per repetition, consume (default ${DEFAULTS.consumeOrders})
  --reps N              repetitions; the table shows median, min and max (default ${DEFAULTS.repetitions})
  --warmup N            untimed produce and consume rounds per kafkajs client before the timed ones (default ${DEFAULTS.warmupRounds})
  --rates A,B           producer rates of the latency scenario, orders/s (default ${DEFAULTS.rates.join(',')})
  --e2e-seconds S       seconds per latency run (default ${DEFAULTS.e2eSeconds})
  --scale-orders N      orders per repetition of the scale scenario (default ${DEFAULTS.scaleOrders})
  --consumers A,B,C     consumer process counts of the scale scenario (default ${DEFAULTS.consumers.join(',')})
  --memory-orders N     orders of the memory scenario (default ${DEFAULTS.memoryOrders})
  --only S1,S2          scenarios: ${ALL_SCENARIOS.join(', ')}
  --no-java             skip Kafka's Java perf tools
  --no-extra-clients    skip the @platformatic/kafka consume baseline (it runs on the images' Node LTS)
  --out DIR             where the JSON goes (default ${DEFAULTS.outDir})
Env: KAFKA_BROKERS, SCHEMA_REGISTRY_URL (like the processes), BENCH_KAFKA_LIBS (kafka-tools jars), JAVA (java binary).`;

const positive = (name: string, raw: string): number => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0)
    throw new Error(`--${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  return n;
};
const nonNegative = (name: string, raw: string): number => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0)
    throw new Error(`--${name} must be a non-negative integer, got ${JSON.stringify(raw)}`);
  return n;
};
const list = (name: string, raw: string): number[] => raw.split(',').map((s) => positive(name, s.trim()));

export function parseOptions(argv: readonly string[]): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      smoke: { type: 'boolean' },
      orders: { type: 'string' },
      'consume-orders': { type: 'string' },
      reps: { type: 'string' },
      warmup: { type: 'string' },
      rates: { type: 'string' },
      'e2e-seconds': { type: 'string' },
      'scale-orders': { type: 'string' },
      consumers: { type: 'string' },
      'memory-orders': { type: 'string' },
      only: { type: 'string' },
      'no-java': { type: 'boolean' },
      'no-extra-clients': { type: 'boolean' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  const base = values.smoke ? SMOKE : DEFAULTS;
  const scenarios = values.only?.split(',').map((s) => s.trim()) ?? base.scenarios;
  for (const s of scenarios) {
    if (!(ALL_SCENARIOS as readonly string[]).includes(s)) throw new Error(`--only: unknown scenario ${s}`);
  }
  return {
    ...base,
    ...(values.orders ? { orders: positive('orders', values.orders) } : {}),
    ...(values['consume-orders']
      ? { consumeOrders: positive('consume-orders', values['consume-orders']) }
      : {}),
    ...(values.reps ? { repetitions: positive('reps', values.reps) } : {}),
    ...(values.warmup ? { warmupRounds: nonNegative('warmup', values.warmup) } : {}),
    ...(values.rates ? { rates: list('rates', values.rates) } : {}),
    ...(values['e2e-seconds'] ? { e2eSeconds: positive('e2e-seconds', values['e2e-seconds']) } : {}),
    ...(values['scale-orders'] ? { scaleOrders: positive('scale-orders', values['scale-orders']) } : {}),
    ...(values.consumers ? { consumers: list('consumers', values.consumers) } : {}),
    ...(values['memory-orders'] ? { memoryOrders: positive('memory-orders', values['memory-orders']) } : {}),
    scenarios: scenarios as Scenario[],
    java: !values['no-java'],
    extraClients: !values['no-extra-clients'],
    ...(values.out ? { outDir: values.out } : {}),
  };
}
