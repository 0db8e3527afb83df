import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { ClusterStatsView } from '../../src/domain/partition-stats.js';

const run = promisify(execFile);

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const KUBECONFIG = path.join(ROOT, '.k8s/kubeconfig');
export const NAMESPACE = 'orders';
export const RELEASE = 'orders';
export const FULLNAME = `${RELEASE}-kafka-order-system`;
export const CONSUMER = `${FULLNAME}-consumer`;

/** The cluster's own binaries (k8s/local/lib.sh builds them into this cache). */
function k8sBin(): string {
  const lib = readFileSync(path.join(ROOT, 'k8s/local/lib.sh'), 'utf8');
  const version = /^K8S_VERSION=(\S+)/m.exec(lib)?.[1];
  if (!version) throw new Error('k8s/local/lib.sh: no K8S_VERSION');
  const cache =
    process.env.K8S_CACHE ??
    path.join(
      process.env.XDG_CACHE_HOME ?? path.join(process.env.HOME ?? '/root', '.cache'),
      'kafka-order-system/k8s',
    );
  return path.join(cache, version, 'bin');
}
export const KUBECTL = path.join(k8sBin(), 'kubectl');
export const HELM3 = path.join(ROOT, '.cache/bin/helm');
export const HELM4 = path.join(ROOT, '.cache/bin/helm4');

export interface CommandResult {
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command in the checkout; a failure carries its stderr. */
export async function sh(file: string, args: readonly string[], timeoutMs = 120_000): Promise<CommandResult> {
  try {
    const { stdout, stderr } = await run(file, [...args], {
      cwd: ROOT,
      timeout: timeoutMs,
      maxBuffer: 64 * 1024 * 1024,
      killSignal: 'SIGKILL',
    });
    return { stdout, stderr };
  } catch (error) {
    const e = error as Error & { stderr?: string; stdout?: string };
    throw new Error(`${path.basename(file)} ${args.join(' ')} failed: ${e.message}\n${e.stderr ?? ''}`, {
      cause: error,
    });
  }
}

/** Runs a command to its end, whatever its exit code, with extra environment variables. */
export function shStatus(
  file: string,
  args: readonly string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, [...args], { cwd: ROOT, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    // 'close', not 'exit': the output is complete only once the pipes are closed.
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
  });
}

/** Runs a command, its output shown as it goes (the long steps: up, down). */
export function shLive(file: string, args: readonly string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, [...args], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

export const kubectl = (args: readonly string[], timeoutMs?: number) =>
  sh(KUBECTL, ['--kubeconfig', KUBECONFIG, ...args], timeoutMs).then((r) => r.stdout);

export async function kubectlJson<T>(args: readonly string[]): Promise<T> {
  return JSON.parse(await kubectl([...args, '-o', 'json'])) as T;
}

export const helm = (binary: string, args: readonly string[], timeoutMs = 600_000) =>
  sh(binary, ['--kubeconfig', KUBECONFIG, ...args], timeoutMs).then((r) => r.stdout);

/** Applies a manifest given as an object. */
export async function apply(manifest: unknown, namespace = NAMESPACE): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn(KUBECTL, ['--kubeconfig', KUBECONFIG, '-n', namespace, 'apply', '-f', '-'], {
      cwd: ROOT,
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`kubectl apply: ${stderr}`))));
    child.stdin.end(JSON.stringify(manifest));
  });
}

export interface PodCondition {
  readonly type: string;
  readonly status: string;
}
export interface ContainerStatus {
  readonly name: string;
  readonly ready: boolean;
  readonly restartCount: number;
}
export interface Pod {
  readonly metadata: {
    readonly name: string;
    readonly labels?: Record<string, string>;
    readonly deletionTimestamp?: string;
    readonly ownerReferences?: { kind: string; name: string }[];
  };
  readonly spec: { readonly terminationGracePeriodSeconds?: number };
  readonly status: {
    readonly phase: string;
    readonly podIP?: string;
    readonly conditions?: PodCondition[];
    readonly containerStatuses?: ContainerStatus[];
  };
}

export const isReady = (pod: Pod) =>
  pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

export async function pods(selector: string, namespace = NAMESPACE): Promise<Pod[]> {
  return (await kubectlJson<{ items: Pod[] }>(['-n', namespace, 'get', 'pods', '-l', selector])).items;
}

export const CONSUMER_SELECTOR = `app.kubernetes.io/instance=${RELEASE},app.kubernetes.io/component=consumer`;

/** The consumers that are Ready and not being deleted. */
export async function readyConsumers(): Promise<Pod[]> {
  return (await pods(CONSUMER_SELECTOR)).filter((p) => isReady(p) && !p.metadata.deletionTimestamp);
}

/** What a consumer's GET /stats answers (src's ClusterStatsView), in the fields the tests read. */
export type ClusterStats = Pick<ClusterStatsView, 'orders' | 'sum' | 'deadLettered' | 'caughtUp'>;

/** A consumer's /stats, straight from the host: pod addresses are routed through the node's bridge. */
export async function stats(pod: Pod, port = 9464): Promise<ClusterStats> {
  if (!pod.status.podIP) throw new Error(`${pod.metadata.name} has no address`);
  const response = await fetch(`http://${pod.status.podIP}:${port}/stats`, {
    signal: AbortSignal.timeout(3000),
  });
  return (await response.json()) as ClusterStats;
}

/** Logs of a pod (or job/NAME), as JSON lines where they are JSON. */
export async function jsonLogs(target: string, namespace = NAMESPACE): Promise<Record<string, unknown>[]> {
  const text = await kubectl(['-n', namespace, 'logs', target, '--tail=-1']);
  const lines: Record<string, unknown>[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // a line that only looks like JSON
    }
  }
  return lines;
}

/** The producer Job of the release's newest revision: the chart names it `<fullname>-producer-<revision>`. */
export async function chartProducerJob(): Promise<string> {
  const jobs = await kubectlJson<{ items: { metadata: { name: string } }[] }>([
    '-n',
    NAMESPACE,
    'get',
    'jobs',
    '-l',
    `app.kubernetes.io/instance=${RELEASE},app.kubernetes.io/component=producer`,
  ]);
  const revision = (name: string) => Number(name.slice(`${FULLNAME}-producer-`.length));
  const [newest] = jobs.items.map((j) => j.metadata.name).sort((a, b) => revision(b) - revision(a));
  if (newest === undefined) throw new Error(`release ${RELEASE} has no producer Job`);
  return newest;
}
