import type { ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { formatStorage, inspectStorage, launchBroker } from './broker.js';
import { resolveStackConfig, type StackConfig, type StackFlags } from './config.js';
import { ensureDownloads } from './download.js';
import { StackError, StackInterrupted } from './errors.js';
import type { JavaInstall } from './java.js';
import { withLock } from './lock.js';
import { stackPaths, type Component, type StackPaths } from './paths.js';
import { assertPortsFree, type PortClaim } from './ports.js';
import { checkPrerequisites } from './prerequisites.js';
import {
  componentState,
  findOurProcesses,
  isOurs,
  removePidFile,
  stopProcess,
  writePidFile,
} from './process-control.js';
import { probeBroker, probeRegistry, tailFile, waitUntilReady, type ProbeResult } from './readiness.js';
import { launchRegistry, registryUrl, setRegistryDefaults } from './registry.js';
import { ensureAppTopics } from './topics.js';
import { readVersions, type StackVersions } from './versions.js';

export interface StackContext {
  readonly config: StackConfig;
  readonly versions: StackVersions;
  readonly paths: StackPaths;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly log: (line: string) => void;
}

export interface ContextOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly flags?: StackFlags;
  /** Where progress lines go; tests pass a no-op. */
  readonly log?: (line: string) => void;
}

export function createContext(options: ContextOptions = {}): StackContext {
  const env = options.env ?? process.env;
  const config = resolveStackConfig(env, options.flags);
  const versions = readVersions(config.pomPath);
  return {
    config,
    versions,
    paths: stackPaths(config, versions),
    env,
    log:
      options.log ??
      ((line) => {
        console.log(line);
      }),
  };
}

/** What `up` wrote down about the running stack, so `status` shows its real ports. */
export interface RunRecord {
  readonly kafkaPort: number;
  readonly controllerPort: number;
  readonly registryPort: number;
  readonly kafka: string;
  readonly apicurio: string;
  readonly java: string;
  readonly startedAt: string;
}

export function readRunRecord(paths: StackPaths): RunRecord | undefined {
  try {
    return JSON.parse(readFileSync(paths.stateFile, 'utf8')) as RunRecord;
  } catch {
    return undefined;
  }
}

function writeRunRecord(ctx: StackContext, java: JavaInstall): void {
  const record: RunRecord = {
    kafkaPort: ctx.config.kafkaPort,
    controllerPort: ctx.config.controllerPort,
    registryPort: ctx.config.registryPort,
    kafka: ctx.versions.kafka,
    apicurio: ctx.versions.apicurio,
    java: `${java.version} (${java.home})`,
    startedAt: new Date().toISOString(),
  };
  mkdirSync(ctx.paths.runDir, { recursive: true });
  writeFileSync(ctx.paths.stateFile, `${JSON.stringify(record, null, 2)}\n`);
}

export function brokerAddress(config: Pick<StackConfig, 'host' | 'kafkaPort'>): string {
  return `${config.host}:${config.kafkaPort}`;
}

const LOCK_TIMEOUT_MS = 15 * 60_000;

function portClaims(config: StackConfig, component: Component): PortClaim[] {
  return component === 'broker'
    ? [
        { port: config.kafkaPort, what: 'Kafka broker', envName: 'STACK_KAFKA_PORT' },
        { port: config.controllerPort, what: 'KRaft controller', envName: 'STACK_CONTROLLER_PORT' },
      ]
    : [{ port: config.registryPort, what: 'schema registry', envName: 'STACK_REGISTRY_PORT' }];
}

function probeFor(ctx: StackContext, component: Component): () => Promise<ProbeResult> {
  return component === 'broker'
    ? () => probeBroker([brokerAddress(ctx.config)])
    : () => probeRegistry(registryUrl(ctx.config));
}

/** A process this invocation started, so a failure or Ctrl-C can stop exactly those. */
interface Started {
  readonly component: Component;
  readonly pid: number;
  readonly child: ChildProcess;
}

function notReadyError(ctx: StackContext, component: Component, why: string, lastReason: string): StackError {
  const log = ctx.paths.logFile(component);
  const out = ctx.paths.consoleFile(component);
  return new StackError(
    `the ${component} ${why} (last probe: ${lastReason}).\n` +
      `  Read ${log}; its last lines:\n${tailFile(log, 15)}\n` +
      `  JVM console (${out}):\n${tailFile(out, 10)}`,
    component === 'broker'
      ? 'A corrupt data folder shows up in the log above: `npm run stack:down -- --wipe` starts over (losing topics and schemas).'
      : 'If the registry database is damaged, `npm run stack:down -- --wipe` starts over (losing topics and schemas).',
    5,
  );
}

async function launch(
  ctx: StackContext,
  component: Component,
  java: JavaInstall,
  started: Started[],
  signal: AbortSignal | undefined,
): Promise<void> {
  if (signal?.aborted) throw new StackInterrupted(String(signal.reason ?? 'a signal'));
  await assertPortsFree(ctx.config.host, portClaims(ctx.config, component));
  if (component === 'broker' && !inspectStorage(ctx.paths).formatted) {
    ctx.log('formatting KRaft storage (first start of this state folder)');
    await formatStorage(ctx.config, ctx.paths, java, signal);
  }
  if (signal?.aborted) throw new StackInterrupted(String(signal.reason ?? 'a signal'));
  const child =
    component === 'broker'
      ? launchBroker(ctx.config, ctx.paths, java)
      : launchRegistry(ctx.config, ctx.paths, java);
  if (child.pid === undefined) throw new StackError(`could not start the ${component} with ${java.java}`);
  writePidFile(ctx.paths.pidFile(component), child.pid);
  started.push({ component, pid: child.pid, child });
}

async function waitReady(
  ctx: StackContext,
  component: Component,
  stillRunning: () => boolean,
  signal: AbortSignal | undefined,
): Promise<number> {
  const outcome = await waitUntilReady(probeFor(ctx, component), {
    what: component,
    timeoutMs: ctx.config.readyTimeoutMs,
    stillRunning,
    ...(signal ? { signal } : {}),
  });
  if (outcome.ready) return outcome.ms;
  const why =
    outcome.why === 'exited'
      ? 'exited while starting'
      : `was not ready within ${Math.round(ctx.config.readyTimeoutMs / 1000)} s`;
  throw notReadyError(ctx, component, why, outcome.lastReason);
}

async function stopStarted(ctx: StackContext, started: readonly Started[]): Promise<void> {
  // Half-started JVMs hold nothing worth a graceful shutdown; do not keep an interrupted user waiting.
  await Promise.all(
    started.map(async (s) => {
      await stopProcess(s.pid, () => isOurs(s.pid, ctx.paths.stateDir, s.component), 5000);
      removePidFile(ctx.paths.pidFile(s.component));
    }),
  );
}

export interface UpResult {
  readonly alreadyRunning: boolean;
  readonly started: readonly Component[];
  readonly downloaded: boolean;
  readonly topics: readonly string[];
  readonly seconds: number;
}

function assertSamePorts(ctx: StackContext, running: readonly Component[]): void {
  const record = readRunRecord(ctx.paths);
  if (!record || running.length === 0) return;
  const c = ctx.config;
  const differs =
    (running.includes('broker') &&
      (record.kafkaPort !== c.kafkaPort || record.controllerPort !== c.controllerPort)) ||
    (running.includes('registry') && record.registryPort !== c.registryPort);
  if (differs) {
    throw new StackError(
      `the stack in ${ctx.paths.stateDir} already runs on other ports (broker ${record.kafkaPort}, controller ${record.controllerPort}, registry ${record.registryPort})`,
      'Stop it first (`npm run stack:down`), or give this one its own STACK_DIR.',
    );
  }
}

/**
 * Starts whatever part of the stack is not running (all of it on a fresh
 * machine), waits until both parts are really ready, and creates the topics.
 * When everything already runs, it only confirms readiness. On any failure,
 * including Ctrl-C, it stops exactly the processes it started.
 */
async function startComponents(
  ctx: StackContext,
  wanted: readonly Component[],
  signal: AbortSignal | undefined,
): Promise<UpResult> {
  const began = Date.now();
  const { java, mvn } = checkPrerequisites(ctx.config, ctx.env);
  return withLock(
    ctx.paths.lockDir,
    `the stack in ${ctx.paths.stateDir}`,
    LOCK_TIMEOUT_MS,
    async () => {
      const running: Component[] = [];
      for (const component of wanted) {
        const state = componentState(ctx.paths, component);
        if (state.state === 'running') {
          running.push(component);
          if (state.adopted)
            ctx.log(`${component}: found running as pid ${state.pid} without a pid file; adopted it`);
        } else if (state.stalePid !== undefined) {
          ctx.log(
            `${component}: removed a stale pid file (pid ${state.stalePid} is not a ${component} of this stack)`,
          );
        }
      }
      assertSamePorts(ctx, running);
      const toStart = wanted.filter((c) => !running.includes(c));

      let downloaded = false;
      const started: Started[] = [];
      try {
        if (toStart.length > 0) {
          downloaded = (await ensureDownloads(ctx.config, ctx.paths, ctx.versions, { mvn, java }, signal))
            .downloaded;
          // Check every port before starting anything, so a conflict leaves nothing half-started.
          await assertPortsFree(
            ctx.config.host,
            toStart.flatMap((c) => portClaims(ctx.config, c)),
          );
          if (toStart.includes('broker')) inspectStorage(ctx.paths);
          // The registry first: it starts while the broker's storage is being formatted.
          for (const component of (['registry', 'broker'] as const).filter((c) => toStart.includes(c))) {
            await launch(ctx, component, java, started, signal);
          }
        }

        // A failure of one part aborts the wait for the other, so the error comes at once.
        const local = new AbortController();
        const waitSignal = signal ? AbortSignal.any([signal, local.signal]) : local.signal;
        await Promise.all(
          wanted.map(async (component) => {
            const mine = started.find((s) => s.component === component);
            const stillRunning = mine
              ? () => mine.child.exitCode === null && mine.child.signalCode === null
              : () => componentState(ctx.paths, component).state === 'running';
            try {
              const ms = await waitReady(ctx, component, stillRunning, waitSignal);
              if (mine) ctx.log(`${component}: ready in ${(ms / 1000).toFixed(1)} s`);
            } catch (error) {
              // Promise.all reports this first failure, not the interruption it causes in the other wait.
              local.abort(`the ${component} failed`);
              throw error;
            }
          }),
        );

        if (toStart.length > 0) writeRunRecord(ctx, java);
        if (toStart.includes('registry')) await setRegistryDefaults(registryUrl(ctx.config));
        let topics: string[] = [];
        if (wanted.includes('broker')) {
          const env = { ...ctx.env, KAFKA_BROKERS: brokerAddress(ctx.config) };
          topics = (await ensureAppTopics(env, { replicationFactor: 1 })).lines;
        }
        return {
          alreadyRunning: toStart.length === 0,
          started: toStart,
          downloaded,
          topics,
          seconds: (Date.now() - began) / 1000,
        };
      } catch (error) {
        if (started.length > 0) {
          ctx.log(
            `stopping what this run started: ${started.map((s) => `${s.component} (pid ${s.pid})`).join(', ')}`,
          );
          await stopStarted(ctx, started);
        }
        throw error;
      }
    },
    signal,
  );
}

export function up(ctx: StackContext, signal?: AbortSignal): Promise<UpResult> {
  return startComponents(ctx, ['broker', 'registry'], signal);
}

export function startBrokerIn(ctx: StackContext, signal?: AbortSignal): Promise<UpResult> {
  return startComponents(ctx, ['broker'], signal);
}

export function startRegistryIn(ctx: StackContext, signal?: AbortSignal): Promise<UpResult> {
  return startComponents(ctx, ['registry'], signal);
}

export interface StopOptions {
  /** SIGKILL at once, like a crash (fault tests), instead of SIGTERM first. */
  readonly hard?: boolean;
}

export type StopOutcome = 'not-running' | 'terminated' | 'killed';

async function stopComponentUnlocked(
  ctx: StackContext,
  component: Component,
  options: StopOptions,
): Promise<StopOutcome> {
  const state = componentState(ctx.paths, component);
  let outcome: StopOutcome = 'not-running';
  if (state.state === 'running') {
    outcome = await stopProcess(
      state.pid,
      () => isOurs(state.pid, ctx.paths.stateDir, component),
      ctx.config.stopTimeoutMs,
      options.hard ? 'SIGKILL' : 'SIGTERM',
    );
  }
  removePidFile(ctx.paths.pidFile(component));
  // Strays of ours with no pid file (e.g. the pid file was deleted by hand) go too.
  for (const stray of findOurProcesses(ctx.paths.stateDir, component)) {
    await stopProcess(
      stray.pid,
      () => isOurs(stray.pid, ctx.paths.stateDir, component),
      ctx.config.stopTimeoutMs,
    );
  }
  return outcome;
}

export function stopComponent(
  ctx: StackContext,
  component: Component,
  options: StopOptions = {},
): Promise<StopOutcome> {
  return withLock(ctx.paths.lockDir, `the stack in ${ctx.paths.stateDir}`, LOCK_TIMEOUT_MS, () =>
    stopComponentUnlocked(ctx, component, options),
  );
}

export interface DownResult {
  readonly broker: StopOutcome;
  readonly registry: StopOutcome;
  readonly wiped: boolean;
}

/** SIGTERM, wait, SIGKILL for both parts; then checks that no JVM of this stack is left. */
export async function down(
  ctx: StackContext,
  options: { readonly wipe?: boolean } = {},
): Promise<DownResult> {
  const result = await withLock(
    ctx.paths.lockDir,
    `the stack in ${ctx.paths.stateDir}`,
    LOCK_TIMEOUT_MS,
    async () => {
      const [registry, broker] = await Promise.all([
        stopComponentUnlocked(ctx, 'registry', {}),
        stopComponentUnlocked(ctx, 'broker', {}),
      ]);
      const left = findOurProcesses(ctx.paths.stateDir);
      if (left.length > 0) {
        throw new StackError(
          `processes of this stack are still running: ${left.map((p) => p.pid).join(', ')}`,
        );
      }
      rmSync(ctx.paths.stateFile, { force: true });
      return { registry, broker };
    },
  );
  if (options.wipe) rmSync(ctx.paths.stateDir, { recursive: true, force: true });
  return { ...result, wiped: options.wipe === true };
}

export async function restartBroker(ctx: StackContext, signal?: AbortSignal): Promise<UpResult> {
  await stopComponent(ctx, 'broker');
  return startBrokerIn(ctx, signal);
}

export interface ComponentStatus {
  readonly component: Component;
  readonly running: boolean;
  readonly pid: number | undefined;
  readonly ready: boolean;
  readonly address: string;
  readonly detail: string;
  readonly logFile: string;
}

export interface StackStatus {
  readonly up: boolean;
  readonly broker: ComponentStatus;
  readonly registry: ComponentStatus;
}

/** Reads pid files (fixing stale ones) and probes both parts once. */
export async function status(ctx: StackContext): Promise<StackStatus> {
  const record = readRunRecord(ctx.paths);
  const one = async (component: Component): Promise<ComponentStatus> => {
    const state = componentState(ctx.paths, component);
    const running = state.state === 'running';
    const ports = running && record ? record : ctx.config;
    const config = { ...ctx.config, kafkaPort: ports.kafkaPort, registryPort: ports.registryPort };
    const address = component === 'broker' ? brokerAddress(config) : registryUrl(config);
    let ready = false;
    let detail = running ? 'running' : 'stopped';
    if (running) {
      const probe = component === 'broker' ? await probeBroker([address]) : await probeRegistry(address);
      ready = probe.ok;
      detail = probe.ok ? 'ready' : `running, not ready (${probe.reason})`;
    }
    return {
      component,
      running,
      pid: running ? state.pid : undefined,
      ready,
      address,
      detail,
      logFile: ctx.paths.logFile(component),
    };
  };
  const [broker, registry] = await Promise.all([one('broker'), one('registry')]);
  return { up: broker.ready && registry.ready, broker, registry };
}
