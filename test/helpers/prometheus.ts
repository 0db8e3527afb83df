/**
 * A real Prometheus (Debian's `prometheus` package) for integration tests:
 * a generated config that scrapes the given targets every second and loads
 * the project's rule file, storage in a temp dir, and helpers over the HTTP API.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { freePort } from './processes.js';
import { waitUntil } from './wait.js';

export { freePort };

export const RULES_FILE = fileURLToPath(
  new URL('../../charts/kafka-order-system/files/prometheus-rules.yaml', import.meta.url),
);

/** A scrape job with more than targets, e.g. a Pushgateway (honorLabels: true keeps the pushed `job`). */
export interface ScrapeJob {
  readonly targets: readonly string[];
  readonly honorLabels?: boolean;
  readonly metricsPath?: string;
}

export interface PrometheusOptions {
  /** Scrape jobs: job name → host:port targets (scraped at /metrics), or a ScrapeJob. */
  readonly jobs: Readonly<Record<string, readonly string[] | ScrapeJob>>;
  /** Rule files to load; the project's rules by default. */
  readonly ruleFiles?: readonly string[];
  readonly scrapeIntervalSeconds?: number;
  /** How long to wait for /-/ready (default 30 s). */
  readonly readyTimeoutMs?: number;
  readonly binary?: string;
}

export interface Sample {
  readonly metric: Readonly<Record<string, string>>;
  readonly value: number;
}

export type QueryResult =
  | { readonly resultType: 'vector'; readonly samples: readonly Sample[] }
  | { readonly resultType: 'scalar'; readonly value: number }
  | { readonly resultType: 'matrix' | 'string'; readonly raw: unknown };

export class PromQLError extends Error {
  constructor(
    readonly promql: string,
    readonly errorType: string,
    message: string,
  ) {
    super(`${errorType}: ${message}\n  in: ${promql}`);
  }
}

export interface PrometheusInstance {
  /** e.g. http://127.0.0.1:40123 */
  readonly url: string;
  /** Evaluates an instant query now; throws PromQLError when Prometheus rejects it. */
  query(promql: string): Promise<QueryResult>;
  /** The vector of an instant query (a scalar becomes one sample without labels). */
  vector(promql: string): Promise<readonly Sample[]>;
  /** Polls `promql` until `predicate` holds; throws with the last result after `timeoutMs`. */
  waitFor(
    promql: string,
    predicate: (samples: readonly Sample[]) => boolean,
    timeoutMs?: number,
  ): Promise<readonly Sample[]>;
  /** GET an API path (e.g. /api/v1/rules) and return its `data`. */
  api(path: string): Promise<unknown>;
  stop(): Promise<void>;
}

const DEFAULT_BINARY = '/usr/bin/prometheus';

export async function startPrometheus(options: PrometheusOptions): Promise<PrometheusInstance> {
  const binary = options.binary ?? DEFAULT_BINARY;
  if (!existsSync(binary)) {
    throw new Error(
      `${binary} not found: install Debian's prometheus package (apt-get install -y prometheus)`,
    );
  }
  const dir = await mkdtemp(join(tmpdir(), 'kos-prometheus-'));
  const interval = `${options.scrapeIntervalSeconds ?? 1}s`;
  const config = {
    global: { scrape_interval: interval, evaluation_interval: interval, scrape_timeout: interval },
    rule_files: [...(options.ruleFiles ?? [RULES_FILE])],
    scrape_configs: Object.entries(options.jobs).map(([job, spec]) => {
      const {
        targets,
        honorLabels = false,
        metricsPath = '/metrics',
      }: ScrapeJob = isTargetList(spec) ? { targets: spec } : spec;
      return {
        job_name: job,
        honor_labels: honorLabels,
        metrics_path: metricsPath,
        static_configs: [{ targets: [...targets] }],
      };
    }),
  };
  const configFile = join(dir, 'prometheus.yml');
  await writeFile(configFile, stringify(config));

  // The port is picked free, then handed over; another process can take it in
  // between, so a start that fails to bind is retried on a new port.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const child = spawn(
      binary,
      [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--storage.tsdb.retention.time=1h',
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const stderr = collect(child);
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitForUrl(`${url}/-/ready`, child, options.readyTimeoutMs ?? 30_000, stderr);
      return instance(url, child, dir);
    } catch (error) {
      lastError = error;
      await stopChild(child);
    }
  }
  await rm(dir, { recursive: true, force: true });
  throw lastError;
}

function isTargetList(spec: readonly string[] | ScrapeJob): spec is readonly string[] {
  return Array.isArray(spec);
}

function instance(url: string, child: ChildProcess, dir: string): PrometheusInstance {
  const api = async (path: string): Promise<unknown> => {
    const response = await fetch(`${url}${path}`);
    const body = (await response.json()) as {
      status: string;
      data?: unknown;
      errorType?: string;
      error?: string;
    };
    if (body.status !== 'success') throw new Error(`${path}: ${body.errorType ?? ''} ${body.error ?? ''}`);
    return body.data;
  };
  const query = async (promql: string): Promise<QueryResult> => {
    const response = await fetch(`${url}/api/v1/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ query: promql }),
    });
    const body = (await response.json()) as {
      status: string;
      errorType?: string;
      error?: string;
      data?: { resultType: string; result: unknown };
    };
    if (body.status !== 'success' || !body.data) {
      throw new PromQLError(promql, body.errorType ?? `HTTP ${response.status}`, body.error ?? '');
    }
    return toResult(body.data);
  };
  const vector = async (promql: string): Promise<readonly Sample[]> => {
    const result = await query(promql);
    if (result.resultType === 'vector') return result.samples;
    if (result.resultType === 'scalar') return [{ metric: {}, value: result.value }];
    throw new Error(`expected a vector from ${promql}, got ${result.resultType}`);
  };
  return {
    url,
    query,
    vector,
    api,
    async waitFor(promql, predicate, timeoutMs = 30_000) {
      let last: readonly Sample[] = [];
      await waitUntil(
        () => `${promql}; last result: ${JSON.stringify(last)}`,
        async () => predicate((last = await vector(promql))),
        timeoutMs,
        250,
      );
      return last;
    },
    async stop() {
      await stopChild(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function toResult(data: { resultType: string; result: unknown }): QueryResult {
  if (data.resultType === 'vector') {
    const raw = data.result as { metric: Record<string, string>; value: [number, string] }[];
    return {
      resultType: 'vector',
      samples: raw.map((r) => ({ metric: r.metric, value: Number(r.value[1]) })),
    };
  }
  if (data.resultType === 'scalar') {
    const [, value] = data.result as [number, string];
    return { resultType: 'scalar', value: Number(value) };
  }
  return { resultType: data.resultType as 'matrix' | 'string', raw: data.result };
}

/** Polls `url` until it answers 2xx; fails early when `child` exits. */
export async function waitForUrl(
  url: string,
  child: ChildProcess,
  timeoutMs: number,
  stderr: () => string,
): Promise<void> {
  await waitUntil(
    () => `${url} to answer 2xx:\n${stderr()}`,
    async () => {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(
          `${child.spawnfile} exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${stderr()}`,
        );
      }
      // Not listening yet is not an answer.
      const response = await fetch(url).catch(() => undefined);
      await response?.body?.cancel();
      return response?.ok === true;
    },
    timeoutMs,
  );
}

function collect(child: ChildProcess): () => string {
  let text = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    text = (text + chunk).slice(-8000);
  });
  return () => text;
}

/** SIGTERM, then SIGKILL after 10 s. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      resolve();
    });
  });
  child.kill('SIGTERM');
  const timer = setTimeout(() => {
    child.kill('SIGKILL');
  }, 10_000);
  await exited;
  clearTimeout(timer);
}
