import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createTestTopics, deleteTestTopics, newTestTopics, testKafka } from '../helpers/kafka.js';
import { parseMetricsText, type Sample } from '../helpers/metrics-text.js';
import { waitUntil } from '../helpers/wait.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const kafka = testKafka();
const topics = newTestTopics('demo');

after(() => deleteTestTopics(kafka, topics));

/** The number after `label` on the summary line that starts with it. */
function summaryNumber(output: string, label: string): number {
  const match = new RegExp(`^${label}:\\s+(\\d+)`, 'm').exec(output);
  assert.ok(match?.[1], `summary line "${label}" in:\n${output.slice(-3000)}`);
  return Number(match[1]);
}

const total = (samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number =>
  samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);

describe('npm run demo (the main job on the embedded stack)', () => {
  it("when the demo runs, then it prints the seed's lines and a consistent summary, and /metrics agrees with it", async () => {
    await createTestTopics(kafka, topics);
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo.ts', '--keep'], {
      cwd: REPO,
      env: {
        ...process.env,
        ORDERS_TOPIC: topics.ordersTopic,
        DLQ_TOPIC: topics.dlqTopic,
        STATS_TOPIC: topics.statsTopic,
        KAFKA_GROUP_ID: topics.groupId,
        // A fixed seed gives 4 invalid orders of 20; with random ones, 1 run in 26 had none.
        PRODUCER_SEED: '42',
        // The demo's 20 % simulated failures would dead-letter a valid order (4 failures in a row) in
        // about 1 run in 40, and then the consumers rightly average less than the producer sent.
        MAX_RETRIES: '12',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await waitUntil(
        'the demo summary, with the consumers kept running',
        () => output.includes('Consumers keep running') || child.exitCode !== null,
        180_000,
      );
      assert.match(output, /Consumers keep running/, output.slice(-3000));

      // The seed's console lines.
      for (const line of [
        /Subscribed to topic: /,
        /Waiting for messages\.\.\./,
        /Produced Order \d+: \S.* - \$\d+\.\d{2}/,
        /Message delivered to \S+ \[\d\] at offset \d+/,
        /Successfully processed order \d+: .* \| running average \$\d+\.\d{2}/,
        /Sent \S+ to the DLQ after \d attempts?: /,
      ]) {
        assert.match(output, line);
      }

      const produced = summaryNumber(output, 'Produced');
      const processed = summaryNumber(output, 'Processed');
      const deadLettered = summaryNumber(output, 'Dead-lettered');
      const retried = summaryNumber(output, 'Retried');
      assert.equal(produced, 20);
      assert.equal(processed + deadLettered, produced, 'every order is accounted for');
      assert.ok(deadLettered > 0, 'the demo sends some invalid orders');
      const average =
        /Average price:\s+\$(\d+\.\d{2}) \(the producer's valid orders average \$(\d+\.\d{2})\)/.exec(output);
      assert.ok(average, 'the average line');
      assert.equal(average[1], average[2], 'the consumers average what the producer sent, to the cent');

      // What an operator sees with curl on the running consumers.
      const ports = [...output.matchAll(/metrics on :(\d+)\/metrics/g)].map((m) => Number(m[1]));
      assert.equal(ports.length, 2);
      const samples = (
        await Promise.all(
          ports.map(async (port) => {
            const response = await fetch(`http://127.0.0.1:${port}/metrics`);
            assert.equal(response.status, 200);
            return parseMetricsText(await response.text());
          }),
        )
      ).flat();
      assert.equal(total(samples, 'orders_processed_total', { outcome: 'success' }), processed);
      assert.equal(total(samples, 'orders_processed_total', { outcome: 'dead_lettered' }), deadLettered);
      assert.equal(total(samples, 'orders_dead_lettered_total'), deadLettered);
      assert.equal(total(samples, 'orders_retries_total'), retried);
      const clusterAverage =
        total(samples, 'orders_price_sum_dollars_total') / total(samples, 'orders_price_count_total');
      assert.equal(clusterAverage.toFixed(2), average[1]);
      assert.equal(
        samples.filter((s) => s.name === 'orders_average_price_dollars').length,
        2,
        'each instance serves its own running average',
      );
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0, 'the demo stops its consumers and exits 0 on SIGTERM');
  });
});
