import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

/** Kafka's own perf tools, from kafka-tools on Maven Central (downloaded by stack/pom.xml). */
export const PRODUCER_PERFORMANCE = 'org.apache.kafka.tools.ProducerPerformance';
export const CONSUMER_PERFORMANCE = 'org.apache.kafka.tools.ConsumerPerformance';

export interface ProducerPerformanceResult {
  readonly records: number;
  readonly recordsPerSec: number;
  readonly mbPerSec: number;
  readonly avgLatencyMs: number;
  readonly maxLatencyMs: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
}

const SUMMARY =
  /(\d+) (?:steady state )?records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\), ([\d.]+) ms avg latency, ([\d.]+) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th/;

/**
 * The summary line of ProducerPerformance (the periodic lines have no percentiles); with
 * --warmup-records, the steady-state line printed after it.
 */
export function parseProducerPerformance(output: string): ProducerPerformanceResult {
  const lines = output.split('\n').filter((l) => SUMMARY.test(l));
  const last = lines.find((l) => l.includes('steady state')) ?? lines.at(-1);
  const m = last === undefined ? null : SUMMARY.exec(last);
  if (!m) throw new Error(`no ProducerPerformance summary in output:\n${output.slice(-1500)}`);
  const n = (i: number): number => Number(m[i]);
  return {
    records: n(1),
    recordsPerSec: n(2),
    mbPerSec: n(3),
    avgLatencyMs: n(4),
    maxLatencyMs: n(5),
    p50Ms: n(6),
    p95Ms: n(7),
    p99Ms: n(8),
  };
}

export interface ConsumerSteadyState {
  /** Records read by the end of the last reported interval. */
  readonly records: number;
  /** Records over the timed window (after the warm-up records). */
  readonly timedRecords: number;
  readonly recordsPerSec: number;
}

/** `2026-11-27 16:24:45:986` (the tool's default date format) as ms; only differences matter. */
function parseToolTime(text: string): number {
  const m = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}):(\d{3})$/.exec(text.trim());
  if (!m) return Number.NaN;
  return Date.parse(`${m[1] ?? ''}T${m[2] ?? ''}.${m[3] ?? ''}Z`);
}

/**
 * With --show-detailed-stats, ConsumerPerformance prints cumulative totals per
 * reporting interval (and no final summary). The rate is taken from the first
 * interval that ends past `warmupRecords` to the last one, so the JVM's
 * warm-up is left out, as ProducerPerformance's --warmup-records does.
 */
export function parseConsumerPerformanceDetailed(output: string, warmupRecords: number): ConsumerSteadyState {
  const lines = output.split('\n').map((l) => l.trim());
  const headerAt = lines.findIndex((l) => l.startsWith('time,'));
  const header = lines[headerAt]?.split(',').map((c) => c.trim()) ?? [];
  const timeCol = header.indexOf('time');
  const countCol = header.indexOf('data.consumed.in.nMsg');
  const points = lines
    .slice(headerAt + 1)
    .map((l) => l.split(',').map((c) => c.trim()))
    .filter((cells) => cells.length === header.length)
    .map((cells) => ({ at: parseToolTime(cells[timeCol] ?? ''), records: Number(cells[countCol]) }))
    .filter((p) => Number.isFinite(p.at) && Number.isFinite(p.records));
  if (headerAt < 0 || timeCol < 0 || countCol < 0 || points.length < 2) {
    throw new Error(`no ConsumerPerformance interval stats in output:\n${output.slice(0, 1500)}`);
  }
  const last = points.at(-1) ?? { at: 0, records: 0 };
  // Time from the first point past the warm-up, else from the second (the first includes the group join);
  // a short run (smoke) with only two points times from the first, so there is always an interval.
  const from =
    points.find((p) => p.records >= warmupRecords && p !== last) ??
    (points.length > 2 ? points[1] : points[0]) ??
    last;
  const seconds = (last.at - from.at) / 1000;
  const timedRecords = last.records - from.records;
  if (seconds <= 0 || timedRecords <= 0) {
    throw new Error(`ConsumerPerformance intervals too short to time:\n${output.slice(0, 1500)}`);
  }
  return { records: last.records, timedRecords, recordsPerSec: timedRecords / seconds };
}

/** `java -version` prints e.g. `openjdk version "17.0.15" 2025-04-15` on stderr. */
export function parseJavaVersion(output: string): string | undefined {
  return /version "([^"]+)"/.exec(output)?.[1];
}

export interface JavaTools {
  readonly java: string;
  readonly classpath: string;
}

/** The kafka-tools jars: BENCH_KAFKA_LIBS, else what `npm run stack:up` downloaded. */
export function locateKafkaLibs(repo: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates = [env['BENCH_KAFKA_LIBS'], path.join(repo, '.cache/stack/kafka-4.3.1/libs')];
  return candidates.find(
    (dir): dir is string => dir !== undefined && existsSync(path.join(dir, 'kafka-tools-4.3.1.jar')),
  );
}

export interface CommandOutput {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runCommand(
  command: string,
  args: readonly string[],
  timeoutMs: number,
): Promise<CommandOutput> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export async function javaVersion(java: string): Promise<string> {
  const out = await runCommand(java, ['-version'], 30_000).catch(() => undefined);
  return (out && parseJavaVersion(out.stderr + out.stdout)) ?? 'unavailable';
}

async function runTool(
  tools: JavaTools,
  main: string,
  args: readonly string[],
  timeoutMs: number,
): Promise<string> {
  const out = await runCommand(tools.java, ['-Xmx512m', '-cp', tools.classpath, main, ...args], timeoutMs);
  if (out.code !== 0) {
    // The tools print their usage after the actual complaint: show the start, not the tail.
    throw new Error(`${main} exited with ${String(out.code)}:\n${(out.stderr + out.stdout).slice(0, 1500)}`);
  }
  return out.stdout;
}

export async function producerPerformance(
  tools: JavaTools,
  opts: { brokers: string; topic: string; records: number; recordSize: number },
): Promise<ProducerPerformanceResult> {
  const warmup = Math.ceil(opts.records / 2);
  const stdout = await runTool(
    tools,
    PRODUCER_PERFORMANCE,
    [
      '--topic',
      opts.topic,
      // Half as many warm-up records again, not timed: the JVM's JIT warm-up is not what we compare against.
      '--num-records',
      String(opts.records + warmup),
      '--warmup-records',
      String(warmup),
      '--record-size',
      String(opts.recordSize),
      '--throughput',
      '-1',
      '--command-property',
      `bootstrap.servers=${opts.brokers}`,
      'acks=all',
      'enable.idempotence=true',
      'max.in.flight.requests.per.connection=1',
    ],
    300_000,
  );
  return parseProducerPerformance(stdout);
}

/**
 * Reads `records + warmupRecords` records (the topic must hold them) with interval
 * stats every 10 ms; returns the steady-state rate after the warm-up.
 */
export async function consumerPerformance(
  tools: JavaTools,
  opts: { brokers: string; topic: string; records: number; warmupRecords: number; group: string },
): Promise<ConsumerSteadyState> {
  const stdout = await runTool(
    tools,
    CONSUMER_PERFORMANCE,
    [
      '--bootstrap-server',
      opts.brokers,
      '--topic',
      opts.topic,
      '--num-records',
      String(opts.records + opts.warmupRecords),
      '--group',
      opts.group,
      '--timeout',
      '60000',
      '--show-detailed-stats',
      '--reporting-interval',
      '10',
    ],
    300_000,
  );
  return parseConsumerPerformanceDetailed(stdout, opts.warmupRecords);
}
