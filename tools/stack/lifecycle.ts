import type { ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { brokerJvmArgs, formatStorage, inspectStorage } from './broker.js';
import {
  readVersions,
  resolveStackConfig,
  stackPaths,
  type Component,
  type StackConfig,
  type StackPaths,
  type StackVersions,
} from './config.js';
import { ensureDownloads } from './download.js';
import { StackError, throwIfAborted } from './errors.js';
import { checkPrerequisites, type JavaInstall } from './java.js';
import {
  assertPortsFree,
  isOurs,
  markerArgs,
  readPidFile,
  removePidFile,
  spawnDetached,
  stopProcess,
  writePidFile,
  type PortClaim,
  type StopOutcome,
} from './processes.js';
import { probeBroker, probeRegistry, tailFile, waitUntilReady, type ProbeResult } from './readiness.js';
import { registryJvmArgs, registryUrl, setRegistryDefaults } from './registry.js';
import {
  ensureSecureAccess,
  prepareSecureFiles,
  probeRegistryProxy,
  secureBrokerAddress,
  secureRegistryUrl,
} from './secure-setup.js';
import { securePaths } from './secure.js';
import { ensureAppTopics } from './topics.js';

export type { StopOutcome } from './processes.js';

export interface StackContext {
  readonly config: StackConfig;
  readonly versions: StackVersions;
  readonly paths: StackPaths;
  readonly env: NodeJS.ProcessEnv;
  readonly log: (line: string) => void;
}

export interface ContextOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Where progress lines go; the library API passes a no-op. */
  readonly log?: (line: string) => void;
}

export function createContext(options: ContextOptions = {}): StackContext {
  const env = options.env ?? process.env;
  const config = resolveStackConfig(env);
  const versions = readVersions(config.pomPath);
  const log =
    options.log ??
    ((line: string) => {
      console.log(line);
    });
  return { config, versions, paths: stackPaths(config, versions), env, log };
}

export function brokerAddress(config: Pick<StackConfig, 'host' | 'kafkaPort'>): string {
  return `${config.host}:${config.kafkaPort}`;
}

export const COMPONENTS: readonly Component[] = ['broker', 'registry', 'registry-proxy'];

export function probe(ctx: StackContext, component: Component): Promise<ProbeResult> {
  switch (component) {
    case 'broker':
      return probeBroker([brokerAddress(ctx.config)]);
    case 'registry':
      return probeRegistry(registryUrl(ctx.config));
    case 'registry-proxy':
      return probeRegistryProxy(ctx.config, ctx.paths);
  }
}

/** What a component listens on, for status lines. */
function addressOf(ctx: StackContext, component: Component): string {
  switch (component) {
    case 'broker':
      return `${brokerAddress(ctx.config)} (SASL_SSL ${secureBrokerAddress(ctx.config)})`;
    case 'registry':
      return registryUrl(ctx.config);
    case 'registry-proxy':
      return secureRegistryUrl(ctx.config);
  }
}

/** The pid of the component if its pid file names a live JVM of this stack; a stale pid file is removed. */
export function runningPid(ctx: StackContext, component: Component): number | undefined {
  const file = ctx.paths.pidFile(component);
  const pid = readPidFile(file);
  if (pid !== undefined && isOurs(pid, ctx.paths.stateDir, component)) return pid;
  removePidFile(file);
  return undefined;
}

function portClaims(config: StackConfig, component: Component): PortClaim[] {
  switch (component) {
    case 'broker':
      return [
        { port: config.kafkaPort, what: 'Kafka broker', envName: 'STACK_KAFKA_PORT' },
        { port: config.controllerPort, what: 'KRaft controller', envName: 'STACK_CONTROLLER_PORT' },
        { port: config.kafkaSecurePort, what: 'Kafka SASL_SSL listener', envName: 'STACK_KAFKA_SECURE_PORT' },
      ];
    case 'registry':
      return [{ port: config.registryPort, what: 'schema registry', envName: 'STACK_REGISTRY_PORT' }];
    case 'registry-proxy':
      return [
        {
          port: config.registryTlsPort,
          what: 'schema registry HTTPS proxy',
          envName: 'STACK_REGISTRY_TLS_PORT',
        },
      ];
  }
}

/** How each part is started: the two JVMs with their config files, the proxy with Node. */
function launchSpec(
  ctx: StackContext,
  component: Component,
  java: JavaInstall,
): { command: string; args: string[]; cwd: string; consoleFile: string } {
  switch (component) {
    case 'broker':
      return {
        command: java.java,
        args: brokerJvmArgs(ctx.config, ctx.paths, java),
        cwd: ctx.paths.kafkaDir,
        consoleFile: ctx.paths.consoleFile(component),
      };
    case 'registry':
      return {
        command: java.java,
        args: registryJvmArgs(ctx.config, ctx.paths, java),
        cwd: ctx.paths.registryDir,
        consoleFile: ctx.paths.consoleFile(component),
      };
    case 'registry-proxy':
      // Its console is its log: it writes one line per start, and errors.
      return {
        command: process.execPath,
        args: registryProxyArgs(ctx),
        cwd: ctx.config.repoRoot,
        consoleFile: ctx.paths.logFile(component),
      };
  }
}

/** The proxy is a Node process, started through tsx from the repository (its cwd, so `tsx` resolves). */
function registryProxyArgs(ctx: StackContext): string[] {
  const secure = securePaths(ctx.paths);
  return [
    '--import',
    'tsx',
    `${ctx.config.repoRoot}/tools/stack/registry-proxy.ts`,
    ...markerArgs(ctx.paths.stateDir, 'registry-proxy'),
    '--listen',
    `${ctx.config.host}:${ctx.config.registryTlsPort}`,
    '--upstream',
    `http://${ctx.config.host}:${ctx.config.registryPort}`,
    '--cert',
    secure.proxyCert,
    '--key',
    secure.proxyKey,
    '--credentials',
    secure.credentialsFile,
    // Client certificates signed by the stack's CA (stack.clientCertFile) are asked for and verified.
    '--client-ca',
    secure.caCert,
  ];
}

function notReady(ctx: StackContext, component: Component, why: string, lastReason: string): StackError {
  const log = ctx.paths.logFile(component);
  const out = ctx.paths.consoleFile(component);
  return new StackError(
    `the ${component} ${why} (last probe: ${lastReason}).\n` +
      `  Read ${log}; its last lines:\n${tailFile(log, 15)}\n` +
      `  JVM console (${out}):\n${tailFile(out, 10)}`,
    'If its data is damaged, `npm run stack:down -- --wipe` starts over (losing topics and schemas).',
    5,
  );
}

export interface UpResult {
  readonly alreadyRunning: boolean;
  readonly started: readonly Component[];
  readonly downloaded: boolean;
  readonly topics: readonly string[];
  readonly seconds: number;
}

/**
 * Starts whichever of `wanted` is not running, waits until every one answers, sets the registry's
 * default compatibility and creates the topics. On any failure, Ctrl-C included, it stops exactly the
 * JVMs it started.
 */
export async function startComponents(
  ctx: StackContext,
  wanted: readonly Component[],
  signal?: AbortSignal,
): Promise<UpResult> {
  const began = Date.now();
  const { java, mvn } = checkPrerequisites(ctx.config, ctx.env);
  const toStart = wanted.filter((c) => runningPid(ctx, c) === undefined);
  const started: { component: Component; pid: number; child: ChildProcess }[] = [];
  let downloaded = false;
  try {
    if (toStart.length > 0) {
      downloaded = await ensureDownloads(ctx.config, ctx.paths, ctx.versions, { mvn, java }, signal);
      // Every port is checked, and the storage inspected, before anything starts.
      await assertPortsFree(
        ctx.config.host,
        toStart.flatMap((c) => portClaims(ctx.config, c)),
      );
      const format = toStart.includes('broker') && !inspectStorage(ctx.paths).formatted;
      mkdirSync(ctx.paths.registryDir, { recursive: true });
      mkdirSync(ctx.paths.cdsDir, { recursive: true });
      if (toStart.includes('broker') || toStart.includes('registry-proxy')) prepareSecureFiles(ctx.paths);
      // The registry first: it starts while the broker's storage is formatted.
      const order = ['registry', 'broker', 'registry-proxy'] as const;
      for (const component of order.filter((c) => toStart.includes(c))) {
        throwIfAborted(signal);
        if (component === 'broker' && format) {
          ctx.log('formatting KRaft storage (first start of this state folder)');
          await formatStorage(ctx.config, ctx.paths, java, signal);
        }
        const { command, args, cwd, consoleFile } = launchSpec(ctx, component, java);
        const child = spawnDetached(command, args, cwd, consoleFile);
        if (child.pid === undefined)
          throw new StackError(`could not start the ${component} with ${java.java}`);
        writePidFile(ctx.paths.pidFile(component), child.pid);
        started.push({ component, pid: child.pid, child });
      }
    }

    // A failure of one part aborts the wait for the other, so the error comes at once.
    const failed = new AbortController();
    const waitSignal = signal ? AbortSignal.any([signal, failed.signal]) : failed.signal;
    await Promise.all(
      wanted.map(async (component) => {
        const mine = started.find((s) => s.component === component);
        const outcome = await waitUntilReady(() => probe(ctx, component), {
          timeoutMs: ctx.config.readyTimeoutMs,
          signal: waitSignal,
          stillRunning: mine
            ? () => mine.child.exitCode === null && mine.child.signalCode === null
            : () => runningPid(ctx, component) !== undefined,
        });
        if (outcome.ready) {
          if (mine) ctx.log(`${component}: ready in ${(outcome.ms / 1000).toFixed(1)} s`);
          return;
        }
        failed.abort(`the ${component} failed`);
        const why =
          outcome.why === 'exited'
            ? 'exited while starting'
            : `was not ready within ${Math.round(ctx.config.readyTimeoutMs / 1000)} s`;
        throw notReady(ctx, component, why, outcome.lastReason);
      }),
    );

    if (toStart.includes('registry')) await setRegistryDefaults(registryUrl(ctx.config));
    // Every start, not only the first: a state folder from before the secured listener gets its users.
    if (wanted.includes('broker')) await ensureSecureAccess(ctx.config, ctx.paths, ctx.env, java, signal);
    const topics = wanted.includes('broker')
      ? (
          await ensureAppTopics(
            { ...ctx.env, KAFKA_BROKERS: brokerAddress(ctx.config) },
            { replicationFactor: 1 },
          )
        ).lines
      : [];
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
      // Half-started JVMs hold nothing worth a graceful shutdown; do not keep an interrupted user waiting.
      await Promise.all(
        started.map(async (s) => {
          await stopProcess(s.pid, () => isOurs(s.pid, ctx.paths.stateDir, s.component), 5000);
          removePidFile(ctx.paths.pidFile(s.component));
        }),
      );
    }
    throw error;
  }
}

export function up(ctx: StackContext, signal?: AbortSignal): Promise<UpResult> {
  return startComponents(ctx, COMPONENTS, signal);
}

/** Stops one part through its pid file: SIGTERM, then SIGKILL after STACK_STOP_TIMEOUT_MS, or SIGKILL at once with `hard`. */
export async function stopComponent(
  ctx: StackContext,
  component: Component,
  hard = false,
): Promise<StopOutcome> {
  const pid = runningPid(ctx, component);
  const outcome =
    pid === undefined
      ? 'not-running'
      : await stopProcess(
          pid,
          () => isOurs(pid, ctx.paths.stateDir, component),
          ctx.config.stopTimeoutMs,
          hard ? 'SIGKILL' : 'SIGTERM',
        );
  removePidFile(ctx.paths.pidFile(component));
  return outcome;
}

export interface DownResult {
  readonly broker: StopOutcome;
  readonly registry: StopOutcome;
  readonly 'registry-proxy': StopOutcome;
}

/** Stops both parts; with `wipe`, then deletes the state folder (data, logs, pid files). */
export async function down(ctx: StackContext, wipe = false): Promise<DownResult> {
  const [broker, registry, proxy] = await Promise.all(COMPONENTS.map((c) => stopComponent(ctx, c)));
  if (wipe) rmSync(ctx.paths.stateDir, { recursive: true, force: true });
  return {
    broker: broker ?? 'not-running',
    registry: registry ?? 'not-running',
    'registry-proxy': proxy ?? 'not-running',
  };
}

export interface ComponentStatus {
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
  readonly 'registry-proxy': ComponentStatus;
}

/** Reads the pid files (removing stale ones) and probes each running part once. */
export async function status(ctx: StackContext): Promise<StackStatus> {
  const one = async (component: Component): Promise<ComponentStatus> => {
    const pid = runningPid(ctx, component);
    const result = pid === undefined ? undefined : await probe(ctx, component);
    return {
      running: pid !== undefined,
      pid,
      ready: result?.ok === true,
      address: addressOf(ctx, component),
      detail:
        result === undefined ? 'stopped' : result.ok ? 'ready' : `running, not ready (${result.reason})`,
      logFile: ctx.paths.logFile(component),
    };
  };
  const [broker, registry, proxy] = await Promise.all([
    one('broker'),
    one('registry'),
    one('registry-proxy'),
  ]);
  return { up: broker.ready && registry.ready && proxy.ready, broker, registry, 'registry-proxy': proxy };
}
