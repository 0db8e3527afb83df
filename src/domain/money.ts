/**
 * Money is held as an integer count of cents (bigint), never as a float:
 * a running sum over millions of orders then stays exact, and only the
 * final division rounds, once, half away from zero.
 */
export type Cents = bigint;

const DECIMAL = /^(-)?(\d+)(?:\.(\d{1,2}))?$/;

/** "859.32" → 85932n. Rejects more than 2 fraction digits instead of rounding silently. */
export function parseCents(text: string): Cents {
  const match = DECIMAL.exec(text.trim());
  if (!match)
    throw new RangeError(`not a decimal amount with at most 2 fraction digits: ${JSON.stringify(text)}`);
  const [, minus, whole = '0', fraction = ''] = match;
  const cents = BigInt(whole) * 100n + BigInt(fraction.padEnd(2, '0'));
  return minus ? -cents : cents;
}

/** 85932n → "859.32" */
export function formatCents(cents: Cents): string {
  const negative = cents < 0n;
  const abs = negative ? -cents : cents;
  const whole = abs / 100n;
  const fraction = (abs % 100n).toString().padStart(2, '0');
  return `${negative ? '-' : ''}${whole.toString()}.${fraction}`;
}

/** sum / count in cents, rounded half away from zero; 0 when count is 0. */
export function averageCents(sum: Cents, count: bigint): Cents {
  if (count <= 0n) return 0n;
  const negative = sum < 0n;
  const abs = negative ? -sum : sum;
  const rounded = (abs * 2n + count) / (2n * count);
  return negative ? -rounded : rounded;
}
