import { parseArgs } from 'node:util';

/** CLI flags and the env vars they stand for; flags win over env. */
const FLAG_TO_ENV = {
  count: 'ORDER_COUNT',
  rate: 'ORDER_RATE',
  'invalid-ratio': 'INVALID_RATIO',
  'start-id': 'START_ORDER_ID',
  seed: 'PRODUCER_SEED',
} as const;

export const PRODUCER_USAGE = `Usage: producer [--count N] [--rate R] [--invalid-ratio F] [--start-id ID] [--seed S]
  --count N          orders to send (ORDER_COUNT, default 20)
  --rate R           orders per second, 0 = as fast as possible (ORDER_RATE, default 0)
  --invalid-ratio F  fraction of deliberately invalid orders, 0..1 (INVALID_RATIO, default 0)
  --start-id ID      first order id (START_ORDER_ID, default 1001)
  --seed S           seed for reproducible orders (PRODUCER_SEED)`;

export function producerEnvFromArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): { env: Record<string, string | undefined>; help: boolean } {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      count: { type: 'string' },
      rate: { type: 'string' },
      'invalid-ratio': { type: 'string' },
      'start-id': { type: 'string' },
      seed: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  const merged: Record<string, string | undefined> = { ...env };
  for (const [flag, name] of Object.entries(FLAG_TO_ENV)) {
    const value = values[flag as keyof typeof FLAG_TO_ENV];
    if (value !== undefined) merged[name] = value;
  }
  return { env: merged, help: values.help === true };
}
