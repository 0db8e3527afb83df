/**
 * `npm run demo`: the seed's two terminals in one command, on the embedded
 * local stack. Starts the stack if needed, runs two consumers, produces the
 * seed's 20 orders (some invalid, with simulated transient failures), waits
 * until every order is accounted for, prints a summary and stops.
 */
import { spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadConfig } from '../src/config/load.js';
import { startConsumer, type ConsumerHandle, type ConsumerStats } from '../src/consumer/index.js';
import { averageCents, formatCents } from '../src/domain/money.js';
import { createKafka } from '../src/adapters/kafka/client.js';
import { groupLag, totalLag } from '../src/adapters/kafka/group-lag.js';
import { createLogger } from '../src/logger.js';
import { runProducer } from '../src/producer/index.js';

const DEMO_DEFAULTS: Record<string, string> = {
  LOG_FORMAT: 'pretty',
  SIMULATED_FAILURE_RATE: '0.2',
  RETRY_BACKOFF_MS: '1000',
  INVALID_RATIO: '0.15',
  ORDER_COUNT: '20',
  HTTP_PORT: '0',
};
const env = { ...DEMO_DEFAULTS, ...process.env };
const WAIT_TIMEOUT_MS = 120_000;
/** `npm run demo -- --keep`: leave the consumers running after the summary (curl their /metrics and /stats). */
const keepRunning = process.argv.includes('--keep');

function ensureStack(): void {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'tools/stack/cli.ts', 'ensure'], {
    stdio: 'inherit',
    env: process.env,
  });
  if (result.status !== 0) {
    process.stderr.write('The local stack is not available; see the message above.\n');
    process.exit(result.status ?? 1);
  }
}

function total(handles: readonly ConsumerHandle[]): ConsumerStats {
  return handles
    .map((h) => h.stats())
    .reduce(
      (a, b) => ({
        processed: a.processed + b.processed,
        deadLettered: a.deadLettered + b.deadLettered,
        retried: a.retried + b.retried,
        count: a.count + b.count,
        sumCents: a.sumCents + b.sumCents,
        averageCents: 0n,
      }),
      { processed: 0, deadLettered: 0, retried: 0, count: 0n, sumCents: 0n, averageCents: 0n },
    );
}

async function waitFor(what: string, condition: () => boolean): Promise<void> {
  const deadline = performance.now() + WAIT_TIMEOUT_MS;
  while (!condition()) {
    if (performance.now() > deadline)
      throw new Error(`timed out after ${WAIT_TIMEOUT_MS} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** The exactly-once, cluster-wide aggregate since the topic began, as every instance serves it on /stats. */
function clusterLine(): string[] {
  if (consumerConfig.processingMode !== 'exactly-once') return [];
  const view = consumers[0]?.clusterStats();
  if (!view) return [];
  return [`Cluster-wide:   ${view.orders} orders ever, average $${view.average} (exactly-once, GET /stats)`];
}

async function drainBacklog(): Promise<void> {
  const admin = createKafka(consumerConfig, logger, 'demo-admin').admin();
  await admin.connect();
  try {
    const deadline = performance.now() + WAIT_TIMEOUT_MS;
    for (;;) {
      const lag = totalLag(await groupLag(admin, consumerConfig.groupId, consumerConfig.ordersTopic));
      if (lag === 0n) return;
      if (performance.now() > deadline) throw new Error(`backlog of ${lag} orders did not drain`);
      logger.info(`Draining ${lag} orders left from earlier runs...`);
      await sleep(1000);
    }
  } finally {
    await admin.disconnect();
  }
}

ensureStack();
const consumerConfig = loadConfig('consumer', env);
const producerConfig = loadConfig('producer', env);
const logger = createLogger({
  level: consumerConfig.logLevel,
  format: consumerConfig.logFormat,
  name: 'demo',
});

const consumers = [
  await startConsumer(consumerConfig, { logger: logger.child({ consumer: 1 }) }),
  await startConsumer(consumerConfig, { logger: logger.child({ consumer: 2 }) }),
];
let exitCode = 0;
try {
  await waitFor('both consumers to join the group', () => consumers.every((c) => c.health.joined));
  // Orders left over from earlier runs are drained first, so the summary counts only this run.
  await drainBacklog();
  const before = total(consumers);

  const produced = await runProducer(producerConfig, { logger, http: false });
  await waitFor('every produced order to be processed or dead-lettered', () => {
    const now = total(consumers);
    return (
      now.processed - before.processed + (now.deadLettered - before.deadLettered) >= produced.acknowledged
    );
  });
  const after = total(consumers);
  const processed = after.processed - before.processed;
  const deadLettered = after.deadLettered - before.deadLettered;
  const average = averageCents(after.sumCents - before.sumCents, after.count - before.count);
  const expected = averageCents(produced.validSumCents, BigInt(produced.validAcknowledged));
  const lines = [
    '='.repeat(60),
    'DEMO SUMMARY',
    '='.repeat(60),
    `Produced:       ${produced.acknowledged} orders (${produced.invalidAcknowledged} deliberately invalid)`,
    `Processed:      ${processed}`,
    `Retried:        ${after.retried - before.retried} retries of transient failures`,
    `Dead-lettered:  ${deadLettered} (read them with: npm run dlq)`,
    `Average price:  $${formatCents(average)} (the producer's valid orders average $${formatCents(expected)})`,
    ...clusterLine(),
    ...consumers.map(
      (c, i) =>
        `Consumer ${i + 1}:     partitions [${c.health.assignedPartitions.join(', ')}], ` +
        `${c.stats().processed} processed, metrics on :${c.httpPort}/metrics`,
    ),
  ];
  process.stdout.write(`\n${lines.join('\n')}\n\n`);
  if (processed + deadLettered !== produced.acknowledged || produced.failed > 0) exitCode = 1;
} catch (error) {
  logger.error({ err: error }, 'Demo failed');
  exitCode = 1;
} finally {
  if (keepRunning && exitCode === 0) {
    process.stdout.write('Consumers keep running (--keep); press Ctrl-C to stop them.\n');
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
  }
  await Promise.all(consumers.map((c) => c.stop()));
}
process.exit(exitCode);
