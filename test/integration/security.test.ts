/**
 * The secured local stack end to end: the producer and the consumer (exactly-once) over SASL_SSL with
 * SCRAM-SHA-512, each as its own least-privilege principal, and the registry over HTTPS with basic auth;
 * then each failure mode (a wrong password, an untrusted certificate, a missing ACL, SASL without TLS,
 * credentials in a URL) and, last, every log of the run (and a run of its own) searched for the passwords.
 * The ACLs it grants are revoked at the end.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Admin, Kafka } from 'kafkajs';
import { registryReachable } from '../../src/adapters/registry/registry-probe.js';
import {
  consumerGrants,
  grant,
  producerGrants,
  revoke,
  securedStack,
  type Grant,
  type SecuredStack,
} from '../../tools/stack/index.js';
import { scrape, readiness } from '../helpers/health.js';
import {
  collect,
  createTestTopics,
  deleteTestTopics,
  newTestTopics,
  testKafka,
  type TestTopics,
} from '../helpers/kafka.js';
import { sampleValue } from '../helpers/metrics-text.js';
import { freePort, startCli, waitForLine, type LogLine, type RunningProcess } from '../helpers/processes.js';
import { RULES_FILE, startPrometheus, type PrometheusInstance } from '../helpers/prometheus.js';
import { waitUntil } from '../helpers/wait.js';

let stack: SecuredStack;
let kafka: Kafka;
let admin: Admin;
const created: TestTopics[] = [];
const processes: RunningProcess[] = [];
/** Everything the secured run's processes and endpoints said, searched for secrets at the end. */
const transcripts: string[] = [];
/** Every ACL this run created, revoked at the end: the topics go, and so must their rows. */
const granted: { principal: string; grants: readonly Grant[] }[] = [];

async function grantFor(principal: string, grants: readonly Grant[]): Promise<void> {
  granted.push({ principal, grants });
  await grant(admin, principal, grants);
}
const WRONG_PASSWORD = `wrong-${Math.random().toString(36).slice(2)}`;
const URL_PASSWORD = `urlpass-${Math.random().toString(36).slice(2)}`;

function topicEnv(topics: TestTopics): Record<string, string> {
  return {
    ORDERS_TOPIC: topics.ordersTopic,
    DLQ_TOPIC: topics.dlqTopic,
    STATS_TOPIC: topics.statsTopic,
    KAFKA_GROUP_ID: topics.groupId,
  };
}

function start(
  script: 'consumer' | 'producer',
  env: Record<string, string>,
  args: string[] = [],
): RunningProcess {
  const proc = startCli(script, env, args);
  processes.push(proc);
  return proc;
}

async function stop(proc: RunningProcess): Promise<void> {
  if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGTERM');
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), 15_000);
  await proc.exited;
  clearTimeout(timer);
}

/** Topics of this test's own, and the ACLs a deployment would give each principal on them. */
async function securedTopics(
  prefix: string,
  options: { consumerWithoutDlq?: boolean } = {},
): Promise<TestTopics> {
  const topics = newTestTopics(prefix);
  await createTestTopics(kafka, topics);
  created.push(topics);
  await grantFor(`User:${stack.credentials.users.producer.username}`, producerGrants(topics));
  const consumer = consumerGrants(topics).filter(
    (g) => !(options.consumerWithoutDlq && g.resource === 'TOPIC' && g.name === topics.dlqTopic),
  );
  await grantFor(`User:${stack.credentials.users.consumer.username}`, consumer);
  return topics;
}

interface ProducerTotals {
  readonly acknowledged: number;
  readonly invalid: number;
  readonly valid: number;
  readonly validSum: string;
}

async function produce(topics: TestTopics, args: string[]): Promise<ProducerTotals> {
  const proc = start('producer', { ...stack.env('producer'), ...topicEnv(topics), HTTP_PORT: '0' }, args);
  const { code } = await proc.exited;
  transcripts.push(JSON.stringify(proc.lines), proc.stderr());
  assert.equal(code, 0, `the producer failed: ${proc.stderr().slice(-1000)}`);
  const finished = proc.lines.find((l) => String(l.msg).startsWith('Producer finished'));
  assert.ok(finished, 'the producer logged its totals');
  return finished as unknown as ProducerTotals;
}

async function stats(port: number): Promise<{ orders: string; sum: string; deadLettered: string }> {
  const response = await fetch(`http://127.0.0.1:${port}/stats`, { signal: AbortSignal.timeout(5000) });
  const text = await response.text();
  transcripts.push(text);
  return JSON.parse(text) as { orders: string; sum: string; deadLettered: string };
}

const assigned = (l: LogLine) => typeof l.msg === 'string' && l.msg.startsWith('Assigned partitions');

/**
 * The broker's "Failed authentication" lines logged from `since` on. The broker log rotates at 20 MB (busy
 * test runs get there), so every rotated file is read and lines are picked by their timestamp, which log4j
 * writes in the local time zone, as Date parses a time without one.
 */
function failedLogins(since: Date): number {
  const files = [stack.brokerLog, ...[1, 2, 3].map((i) => `${stack.brokerLog}.${i}`)].filter((f) =>
    existsSync(f),
  );
  return files
    .flatMap((f) => readFileSync(f, 'utf8').split('\n'))
    .filter((l) => l.includes('Failed authentication') && l.includes('SCRAM-SHA-512'))
    .map((l) => /^\[(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d),(\d{3})\]/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .filter((m) => new Date(`${m[1]}T${m[2]}.${m[3]}`) >= since).length;
}

before(async () => {
  stack = securedStack();
  kafka = testKafka();
  admin = kafka.admin();
  await admin.connect();
});

after(async () => {
  await Promise.all(processes.map((p) => stop(p)));
  await Promise.all(created.map((t) => deleteTestTopics(kafka, t)));
  for (const { principal, grants } of granted) await revoke(admin, principal, grants);
  await admin.disconnect();
});

describe('the secured stack (SASL_SSL + SCRAM-SHA-512, registry over HTTPS with basic auth)', () => {
  it('when the producer and an exactly-once consumer run as their own principals, then every order is counted once or dead-lettered', async () => {
    const topics = await securedTopics('sec-eos');
    const port = await freePort();
    const consumer = start('consumer', {
      ...stack.env('consumer'),
      ...topicEnv(topics),
      HTTP_PORT: String(port),
    });
    await waitForLine(consumer, 'the secured consumer to join', assigned, 90_000);

    const totals = await produce(topics, ['--count', '60', '--invalid-ratio', '0.1', '--seed', '11']);
    assert.equal(totals.acknowledged, 60);
    assert.ok(totals.invalid > 0, 'the seed yields invalid orders, to exercise the DLQ');

    await waitUntil(
      'the consumer to count every valid order and dead-letter every invalid one',
      async () => {
        const s = await stats(port);
        return s.orders === String(totals.valid) && s.deadLettered === String(totals.invalid);
      },
      90_000,
      500,
    );
    assert.equal((await stats(port)).sum, totals.validSum, 'the exact sum of the valid orders');
    assert.equal((await collect(kafka, topics.dlqTopic, totals.invalid)).length, totals.invalid);
    const ready = await readiness(port);
    assert.equal(ready.status, 200, JSON.stringify(ready.body));
    transcripts.push(
      await (await fetch(`http://127.0.0.1:${port}/metrics`)).text(),
      JSON.stringify(ready.body),
    );
    await stop(consumer);
    transcripts.push(JSON.stringify(consumer.lines), consumer.stderr());
  });

  it('when the password is wrong, then one error names the mechanism and the user, never the secret, and attempts back off (a few a minute)', async () => {
    const topics = await securedTopics('sec-badpw');
    const port = await freePort();
    // Log4j stamps lines to the millisecond, from the broker's clock, which is this machine's.
    const windowStart = new Date(Date.now() - 1000);
    const windowMs = 32_000;
    const opened = performance.now();
    const consumer = start('consumer', {
      ...stack.env('consumer'),
      ...topicEnv(topics),
      KAFKA_SASL_PASSWORD: WRONG_PASSWORD,
      HTTP_PORT: String(port),
    });
    await waitForLine(consumer, 'the refused login', (l) => l.code === 'KOS_BROKER_AUTH', 30_000);
    const notReady = await readiness(port);
    assert.equal(notReady.status, 503);
    transcripts.push(JSON.stringify(notReady.body));
    await waitUntil(
      'the measuring window',
      () => performance.now() - opened >= windowMs,
      windowMs + 1000,
      250,
    );
    const attempts = failedLogins(windowStart);
    await stop(consumer);
    transcripts.push(JSON.stringify(consumer.lines), consumer.stderr());

    const errors = consumer.lines.filter((l) => Number(l.level) >= 50);
    assert.equal(
      errors.length,
      1,
      `exactly one error line:\n${errors.map((l) => JSON.stringify(l)).join('\n')}`,
    );
    const [error] = errors;
    assert.match(String(error?.msg), /SASL SCRAM-SHA-512 authentication as user "kos-consumer" was refused/);
    // Backoff 2 s doubling: attempts at 0, 2, 6, 14 and 30 s. kafkajs alone would retry every ~0.3-10 s.
    const perMinute = (attempts * 60_000) / windowMs;
    console.log(
      `wrong password: ${attempts} failed logins on the broker in ${windowMs / 1000} s (${perMinute.toFixed(1)}/min)`,
    );
    assert.ok(attempts >= 3 && attempts <= 6, `3 to 6 attempts in ${windowMs / 1000} s, got ${attempts}`);
  });

  it('when the broker certificate is not trusted, then the error names the broker and the setting to fix', async () => {
    const topics = await securedTopics('sec-tls');
    const env: Record<string, string> = { ...stack.env('consumer'), ...topicEnv(topics), HTTP_PORT: '0' };
    delete env['KAFKA_TLS_CA_FILE'];
    const consumer = start('consumer', env);
    await waitForLine(consumer, 'the refused handshake', (l) => l.code === 'KOS_BROKER_TLS', 30_000);
    await stop(consumer);
    transcripts.push(JSON.stringify(consumer.lines), consumer.stderr());
    const line = consumer.lines.find((l) => l.code === 'KOS_BROKER_TLS');
    assert.ok(String(line?.msg).includes(stack.brokers), String(line?.msg));
    assert.match(String(line?.msg), /KAFKA_TLS_CA_FILE/);
  });

  it('when the registry certificate is not trusted, then the probe names the registry and SCHEMA_REGISTRY_CA_FILE; with the CA and a client certificate it answers', async () => {
    const { registry } = stack.credentials;
    const base = {
      schemaRegistryUrl: stack.registryUrl,
      registryTimeoutMs: 3000,
      clientId: 'security-test',
      schemaRegistryUsername: registry.username,
      schemaRegistryPassword: registry.password,
    };
    await assert.rejects(registryReachable(base), (error: Error) => {
      assert.match(error.message, /127\.0\.0\.1:\d+/);
      assert.match(error.message, /SCHEMA_REGISTRY_CA_FILE/);
      return true;
    });
    assert.equal(
      await registryReachable({
        ...base,
        schemaRegistryCaFile: stack.caFile,
        schemaRegistryCertFile: stack.clientCertFile,
        schemaRegistryKeyFile: stack.clientKeyFile,
      }),
      true,
    );
    await assert.rejects(
      registryReachable({
        ...base,
        schemaRegistryCaFile: stack.caFile,
        schemaRegistryPassword: WRONG_PASSWORD,
      }),
      /HTTP 401/,
    );
    // The proxy asks for a client certificate and verifies it against the stack's CA: it says whether one was.
    const presented = await new Promise<string | undefined>((resolve, reject) => {
      const req = https.get(
        `${stack.registryUrl}/subjects`,
        {
          ca: readFileSync(stack.caFile),
          cert: readFileSync(stack.clientCertFile),
          key: readFileSync(stack.clientKeyFile),
          auth: `${registry.username}:${registry.password}`,
          agent: false,
        },
        (res) => {
          res.resume();
          resolve(res.headers['x-client-certificate'] as string | undefined);
        },
      );
      req.on('error', reject);
    });
    assert.equal(
      presented,
      'verified',
      presented === undefined
        ? 'the registry proxy predates --client-ca: restart the stack (npm run stack:down && npm run stack:up)'
        : 'the client certificate was not presented or not verified',
    );
  });

  it('when an ACL is missing (the consumer may not write its DLQ), then the partition waits, the alert fires, nothing is lost, and it goes on once granted', async () => {
    const topics = await securedTopics('sec-acl', { consumerWithoutDlq: true });
    const port = await freePort();
    const rules = path.join(await mkdtemp(path.join(tmpdir(), 'kos-sec-rules-')), 'rules.yaml');
    // The project's rules, with the alert's 1 min `for` cut to 5 s so the test need not wait a minute.
    const original = readFileSync(RULES_FILE, 'utf8');
    const alert = /(- alert: OrdersDeadLetterQueueUnwritable\n\s+expr: [^\n]+\n\s+for: )1m/;
    assert.match(original, alert);
    writeFileSync(rules, original.replace(alert, '$15s'));
    let prometheus: PrometheusInstance | undefined;
    const consumer = start('consumer', {
      ...stack.env('consumer'),
      ...topicEnv(topics),
      HTTP_PORT: String(port),
      DEPENDENCY_BACKOFF_MAX_MS: '2000',
    });
    try {
      prometheus = await startPrometheus({
        jobs: { 'order-consumer': [`127.0.0.1:${port}`] },
        ruleFiles: [rules],
      });
      await waitForLine(consumer, 'the secured consumer to join', assigned, 90_000);
      const totals = await produce(topics, ['--count', '30', '--invalid-ratio', '0.2', '--seed', '5']);
      assert.ok(totals.invalid > 0);

      await waitUntil(
        'a partition waiting for the DLQ',
        async () =>
          (sampleValue(await scrape(port), 'orders_partitions_waiting', { dependency: 'dlq' }) ?? 0) > 0,
        60_000,
        500,
      );
      const ready = await readiness(port);
      assert.equal(ready.status, 503);
      transcripts.push(JSON.stringify(ready.body));
      assert.equal(ready.body.checks.find((c) => c.name === 'dlq')?.ok, false);
      await prometheus.waitFor(
        'ALERTS{alertname="OrdersDeadLetterQueueUnwritable",alertstate="firing"}',
        (samples) => samples.length > 0,
        60_000,
      );
      assert.equal(
        (await stats(port)).deadLettered,
        '0',
        'nothing is dead-lettered or skipped while the ACL is missing',
      );

      await grantFor(`User:${stack.credentials.users.consumer.username}`, [
        { resource: 'TOPIC', name: topics.dlqTopic, operations: ['WRITE', 'DESCRIBE', 'DESCRIBE_CONFIGS'] },
      ]);
      await waitUntil(
        'every order counted or dead-lettered once the ACL exists',
        async () => {
          const s = await stats(port);
          return s.orders === String(totals.valid) && s.deadLettered === String(totals.invalid);
        },
        90_000,
        500,
      );
      assert.equal((await stats(port)).sum, totals.validSum);
      assert.equal((await collect(kafka, topics.dlqTopic, totals.invalid)).length, totals.invalid);
      assert.equal(
        sampleValue(await scrape(port), 'orders_partitions_waiting', { dependency: 'dlq' }) ?? 0,
        0,
      );
    } finally {
      await prometheus?.stop();
      await stop(consumer);
      transcripts.push(JSON.stringify(consumer.lines), consumer.stderr());
    }
  });

  it('when SASL is asked for without TLS, then the process refuses to start unless KAFKA_SASL_ALLOW_PLAINTEXT=true', async () => {
    const env = { ...stack.env('producer'), KAFKA_TLS: 'false', HTTP_PORT: '0' };
    const refused = start('producer', env, ['--count', '1']);
    const { code } = await refused.exited;
    transcripts.push(JSON.stringify(refused.lines), refused.stderr());
    assert.equal(code, 2);
    assert.match(refused.stderr(), /KAFKA_SASL_ALLOW_PLAINTEXT=true/);
  });

  it('when the registry URL holds credentials, then the process refuses to start and shows the URL without them', async () => {
    const url = stack.registryUrl.replace('https://', `https://someone:${URL_PASSWORD}@`);
    const refused = start('producer', { ...stack.env('producer'), SCHEMA_REGISTRY_URL: url, HTTP_PORT: '0' });
    const { code } = await refused.exited;
    transcripts.push(JSON.stringify(refused.lines), refused.stderr());
    assert.equal(code, 2);
    assert.match(refused.stderr(), /SCHEMA_REGISTRY_URL=.*\[REDACTED\]@.*must not hold credentials/);
  });

  it('when the run is over, then no log, error, /metrics, /stats or /readyz of it holds a password', async () => {
    // Its own run, so that it checks something when run alone: a secured producer, and a consumer refused
    // for a wrong password (its log lines, its failing /readyz).
    const topics = await securedTopics('sec-final');
    const before = transcripts.length;
    await produce(topics, ['--count', '5', '--seed', '3']);
    const port = await freePort();
    const refused = start('consumer', {
      ...stack.env('consumer'),
      ...topicEnv(topics),
      KAFKA_SASL_PASSWORD: WRONG_PASSWORD,
      HTTP_PORT: String(port),
    });
    await waitForLine(refused, 'the refused login', (l) => l.code === 'KOS_BROKER_AUTH', 30_000);
    const notReady = await readiness(port);
    assert.equal(notReady.status, 503);
    transcripts.push(JSON.stringify(notReady.body));
    await stop(refused);
    transcripts.push(JSON.stringify(refused.lines), refused.stderr());
    assert.ok(transcripts.length - before >= 5, 'this test collected its own transcripts');
    const secrets = [
      ...Object.values(stack.credentials.users).map((u) => u.password),
      stack.credentials.registry.password,
      WRONG_PASSWORD,
      URL_PASSWORD,
    ];
    const files = readdirSync(stack.logsDir).map((f) => path.join(stack.logsDir, f));
    const sources = [
      ...transcripts.map((text, i) => ({ name: `process output #${i}`, text })),
      ...files.map((file) => ({ name: file, text: readFileSync(file, 'utf8') })),
    ];
    for (const { name, text } of sources) {
      for (const secret of secrets) assert.ok(!text.includes(secret), `${name} holds a password`);
    }
  });
});
