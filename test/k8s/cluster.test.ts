import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  copyFileSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { waitUntil } from '../helpers/wait.js';
import { deadLetterOrigins, duplicates } from './dead-letters.js';
import {
  CONSUMER,
  FULLNAME,
  HELM3,
  HELM4,
  helm,
  isReady,
  jsonLogs,
  KUBECONFIG,
  KUBECTL,
  kubectl,
  apply,
  kubectlJson,
  NAMESPACE,
  pods,
  chartProducerJob,
  readyConsumers,
  RELEASE,
  ROOT,
  sh,
  shLive,
  shStatus,
  stats,
  type Pod,
} from './kube.js';
import { parseCents } from '../../src/domain/money.js';
import { Ledger, producerRun, startProducer, waitForExactStats } from './ledger.js';
import { parseManifests } from '../../tools/validate-manifests.js';

const CLUSTER = path.join(ROOT, 'k8s/local/cluster.sh');
const CHART = path.join(ROOT, 'charts/kafka-order-system');
const LOCAL_VALUES = path.join(ROOT, 'k8s/local/values.yaml');
const PAUSE_IMAGE = 'localhost/kos-local/pause:1.0';
const ledger = new Ledger();
let nextOrderId = 1_000_000;
let hostBefore = '';

/** Whether the Job's producer pod is still running (it has not finished producing). */
async function stillProducing(job: string): Promise<boolean> {
  return (await pods(`job-name=${job}`)).some((p) => p.status.phase === 'Running');
}

/**
 * Another producer run of 3,000 orders at 100/s (30 s), with `action` done while it produces: the
 * action must end before the producer does, or the test would not prove what it says.
 */
async function produceWhile(name: string, action: () => Promise<void>): Promise<void> {
  const job = await startProducer(name, {
    ORDER_COUNT: '3000',
    ORDER_RATE: '100',
    START_ORDER_ID: String(nextOrderId),
    PRODUCER_SEED: String(nextOrderId),
  });
  nextOrderId += 10_000;
  await waitUntil(`job/${job} to have a running pod`, () => stillProducing(job));
  await action();
  assert.ok(await stillProducing(job), `job/${job} was still producing when the action ended`);
  ledger.add(await producerRun(job));
  await kubectl(['-n', NAMESPACE, 'delete', 'job', job, '--wait=false']);
}

async function rolledOut(replicas: number): Promise<void> {
  await kubectl(['-n', NAMESPACE, 'rollout', 'status', `deployment/${CONSUMER}`, '--timeout=240s'], 250_000);
  await waitUntil(
    `${replicas} Ready consumers`,
    async () => (await readyConsumers()).length === replicas,
    120_000,
    500,
  );
}

/** Every dead letter appears once, and there are as many as the producers wrote invalid orders. */
async function assertDeadLettersOnce(): Promise<void> {
  const origins = await deadLetterOrigins();
  assert.deepEqual(duplicates(origins), [], 'no record dead-lettered twice');
  assert.equal(BigInt(origins.length), ledger.deadLettered, 'one dead letter per invalid order');
}

const sortedLines = (text: string) => text.split('\n').filter(Boolean).sort();

/** Whether a pid names a live process (a zombie has exited; it only waits for its parent to reap it). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** The pids of the cluster's daemons, from their pid files. */
function daemonPids(): number[] {
  const run = path.join(ROOT, '.k8s/run');
  return readdirSync(run)
    .filter((f) => f.endsWith('.pid'))
    .map((f) => Number(readFileSync(path.join(run, f), 'utf8').trim()))
    .filter(alive);
}

/** The pids of the containerd shims bound to the cluster's socket. */
async function shimPids(): Promise<number[]> {
  const socket = path.join(ROOT, '.k8s/containerd/containerd.sock');
  const { stdout } = await shStatus('pgrep', ['-f', `containerd-shim.* -address ${socket}`], {});
  return stdout.split('\n').filter(Boolean).map(Number);
}

/** The pids of the processes in the kubelet's cgroups (the pods' containers, as the host sees them). */
async function kubepodsPids(): Promise<number[]> {
  const { stdout } = await shStatus(
    'bash',
    [
      '-c',
      'find /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods -name cgroup.procs -exec cat {} + 2>/dev/null',
    ],
    {},
  );
  return [...new Set(stdout.split('\n').filter(Boolean).map(Number))];
}

/**
 * Waits for the pod default/left-behind, then SIGKILLs the cluster's daemons, as a job runner does when a
 * job ends; the shims, in sessions of their own, and the container they run outlive them. Returns those.
 */
async function killDaemons(): Promise<number[]> {
  await waitUntil('pod default/left-behind to be Ready', async () =>
    isReady(await kubectlJson<Pod>(['-n', 'default', 'get', 'pod', 'left-behind'])),
  );
  const daemons = daemonPids();
  const survivors = [...(await shimPids()), ...(await kubepodsPids())];
  assert.ok(survivors.length >= 2, 'the pod has a shim and a container on the host');
  for (const pid of daemons) process.kill(pid, 'SIGKILL');
  await waitUntil('the daemons to be gone', () => daemons.every((pid) => !alive(pid)));
  const left = (await sh('bash', [CLUSTER, 'host-state'])).stdout.split('\n');
  assert.ok(left.includes('link kos0'), 'the dead cluster left its bridge');
  assert.ok(
    left.some((l) => l.startsWith('netns ')),
    'the dead cluster left a network namespace',
  );
  assert.ok(survivors.every(alive), "the dead cluster's shim and container still run");
  return survivors;
}

/** What `up` or `down` says it cleared of a dead cluster. */
const clearedBy = (stderr: string) =>
  /cleared what a cluster killed without down left on the host: (.*)/.exec(stderr)?.[1] ?? '';

/** Processes running a binary of the cluster or a file of its state folder. */
function clusterProcesses(): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
    } catch {
      continue; // it exited meanwhile
    }
    if (cmdline.includes(path.join(ROOT, '.k8s')) || cmdline.includes('kafka-order-system/k8s/'))
      found.push(`${pid} ${cmdline}`);
  }
  return found;
}

/** Every object of the release, of every kind the API server lists, namespaced or not. */
async function releaseObjects(): Promise<string[]> {
  const kinds = (await kubectl(['api-resources', '--verbs=list', '-o', 'name'])).split('\n').filter(Boolean);
  const out = await kubectl([
    'get',
    kinds.join(','),
    '-A',
    '-l',
    `app.kubernetes.io/instance=${RELEASE}`,
    '-o',
    'name',
  ]);
  return out.split('\n').filter(Boolean);
}

/** The id and versions of the order schema's subject, read from the registry pod. */
async function registeredSchema(): Promise<{ id: number; versions: number[] }> {
  const [registry] = (
    await pods(`app.kubernetes.io/instance=${RELEASE},app.kubernetes.io/component=schema-registry`)
  ).filter(isReady);
  assert.ok(registry, 'a Ready registry pod');
  const base = `http://${registry.status.podIP ?? ''}:8081/apis/ccompat/v7/subjects/orders-value/versions`;
  const versions = (await (await fetch(base)).json()) as number[];
  const latest = (await (await fetch(`${base}/latest`)).json()) as { id: number };
  return { id: latest.id, versions };
}

async function helmInstall(binary: string): Promise<void> {
  const extra = binary === HELM4 ? ['--server-side=true', '--force-conflicts'] : [];
  await helm(binary, [
    'upgrade',
    '--install',
    RELEASE,
    CHART,
    '--namespace',
    NAMESPACE,
    '--values',
    LOCAL_VALUES,
    '--wait',
    '--timeout',
    '8m',
    ...extra,
  ]);
}

describe('the chart on a real Kubernetes cluster (npm run k8s:local)', () => {
  before(async () => {
    const code = await shLive('bash', [CLUSTER, 'up']);
    assert.equal(code, 0, 'npm run k8s:local -- up');
    hostBefore = readFileSync(path.join(ROOT, '.k8s/host-before'), 'utf8');
  });

  after(async () => {
    // A failed test leaves the cluster to be looked at only when asked (K8S_KEEP=1).
    if (process.env.K8S_KEEP !== '1' && hostBefore !== '') await shLive('bash', [CLUSTER, 'down']);
  });

  it('when the chart is installed with Helm 3, then every pod is Ready under Pod Security restricted and helm test passes', async () => {
    const ns = await kubectlJson<{ metadata: { labels: Record<string, string> } }>([
      'get',
      'namespace',
      NAMESPACE,
    ]);
    assert.equal(ns.metadata.labels['pod-security.kubernetes.io/enforce'], 'restricted');
    const running = (await pods(`app.kubernetes.io/instance=${RELEASE}`)).filter(
      (p) => p.status.phase !== 'Succeeded',
    );
    assert.ok(running.length >= 4, 'the registry and three consumers');
    for (const p of running) assert.ok(isReady(p), `${p.metadata.name} is Ready`);
    assert.equal((await readyConsumers()).length, 3, 'one consumer per partition');
    const run = await producerRun(await chartProducerJob());
    assert.ok(run.valid > 0n && run.invalid > 0n, 'the Job produced valid and invalid orders');
    ledger.add(run);
    await waitForExactStats(ledger, 3);

    // The helm test sends one order of its own: the aggregate grows by exactly one.
    const before = await stats((await readyConsumers())[0] as Pod);
    await helm(HELM3, ['test', RELEASE, '--namespace', NAMESPACE, '--timeout', '5m']);
    await waitUntil('the helm test order in /stats', async () => {
      const now = await stats((await readyConsumers())[0] as Pod);
      return BigInt(now.orders) === BigInt(before.orders) + 1n;
    });
    const now = await stats((await readyConsumers())[0] as Pod);
    ledger.orders = BigInt(now.orders);
    ledger.sumCents = parseCents(now.sum);
    await waitForExactStats(ledger, 3);
  });

  it('when up runs again, then it changes nothing: the same daemons, the same release revision', async () => {
    const pids = readdirSync(path.join(ROOT, '.k8s/run'))
      .filter((f) => f.endsWith('.pid'))
      .map((f) => `${f}=${readFileSync(path.join(ROOT, '.k8s/run', f), 'utf8').trim()}`)
      .sort();
    const revision = async () =>
      (await helm(HELM3, ['history', RELEASE, '-n', NAMESPACE, '--max', '1', '-o', 'json'])).trim();
    const before = await revision();
    assert.equal(await shLive('bash', [CLUSTER, 'up']), 0);
    const after = readdirSync(path.join(ROOT, '.k8s/run'))
      .filter((f) => f.endsWith('.pid'))
      .map((f) => `${f}=${readFileSync(path.join(ROOT, '.k8s/run', f), 'utf8').trim()}`)
      .sort();
    assert.deepEqual(after, pids);
    assert.equal(await revision(), before);
    assert.equal((await readyConsumers()).length, 3);
  });

  it('when a port is taken, a tool is missing or the usage is wrong, then up fails at once with its own exit code and says why', async () => {
    // Another state folder: its daemons are not running, and ours hold the ports it needs.
    const other = await shStatus('bash', [CLUSTER, 'up', '--no-install'], {
      K8S_STATE: '/tmp/kos-k8s-port-test',
    });
    assert.equal(other.code, 3, other.stderr);
    assert.match(other.stderr, /port 26\d{3} is in use/);
    const noJdk = await shStatus('bash', [CLUSTER, 'up'], { FIXTURE_JDK: '/nonexistent' });
    assert.equal(noJdk.code, 2, noJdk.stderr);
    assert.match(noJdk.stderr, /missing: .*a JDK >= 21 with jlink at \/nonexistent/);
    const usage = await shStatus('bash', [CLUSTER, 'sideways'], {});
    assert.equal(usage.code, 64);
    assert.match(usage.stderr, /usage: npm run k8s:local/);
  });

  it("when the producer Job completes, then every consumer's /stats equals the orders it produced, to the cent", async () => {
    await produceWhile('produce-plain', () => Promise.resolve());
    await waitForExactStats(ledger, 3);
    await assertDeadLettersOnce();
  });

  it('when the consumers are scaled 3 -> 1 -> 3 while orders are produced, then the aggregate stays exact, with no duplicate dead letters', async () => {
    await produceWhile('produce-scale', async () => {
      await kubectl(['-n', NAMESPACE, 'scale', `deployment/${CONSUMER}`, '--replicas=1']);
      await rolledOut(1);
      await kubectl(['-n', NAMESPACE, 'scale', `deployment/${CONSUMER}`, '--replicas=3']);
      await rolledOut(3);
    });
    await waitForExactStats(ledger, 3);
    await assertDeadLettersOnce();
  });

  it('when the consumers get a rollout restart while orders are produced, then the aggregate stays exact, with no duplicate dead letters', async () => {
    await produceWhile('produce-restart', async () => {
      await kubectl(['-n', NAMESPACE, 'rollout', 'restart', `deployment/${CONSUMER}`]);
      await rolledOut(3);
    });
    await waitForExactStats(ledger, 3);
    await assertDeadLettersOnce();
  });

  it('when a consumer pod is deleted mid-run, then it exits within its grace period and nothing is lost', async () => {
    let exitSeconds = 0;
    let grace = 0;
    await produceWhile('produce-delete', async () => {
      const [victim] = await readyConsumers();
      assert.ok(victim);
      grace = victim.spec.terminationGracePeriodSeconds ?? 30;
      const started = performance.now();
      await kubectl(
        ['-n', NAMESPACE, 'delete', 'pod', victim.metadata.name, '--wait=true', `--timeout=${grace + 30}s`],
        (grace + 40) * 1000,
      );
      exitSeconds = (performance.now() - started) / 1000;
      await rolledOut(3);
    });
    assert.ok(
      exitSeconds < grace,
      `the pod was gone after ${exitSeconds.toFixed(1)} s, within its ${grace} s`,
    );
    await waitForExactStats(ledger, 3);
    await assertDeadLettersOnce();
  });

  it('when more consumers than partitions are asked for, then the chart refuses, and a 4th pod started with kubectl scale stays idle and says so', async () => {
    await assert.rejects(
      helm(HELM3, ['template', RELEASE, CHART, '--values', LOCAL_VALUES, '--set', 'consumer.replicas=4']),
      /replicas/,
    );
    await kubectl(['-n', NAMESPACE, 'scale', `deployment/${CONSUMER}`, '--replicas=4']);
    await rolledOut(4);
    // Which member the group leaves without a partition is the assignor's choice, not always the new pod.
    const assigned = async (pod: Pod) => {
      const text = await (await fetch(`http://${pod.status.podIP ?? ''}:9464/metrics`)).text();
      return Number(/^orders_assigned_partitions(?:\{[^}]*\})? (\d+)$/m.exec(text)?.[1] ?? NaN);
    };
    let idle: Pod | undefined;
    await waitUntil('one of the 4 consumers to hold no partition and the others all 3', async () => {
      const consumers = await readyConsumers();
      const counts = await Promise.all(consumers.map(assigned));
      idle = consumers[counts.indexOf(0)];
      return (
        counts.length === 4 &&
        counts.filter((n) => n === 0).length === 1 &&
        counts.reduce((a, b) => a + b) === 3
      );
    });
    assert.ok(idle);
    const idlePod = idle;
    await waitUntil('the idle consumer to say why', async () => {
      const lines = (await jsonLogs(idlePod.metadata.name)).filter(
        (l) => typeof l.msg === 'string' && /^(No partition of|Assigned partitions of)/.test(l.msg),
      );
      return String(lines.at(-1)?.msg).startsWith('No partition of');
    });
    await kubectl(['-n', NAMESPACE, 'scale', `deployment/${CONSUMER}`, '--replicas=3']);
    await rolledOut(3);
    await waitForExactStats(ledger, 3);
  });

  it('when the release is upgraded, then it keeps its data: the aggregate and the registered schema', async () => {
    const schemaBefore = await registeredSchema();
    assert.ok(schemaBefore.id > 0, 'the producer registered the order schema');
    await helm(HELM3, [
      'upgrade',
      RELEASE,
      CHART,
      '--namespace',
      NAMESPACE,
      '--values',
      LOCAL_VALUES,
      '--set',
      'app.logLevel=debug',
      '--wait',
      '--timeout',
      '8m',
    ]);
    await rolledOut(3);
    // Every revision runs the chart's producer Job once more.
    ledger.add(await producerRun(await chartProducerJob()));
    await waitForExactStats(ledger, 3);
    await produceWhile('produce-after-upgrade', () => Promise.resolve());
    await waitForExactStats(ledger, 3);
    // The registry keeps its schemas in Kafka (kafkasql): the same id, one version, after the upgrade.
    assert.deepEqual(await registeredSchema(), schemaBefore);
  });

  it('when the release is uninstalled, then nothing of it is left', async () => {
    await helm(HELM3, ['uninstall', RELEASE, '--namespace', NAMESPACE, '--wait', '--timeout', '5m']);
    await kubectl([
      '-n',
      NAMESPACE,
      'delete',
      'jobs',
      '-l',
      'app.kubernetes.io/part-of=kafka-order-system-k8s-test',
      '--wait=true',
    ]);
    await waitUntil(
      'no object of the release',
      async () => (await releaseObjects()).length === 0,
      120_000,
      1000,
    );
  });

  it('when the chart is installed with Helm 4, then every pod is Ready and helm test passes, and it uninstalls cleanly', async () => {
    await helmInstall(HELM4);
    await rolledOut(3);
    // The aggregate lives on in Kafka: the new release's consumers restore it and add the new run.
    ledger.add(await producerRun(await chartProducerJob()));
    await waitForExactStats(ledger, 3);
    await assertDeadLettersOnce();
    await helm(HELM4, ['test', RELEASE, '--namespace', NAMESPACE, '--timeout', '5m']);
    for (const p of await pods(`app.kubernetes.io/instance=${RELEASE}`))
      if (p.status.phase !== 'Succeeded') assert.ok(isReady(p), `${p.metadata.name} is Ready`);
    await helm(HELM4, ['uninstall', RELEASE, '--namespace', NAMESPACE, '--wait', '--timeout', '5m']);
    await waitUntil(
      'no object of the release',
      async () => (await releaseObjects()).length === 0,
      120_000,
      1000,
    );
  });

  it('when every ci/*-values.yaml is installed for real (Strimzi, Prometheus Operator and KEDA CRDs, restricted namespaces), then the server accepts every object and admits every pod', async () => {
    assert.equal(await shLive('bash', [path.join(ROOT, 'k8s/local/crds.sh')]), 0, 'the CRDs are established');
    // The check is live: an object that breaks its CRD's schema is refused.
    await assert.rejects(
      apply({
        apiVersion: 'kafka.strimzi.io/v1',
        kind: 'KafkaTopic',
        metadata: { name: 'negative-control', labels: { 'strimzi.io/cluster': 'x' } },
        spec: { partitions: 1, bogusField: true },
      }),
      /unknown field "spec.bogusField"/,
    );
    const files = readdirSync(path.join(CHART, 'ci')).filter((f) => f.endsWith('-values.yaml'));
    assert.ok(files.length >= 6);
    for (const file of files) {
      const ns = `ci-${file.replace(/-values\.yaml$/, '')}`;
      await kubectl(['create', 'namespace', ns]);
      await kubectl(['label', 'namespace', ns, 'pod-security.kubernetes.io/enforce=restricted']);
      const out = await sh(HELM3, [
        '--kubeconfig',
        KUBECONFIG,
        'install',
        't',
        CHART,
        '-n',
        ns,
        '-f',
        path.join(CHART, 'ci', file),
      ]);
      assert.doesNotMatch(out.stderr, /warning/i, `${file}: no warning from the server`);
      // Every controller made its pods: none was refused by Pod Security admission.
      await waitUntil(
        `${file}: every Deployment and Job to have its pods`,
        async () => {
          const deployments = await kubectlJson<{
            items: { spec: { replicas: number }; status: { replicas?: number } }[];
          }>(['-n', ns, 'get', 'deployments']);
          const jobs = await kubectlJson<{ items: { metadata: { name: string } }[] }>([
            '-n',
            ns,
            'get',
            'jobs',
          ]);
          const jobPods = await Promise.all(
            jobs.items.map(async (j) => (await pods(`job-name=${j.metadata.name}`, ns)).length),
          );
          return (
            deployments.items.every((d) => d.status.replicas === d.spec.replicas) &&
            jobPods.every((n) => n > 0)
          );
        },
        60_000,
        500,
      );
      const refused = await kubectl([
        '-n',
        ns,
        'get',
        'events',
        '--field-selector',
        'reason=FailedCreate',
        '-o',
        'name',
      ]);
      assert.equal(refused.trim(), '', `${file}: no pod was refused`);
      await sh(HELM3, ['--kubeconfig', KUBECONFIG, 'uninstall', 't', '-n', ns, '--wait']);
      await kubectl(['delete', 'namespace', ns, '--wait=true', '--timeout=120s'], 130_000);
    }
  });

  it('when the chart is rendered with its default values, then it is TLS and SCRAM with one least-privilege KafkaUser per process and NetworkPolicies, and the API server accepts every object', async () => {
    assert.equal(await shLive('bash', [path.join(ROOT, 'k8s/local/crds.sh')]), 0, 'the CRDs are established');
    const ns = 'secured-defaults';
    // Rendered for this very server: its version and every API group it serves (Strimzi, Prometheus Operator, KEDA).
    const server = await kubectlJson<{ serverVersion: { gitVersion: string } }>(['version']);
    const apis = (await kubectl(['api-versions'])).split('\n').filter(Boolean);
    const render = await sh(HELM3, [
      'template',
      RELEASE,
      CHART,
      '--namespace',
      ns,
      '--kube-version',
      server.serverVersion.gitVersion,
      ...apis.flatMap((api) => ['--api-versions', api]),
    ]);
    const objects = parseManifests(render.stdout);
    const ofKind = (kind: string) => objects.filter((o) => o.kind === kind);

    // The listener: TLS, SCRAM-SHA-512, simple ACL authorization, only listed peers.
    const [kafka] = ofKind('Kafka');
    assert.ok(kafka, 'a Kafka resource');
    const kafkaSpec = kafka.body.spec as {
      kafka: {
        listeners: { tls: boolean; authentication?: { type: string }; networkPolicyPeers?: unknown[] }[];
        authorization?: { type: string };
      };
    };
    assert.equal(kafkaSpec.kafka.listeners.length, 1, 'one client listener');
    const [listener] = kafkaSpec.kafka.listeners;
    assert.equal(listener?.tls, true, 'the listener is TLS');
    assert.equal(listener.authentication?.type, 'scram-sha-512');
    assert.ok((listener.networkPolicyPeers ?? []).length > 0, 'the listener admits listed peers only');
    assert.equal(kafkaSpec.kafka.authorization?.type, 'simple');

    // One SCRAM KafkaUser per process and one for the registry, each with ACLs on named resources only.
    interface Acl {
      resource: { type: string; name?: string; patternType?: string };
      operations: string[];
    }
    const users = new Map(
      ofKind('KafkaUser').map((u) => [
        u.name,
        u.body.spec as { authentication: { type: string }; authorization: { type: string; acls: Acl[] } },
      ]),
    );
    const roles = ['producer', 'consumer', 'dlq-reader', 'schema-registry'];
    assert.deepEqual([...users.keys()].sort(), roles.map((r) => `${FULLNAME}-${r}`).sort());
    for (const [name, spec] of users) {
      assert.equal(spec.authentication.type, 'scram-sha-512', `${name}: SCRAM-SHA-512`);
      assert.equal(spec.authorization.type, 'simple', `${name}: ACLs`);
      assert.ok(spec.authorization.acls.length > 0, `${name}: has ACLs`);
      for (const acl of spec.authorization.acls) {
        assert.notEqual(acl.resource.name, '*', `${name}: no wildcard resource`);
        assert.ok(!acl.operations.includes('All'), `${name}: no All`);
        if (acl.resource.type === 'cluster')
          assert.ok(!acl.operations.includes('Alter'), `${name}: no cluster admin`);
      }
    }
    // The producer: write and describe orders, nothing else (idempotent writes on the cluster at most;
    // Kafka 3+ needs no such ACL). test/chart/chart-users.test.ts checks every user's exact ACLs.
    const producerAcls = users.get(`${FULLNAME}-producer`)?.authorization.acls ?? [];
    for (const acl of producerAcls) {
      const onOrders =
        acl.resource.type === 'topic' &&
        acl.resource.name === 'orders' &&
        acl.resource.patternType === 'literal' &&
        acl.operations.every((op) => op === 'Describe' || op === 'Write');
      const idempotent =
        acl.resource.type === 'cluster' && acl.operations.every((op) => op === 'IdempotentWrite');
      assert.ok(
        onOrders || idempotent,
        `the producer may only write and describe orders: ${JSON.stringify(acl)}`,
      );
    }
    assert.ok(
      producerAcls.some((acl) => acl.resource.name === 'orders' && acl.operations.includes('Write')),
      'the producer may write orders',
    );
    // Every workload logs in as its own user, with Strimzi's Secret of that user, and trusts the cluster CA.
    const ownUser: Record<string, string> = {
      consumer: 'consumer',
      producer: 'producer',
      'helm-test': 'producer',
      'schema-registry': 'schema-registry',
    };
    const workloads = objects.filter((o) => ['Deployment', 'Job', 'Pod'].includes(o.kind));
    assert.equal(workloads.length, 4, 'the consumer, the registry, the producer Job and the helm test');
    for (const w of workloads) {
      const text = JSON.stringify(w.body);
      const component =
        (w.body.metadata as { labels: Record<string, string> }).labels['app.kubernetes.io/component'] ?? '';
      const secrets = new Set([...text.matchAll(/"secretKeyRef":\{"name":"([^"]+)"/g)].map((m) => m[1]));
      assert.deepEqual(
        [...secrets],
        [`${FULLNAME}-${ownUser[component] ?? '?'}`],
        `${w.kind}/${w.name}: its own user`,
      );
      assert.match(
        text,
        /"secretName":"orders-kafka-cluster-ca-cert"/,
        `${w.kind}/${w.name}: the cluster CA`,
      );
    }
    assert.deepEqual(
      ofKind('NetworkPolicy')
        .map((n) => n.name)
        .sort(),
      ['consumer', 'producer', 'schema-registry'].map((c) => `${FULLNAME}-${c}`),
    );

    await kubectl(['create', 'namespace', ns]);
    await kubectl([
      'label',
      'namespace',
      ns,
      'pod-security.kubernetes.io/enforce=restricted',
      'pod-security.kubernetes.io/warn=restricted',
    ]);
    // Server-side dry runs: each object through the API server's validation, its CRD's schema and admission
    // (Pod Security restricted), without storing it. Returns how many objects the server accepted.
    const dryRun = async (items: readonly unknown[], name: string): Promise<number> => {
      const file = path.join(ROOT, `.k8s/secured-defaults-${name}.json`);
      writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
      const out = await sh(KUBECTL, [
        '--kubeconfig',
        KUBECONFIG,
        '-n',
        ns,
        'apply',
        '--server-side',
        '--dry-run=server',
        '--field-manager=secured-defaults',
        '-f',
        file,
      ]);
      assert.doesNotMatch(out.stderr, /warning/i, `${name}: no warning from the server`);
      return out.stdout.split('\n').filter((l) => / serverside-applied \(server dry run\)$/.test(l)).length;
    };
    // The helm test pod needs its ServiceAccount to exist, so it is checked after the install below.
    const isHook = (o: (typeof objects)[number]) =>
      (o.body.metadata as { annotations?: Record<string, string> }).annotations?.['helm.sh/hook'] !==
      undefined;
    const release = objects.filter((o) => !isHook(o));
    const hooks = objects.filter(isHook);
    assert.equal(hooks.length, 1, 'the helm test pod');
    assert.equal(
      await dryRun(
        release.map((o) => o.body),
        'release',
      ),
      release.length,
      'every object accepted',
    );
    // The check is live: a KafkaUser with a mechanism Strimzi does not know is refused.
    await assert.rejects(
      apply(
        {
          ...ofKind('KafkaUser')[0]?.body,
          spec: { authentication: { type: 'scram-sha-1' } },
        },
        ns,
      ),
      /Unsupported value: "scram-sha-1"/,
    );

    // Installed for real: the API server stores it and the controllers create the pods, which then wait for
    // the cluster CA and the users' Secrets that only Strimzi's operators would write.
    await helm(HELM3, ['install', RELEASE, CHART, '--namespace', ns]);
    assert.equal((await kubectl(['-n', ns, 'get', 'kafkausers', '-o', 'name'])).trim().split('\n').length, 4);
    assert.equal(
      await dryRun(
        hooks.map((o) => o.body),
        'hooks',
      ),
      1,
      'the helm test pod accepted',
    );
    await waitUntil(
      'a pod to wait for the cluster CA Secret that Strimzi would write',
      async () =>
        (
          await kubectlJson<{ items: { message?: string }[] }>([
            '-n',
            ns,
            'get',
            'events',
            '--field-selector',
            'reason=FailedMount',
          ])
        ).items.some((e) => e.message?.includes('secret "orders-kafka-cluster-ca-cert" not found')),
      120_000,
      1000,
    );
    const refused = await kubectl([
      '-n',
      ns,
      'get',
      'events',
      '--field-selector',
      'reason=FailedCreate',
      '-o',
      'name',
    ]);
    assert.equal(refused.trim(), '', 'no pod was refused');
    await helm(HELM3, ['uninstall', RELEASE, '--namespace', ns, '--wait', '--timeout', '2m']);
    await kubectl(['delete', 'namespace', ns, '--wait=true', '--timeout=120s'], 130_000);
  });

  it(
    'when every process of the cluster is killed without down, then the next up from a fresh checkout, or down, clears what they left',
    { skip: process.env.K8S_KEEP === '1' ? 'K8S_KEEP=1: the cluster stays up' : false },
    async (t) => {
      // A pod, so the dead cluster leaves a network namespace, the bridge, a mount and a running container.
      await apply(
        {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'left-behind' },
          spec: {
            terminationGracePeriodSeconds: 0,
            containers: [{ name: 'pause', image: PAUSE_IMAGE, imagePullPolicy: 'Never' }],
          },
        },
        'default',
      );
      const survivors: number[] = [];
      try {
        // A fresh checkout has no record of the host; its up must not record the dead cluster's state as the host's.
        survivors.push(...(await killDaemons()));
        rmSync(path.join(ROOT, '.k8s/host-before'));
        const up = await shStatus('bash', [CLUSTER, 'up', '--no-install'], {});
        assert.equal(up.code, 0, up.stderr);
        const cleared = clearedBy(up.stderr);
        t.diagnostic(`up cleared: ${cleared}`);
        for (const what of [
          /^\d+ shims, \d+ pod network namespaces, link kos0, /,
          /\d+ iptables rules and chains/,
          new RegExp(`the marker of ${path.join(ROOT, '.k8s')}$`),
        ])
          assert.match(cleared, what);
        const recorded = readFileSync(path.join(ROOT, '.k8s/host-before'), 'utf8');
        assert.deepEqual(
          sortedLines(recorded),
          sortedLines(hostBefore),
          'up recorded the host as the first up found it',
        );
        assert.deepEqual(survivors.filter(alive), [], "the dead cluster's shim and container were stopped");

        // The same in this checkout, which has its record: down clears what the processes left, then restores.
        survivors.push(...(await killDaemons()));
        const down = await shStatus('bash', [CLUSTER, 'down'], {});
        assert.equal(down.code, 0, down.stderr);
        t.diagnostic(`down cleared: ${clearedBy(down.stderr)}`);
        const now = (await sh('bash', [CLUSTER, 'host-state'])).stdout;
        assert.deepEqual(
          sortedLines(now),
          sortedLines(hostBefore),
          'down left the host as the first up found it',
        );
        assert.deepEqual(survivors.filter(alive), [], "the dead cluster's shim and container were stopped");
        assert.deepEqual(clusterProcesses(), [], 'no process of the cluster');
      } finally {
        for (const pid of survivors.filter(alive)) process.kill(pid, 'SIGKILL');
      }
      // Up again, for the last test's down.
      assert.equal(await shLive('bash', [CLUSTER, 'up', '--no-install']), 0);
    },
  );

  it(
    'when the cluster is taken down, then no process, mount, iptables chain or sysctl change is left',
    {
      skip: process.env.K8S_KEEP === '1' ? 'K8S_KEEP=1: the cluster stays up' : false,
    },
    async () => {
      assert.equal(await shLive('bash', [CLUSTER, 'down']), 0);
      const now = (await sh('bash', [CLUSTER, 'host-state'])).stdout;
      assert.deepEqual(sortedLines(now), sortedLines(hostBefore));
      assert.deepEqual(clusterProcesses(), [], 'no process of the cluster');
      const listening = (await sh('ss', ['-Hltn'])).stdout.split('\n').filter((l) => /:26\d{3}\s/.test(l));
      assert.deepEqual(listening, [], 'no port of the cluster');
      hostBefore = '';
    },
  );

  it(
    'when a kubelet of another cluster runs in the host network namespace, then up refuses before it changes anything',
    { skip: process.env.K8S_KEEP === '1' ? 'K8S_KEEP=1: the cluster stays up' : false },
    async () => {
      const state = mkdtempSync(path.join(tmpdir(), 'kos-k8s-foreign-'));
      const kubelet = path.join(state, 'kubelet'); // a process the kernel names kubelet
      copyFileSync('/bin/sleep', kubelet);
      const foreign = spawn(kubelet, ['600'], { stdio: 'ignore' });
      await once(foreign, 'spawn');
      const env = { K8S_STATE: path.join(state, 'k8s') };
      let code = 0;
      try {
        const before = (await sh('bash', [CLUSTER, 'host-state'])).stdout;
        const up = await shStatus('bash', [CLUSTER, 'up', '--no-install'], env);
        code = up.code;
        assert.equal(up.code, 5, up.stderr);
        assert.match(
          up.stderr,
          new RegExp(`a node process of another cluster .* runs on this host \\(pid ${foreign.pid}\\)`),
        );
        assert.ok(!existsSync(path.join(state, 'k8s/host-before')), 'nothing recorded');
        assert.deepEqual(clusterProcesses(), [], 'nothing started');
        assert.equal((await sh('bash', [CLUSTER, 'host-state'])).stdout, before, 'the host unchanged');
      } finally {
        foreign.kill('SIGKILL');
        // Should up ever start despite the kubelet, its cluster must not outlive the test.
        if (code !== 5) await shStatus('bash', [CLUSTER, 'down'], env);
        rmSync(state, { recursive: true, force: true });
      }
    },
  );
});
