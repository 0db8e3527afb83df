/**
 * The stack script against real JVMs. It runs its own stack on free ports in a
 * temporary state folder (sharing only the download cache), so it never touches
 * the stack the other integration tests use.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { readPidFile } from '../../tools/stack/processes.js';
import {
  stackStatus,
  startBroker,
  startRegistry,
  stopBroker,
  stopRegistry,
} from '../../tools/stack/index.js';
import { waitUntil } from '../helpers/wait.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

interface CliResult {
  readonly code: number | null;
  readonly output: string;
  readonly ms: number;
}

/** Env for a stack of our own: no KAFKA_BROKERS/SCHEMA_REGISTRY_URL, so nothing counts as external. */
function stackEnv(
  stateDir: string,
  ports: readonly number[],
  extra: NodeJS.ProcessEnv = {},
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    STACK_DIR: stateDir,
    STACK_KAFKA_PORT: String(ports[0]),
    STACK_CONTROLLER_PORT: String(ports[1]),
    STACK_REGISTRY_PORT: String(ports[2]),
    // The SASL_SSL listener and the registry's HTTPS proxy: ports of their own, never plain port + n,
    // which another of the free ports may be.
    ...(ports.length >= 5
      ? { STACK_KAFKA_SECURE_PORT: String(ports[3]), STACK_REGISTRY_TLS_PORT: String(ports[4]) }
      : {}),
    STACK_READY_TIMEOUT_MS: '180000',
    ...extra,
  };
  delete env['KAFKA_BROKERS'];
  delete env['SCHEMA_REGISTRY_URL'];
  return env;
}

function startCli(args: readonly string[], env: NodeJS.ProcessEnv, node = process.execPath): ChildProcess {
  return spawn(node, ['--import', 'tsx', path.join(REPO, 'tools', 'stack', 'cli.ts'), ...args], {
    cwd: REPO,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function finish(child: ChildProcess, started: number, timeoutMs: number): Promise<CliResult> {
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`stack CLI did not finish within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output, ms: Date.now() - started });
    });
  });
}

function runCli(args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs = 240_000): Promise<CliResult> {
  return finish(startCli(args, env), Date.now(), timeoutMs);
}

async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  const ports: number[] = [];
  for (let i = 0; i < count; i++) {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    ports.push(address.port);
    servers.push(server);
  }
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

/** The pids of every JVM that carries this state folder's marker, found as CI's check finds them. */
function stackJvms(stateDir: string): number[] {
  const pattern = `-Dkos\\.stack\\.dir=${stateDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}( |$)`;
  const pgrep = spawnSync('pgrep', ['-f', '--', pattern], { encoding: 'utf8' });
  return pgrep.stdout.split('\n').filter(Boolean).map(Number);
}

function newStateDir(name: string): string {
  return mkdtempSync(path.join(tmpdir(), `stack-it-${name}-`));
}

describe('local stack, started in its own state folder', () => {
  let stateDir: string;
  let ports: number[];
  let env: NodeJS.ProcessEnv;
  const apiOptions = () => ({ env });

  before(async () => {
    stateDir = newStateDir('main');
    ports = await freePorts(5);
    env = stackEnv(stateDir, ports);
  });

  after(async () => {
    await runCli(['down', '--wipe'], env);
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('when up runs on a fresh state folder, then the broker lists the topics and the registry answers', async () => {
    const result = await runCli(['up'], env);
    assert.equal(result.code, 0, result.output);
    assert.match(result.output, /topic orders: created, 3 partitions/);

    const admin = new Kafka({ brokers: [`127.0.0.1:${ports[0]}`], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: ['orders', 'orders-dlq'] });
      const partitions = Object.fromEntries(topics.map((t) => [t.name, t.partitions.length]));
      assert.deepEqual(partitions, { orders: 3, 'orders-dlq': 1 });
    } finally {
      await admin.disconnect();
    }
    const subjects: unknown = await (
      await fetch(`http://127.0.0.1:${ports[2]}/apis/ccompat/v7/subjects`)
    ).json();
    assert.ok(Array.isArray(subjects));
  });

  it('when up runs again, then it is a quick no-op that exits 0', async () => {
    const before = readPidFile(path.join(stateDir, 'run', 'broker.pid'));
    const result = await runCli(['up'], env);
    assert.equal(result.code, 0, result.output);
    assert.match(result.output, /already up; nothing to do/);
    assert.equal(readPidFile(path.join(stateDir, 'run', 'broker.pid')), before);
    // The same pid proves nothing restarted; the bound only catches a hang (a loaded CI machine needs
    // a few seconds just to start tsx).
    assert.ok(result.ms < 60_000, `second up took ${result.ms} ms`);
  });

  it('when the registry is stopped and started, then the schemas registered before are still there', async () => {
    const base = `http://127.0.0.1:${ports[2]}/apis/ccompat/v7`;
    const subject = `stack-it-${Date.now()}-value`;
    const registered = await fetch(`${base}/subjects/${subject}/versions`, {
      method: 'POST',
      headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
      body: JSON.stringify({ schema: JSON.stringify({ type: 'record', name: 'T', fields: [] }) }),
    });
    assert.equal(registered.status, 200);

    assert.equal(await stopRegistry(apiOptions()), 'terminated');
    const stopped = await stackStatus(apiOptions());
    assert.equal(stopped.registry.running, false);
    assert.equal(stopped.broker.ready, true);

    await startRegistry(apiOptions());
    const subjects = (await (await fetch(`${base}/subjects`)).json()) as string[];
    assert.ok(subjects.includes(subject));
  });

  it('when the broker is stopped and started, then it keeps its topics and gets a new pid', async () => {
    const pidFile = path.join(stateDir, 'run', 'broker.pid');
    const before = readPidFile(pidFile);
    assert.equal(await stopBroker(apiOptions()), 'terminated');
    await startBroker(apiOptions());
    const after = readPidFile(pidFile);
    assert.notEqual(after, before);
    const admin = new Kafka({ brokers: [`127.0.0.1:${ports[0]}`], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      assert.ok((await admin.listTopics()).includes('orders'));
    } finally {
      await admin.disconnect();
    }
  });

  it('when ensure is told to use this stack as an external one, then it starts nothing of its own', async () => {
    const otherState = newStateDir('external');
    try {
      const external = {
        ...stackEnv(otherState, await freePorts(5)),
        KAFKA_BROKERS: `127.0.0.1:${ports[0]}`,
        SCHEMA_REGISTRY_URL: `http://127.0.0.1:${ports[2]}/apis/ccompat/v7`,
      };
      const result = await runCli(['ensure'], external);
      assert.equal(result.code, 0, result.output);
      assert.match(result.output, /using the external broker and registry/);
      assert.deepEqual(stackJvms(otherState), []);
    } finally {
      rmSync(otherState, { recursive: true, force: true });
    }
  });

  it('when down runs, then no JVM of this stack is left and its ports are free', async () => {
    const result = await runCli(['down'], env);
    assert.equal(result.code, 0, result.output);
    assert.deepEqual(stackJvms(stateDir), []);
    assert.equal(existsSync(path.join(stateDir, 'run', 'broker.pid')), false);
    const again = await freePortsAre(ports);
    assert.ok(again, 'ports still bound after down');
  });
});

async function freePortsAre(ports: readonly number[]): Promise<boolean> {
  for (const port of ports) {
    const server = createServer();
    const ok = await new Promise<boolean>((resolve) => {
      server.once('error', () => {
        resolve(false);
      });
      server.listen(port, '127.0.0.1', () => {
        server.close(() => {
          resolve(true);
        });
      });
    });
    if (!ok) return false;
  }
  return true;
}

describe('local stack, bad input', () => {
  it('when a port is already in use, then up fails fast with exit 3 naming the port and starts nothing', async () => {
    const stateDir = newStateDir('port');
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const address = blocker.address();
    assert.ok(address !== null && typeof address !== 'string');
    try {
      const [controller = 0, registry = 0, secure = 0, tls = 0] = await freePorts(4);
      const result = await runCli(
        ['up'],
        stackEnv(stateDir, [address.port, controller, registry, secure, tls]),
        60_000,
      );
      assert.equal(result.code, 3, result.output);
      assert.match(
        result.output,
        new RegExp(`127\\.0\\.0\\.1:${address.port} \\(Kafka broker\\) is already in use`),
      );
      assert.match(result.output, /STACK_KAFKA_PORT/);
      assert.deepEqual(stackJvms(stateDir), []);
    } finally {
      blocker.close();
      rmSync(stateDir, { recursive: true, force: true });
    }
  });

  it('when the state folder is corrupt, then up exits 4 and tells how to wipe it', async () => {
    const stateDir = newStateDir('corrupt');
    try {
      mkdirSync(path.join(stateDir, 'kafka', 'data'), { recursive: true });
      writeFileSync(path.join(stateDir, 'kafka', 'data', 'meta.properties'), '\u0000\u0001 not properties');
      const result = await runCli(['up'], stackEnv(stateDir, await freePorts(5)), 60_000);
      assert.equal(result.code, 4, result.output);
      assert.match(result.output, /state folder is corrupt/);
      assert.match(result.output, /stack:down -- --wipe/);
      assert.deepEqual(stackJvms(stateDir), []);
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  });

  it('when no Java and no Maven can be found, then up exits 2 and names docker compose', async () => {
    const stateDir = newStateDir('nojdk');
    const bin = path.join(stateDir, 'bin');
    mkdirSync(bin);
    symlinkSync(process.execPath, path.join(bin, 'node'));
    try {
      const env = stackEnv(stateDir, await freePorts(5), {
        PATH: bin,
        STACK_JDK_DIRS: path.join(stateDir, 'none'),
      });
      delete env['JAVA_HOME'];
      delete env['STACK_JAVA_HOME'];
      delete env['MAVEN_HOME'];
      delete env['M2_HOME'];
      const result = await runCli(['up'], env, 60_000);
      assert.equal(result.code, 2, result.output);
      assert.match(result.output, /Java 21 or newer is required/);
      assert.match(result.output, /Maven \(`mvn`\) is required/);
      assert.match(result.output, /docker compose up/);
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  });

  it('when the stack is not ready in time, then up exits 5 naming the log file with its last lines, and leaves no process behind', async () => {
    const stateDir = newStateDir('slow');
    try {
      // No JVM answers within a second: the readiness wait gives up.
      const env = stackEnv(stateDir, await freePorts(5), { STACK_READY_TIMEOUT_MS: '1000' });
      const result = await runCli(['up'], env, 120_000);
      assert.equal(result.code, 5, result.output);
      assert.match(result.output, /the (broker|registry) .*\(last probe: /);
      assert.match(
        result.output,
        new RegExp(`Read ${stateDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/\\S+\\.log; its last lines:`),
      );
      assert.deepEqual(stackJvms(stateDir), []);
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  });

  it('when the pid files name processes that are not JVMs of this stack, then status reports stopped and down signals none of them', async () => {
    const stateDir = newStateDir('stale');
    // A live bystander stands for a recycled pid; an exited process for a pid file left by a crash.
    const bystander = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
    try {
      const gone = spawn(process.execPath, ['-e', '']);
      await new Promise((resolve) => gone.once('exit', resolve));
      assert.ok(gone.pid !== undefined && bystander.pid !== undefined);
      const runDir = path.join(stateDir, 'run');
      mkdirSync(runDir, { recursive: true });
      writeFileSync(path.join(runDir, 'broker.pid'), `${gone.pid}\n`);
      writeFileSync(path.join(runDir, 'registry.pid'), `${bystander.pid}\n`);
      const env = stackEnv(stateDir, await freePorts(5));
      const result = await runCli(['status'], env, 60_000);
      assert.equal(result.code, 1, result.output);
      assert.match(result.output, /broker \(Kafka [\d.]+\)\s+stopped/);
      assert.match(result.output, /registry \(Apicurio [\d.]+\)\s+stopped/);
      assert.equal(existsSync(path.join(runDir, 'broker.pid')), false);
      assert.equal(existsSync(path.join(runDir, 'registry.pid')), false);

      writeFileSync(path.join(runDir, 'registry.pid'), `${bystander.pid}\n`);
      const stopped = await runCli(['down'], env, 60_000);
      assert.equal(stopped.code, 0, stopped.output);
      assert.match(stopped.output, /broker: not-running; registry: not-running/);
      assert.equal(bystander.exitCode, null);
      assert.equal(bystander.signalCode, null);
    } finally {
      bystander.kill('SIGKILL');
      rmSync(stateDir, { recursive: true, force: true });
    }
  });

  it('when up is interrupted with SIGINT while the JVMs start, then it exits 130 and leaves no process behind', async () => {
    const stateDir = newStateDir('sigint');
    try {
      const env = stackEnv(stateDir, await freePorts(5));
      const started = Date.now();
      const child = startCli(['up'], env);
      const done = finish(child, started, 120_000);
      await waitUntil(
        'the registry pid file',
        () => existsSync(path.join(stateDir, 'run', 'registry.pid')),
        120_000,
      );
      // Both JVMs and the registry's HTTPS proxy (a Node process with the same marker).
      await waitUntil('both JVMs and the proxy', () => stackJvms(stateDir).length === 3, 60_000);
      child.kill('SIGINT');
      const result = await done;
      assert.equal(result.code, 130, result.output);
      assert.deepEqual(stackJvms(stateDir), []);
      assert.equal(existsSync(path.join(stateDir, 'run', 'broker.pid')), false);
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
