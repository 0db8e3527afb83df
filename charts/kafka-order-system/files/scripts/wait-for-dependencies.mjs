// Waits until the brokers list every app topic and the schema registry answers, reading the
// same environment as the app (KAFKA_*, SCHEMA_REGISTRY_*, ORDERS_TOPIC, DLQ_TOPIC, STATS_TOPIC).
// WAIT_TOPICS (comma-separated) narrows the topics to those the caller uses: with ACLs, the brokers
// list only the topics its principal may describe.
// Runs in the app image, whose node_modules hold kafkajs; exits 1 after WAIT_TIMEOUT_SECONDS.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

// APP_DIR lets the script run outside the image too (its tests run it against a local broker).
const require = createRequire(`${process.env.APP_DIR ?? '/app'}/package.json`);
const { Kafka, logLevel } = require('kafkajs');

const env = process.env;
const deadline = Date.now() + Number(env.WAIT_TIMEOUT_SECONDS ?? '600') * 1000;
const listed = (env.WAIT_TOPICS ?? '')
  .split(',')
  .map((t) => t.trim())
  .filter(Boolean);
const topics =
  listed.length > 0
    ? listed
    : [env.ORDERS_TOPIC ?? 'orders', env.DLQ_TOPIC ?? 'orders-dlq', env.STATS_TOPIC ?? 'order-stats'];
const registryUrl = (env.SCHEMA_REGISTRY_URL ?? '').replace(/\/+$/, '');
const mechanism = env.KAFKA_SASL_MECHANISM ?? 'none';
const tls = env.KAFKA_TLS === 'true';

const kafka = new Kafka({
  clientId: `${env.KAFKA_CLIENT_ID ?? 'kafka-order-system'}-wait`,
  brokers: (env.KAFKA_BROKERS ?? '')
    .split(',')
    .map((b) => b.trim())
    .filter(Boolean),
  ssl: tls
    ? env.KAFKA_TLS_CA_FILE
      ? { ca: [readFileSync(env.KAFKA_TLS_CA_FILE, 'utf8')] }
      : true
    : undefined,
  sasl:
    mechanism === 'none'
      ? undefined
      : { mechanism, username: env.KAFKA_SASL_USERNAME ?? '', password: env.KAFKA_SASL_PASSWORD ?? '' },
  connectionTimeout: 3000,
  retry: { retries: 0 },
  logLevel: logLevel.NOTHING,
});

async function missingTopics() {
  const admin = kafka.admin();
  try {
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    return topics.filter((t) => !existing.has(t));
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

async function registryReady() {
  const headers = {};
  if (env.SCHEMA_REGISTRY_USERNAME && env.SCHEMA_REGISTRY_PASSWORD) {
    const token = Buffer.from(`${env.SCHEMA_REGISTRY_USERNAME}:${env.SCHEMA_REGISTRY_PASSWORD}`).toString(
      'base64',
    );
    headers.authorization = `Basic ${token}`;
  }
  const response = await fetch(`${registryUrl}/subjects`, { headers, signal: AbortSignal.timeout(3000) });
  await response.body?.cancel();
  return response.ok;
}

let kafkaDone = false;
let registryDone = false;
for (;;) {
  if (!kafkaDone) {
    try {
      const missing = await missingTopics();
      kafkaDone = missing.length === 0;
      console.log(
        kafkaDone ? 'kafka: every topic exists' : `kafka: waiting for topics ${missing.join(', ')}`,
      );
    } catch (error) {
      console.log(`kafka: not reachable yet (${error instanceof Error ? error.message : String(error)})`);
    }
  }
  if (!registryDone) {
    try {
      registryDone = await registryReady();
      console.log(registryDone ? 'registry: ready' : 'registry: answering, not ready yet');
    } catch (error) {
      console.log(`registry: not reachable yet (${error instanceof Error ? error.message : String(error)})`);
    }
  }
  if (kafkaDone && registryDone) process.exit(0);
  if (Date.now() > deadline) {
    console.error('gave up waiting for Kafka and the schema registry');
    process.exit(1);
  }
  await new Promise((resolve) => setTimeout(resolve, 3000));
}
