// helm test: sends one valid order with the real producer, then waits until the consumers
// (every pod behind the headless metrics Service) count one more processed order.
import { spawnSync } from 'node:child_process';
import { lookup } from 'node:dns/promises';

const env = process.env;
const service = env.CONSUMER_METRICS_SERVICE;
const port = env.CONSUMER_METRICS_PORT ?? '9464';
const deadline = Date.now() + Number(env.TEST_TIMEOUT_SECONDS ?? '180') * 1000;

/** Sum of orders_processed_total over every consumer pod the Service resolves to. */
async function processedTotal() {
  const addresses = await lookup(service, { all: true });
  let total = 0;
  for (const { address, family } of addresses) {
    const host = family === 6 ? `[${address}]` : address;
    const response = await fetch(`http://${host}:${port}/metrics`, { signal: AbortSignal.timeout(3000) });
    const text = await response.text();
    for (const line of text.split('\n')) {
      if (line.startsWith('orders_processed_total')) total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return total;
}

const before = await processedTotal();
console.log(`consumers had processed ${before} orders`);

// APP_DIR lets the script run outside the image too (its tests run it against a local broker).
const appDir = env.APP_DIR ?? '/app';
const produced = spawnSync(
  'node',
  [`${appDir}/dist/cli/producer.js`, '--count', '1', '--invalid-ratio', '0', '--rate', '0'],
  {
    cwd: appDir,
    stdio: 'inherit',
    env: { ...env, HTTP_PORT: '0', START_ORDER_ID: String(Date.now() % 1_000_000_000) },
  },
);
if (produced.status !== 0) {
  console.error(`the producer exited with ${produced.status ?? produced.signal}`);
  process.exit(1);
}

for (;;) {
  const now = await processedTotal().catch(() => before);
  if (now > before) {
    console.log(`ok: the consumers counted the order (${before} -> ${now})`);
    process.exit(0);
  }
  if (Date.now() > deadline) {
    console.error(`the order was not counted within ${env.TEST_TIMEOUT_SECONDS ?? '180'} s (still ${now})`);
    process.exit(1);
  }
  await new Promise((resolve) => setTimeout(resolve, 2000));
}
