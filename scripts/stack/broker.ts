import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import type { StackConfig } from './config.js';
import { StackError, StackInterrupted } from './errors.js';
import { cdsArgs, type JavaInstall } from './java.js';
import type { StackPaths } from './paths.js';
import { markerArgs, spawnDetached } from './process-control.js';
import { parseProperties, renderProperties } from './properties.js';
import { tailFile } from './readiness.js';

export const NODE_ID = 1;

export interface BrokerSettings {
  readonly host: string;
  readonly kafkaPort: number;
  readonly controllerPort: number;
  readonly dataDir: string;
}

/**
 * A single combined broker+controller. The replication settings are the ones a
 * one-node cluster needs, or consumer groups and transactions never become
 * available (their internal topics default to replication factor 3).
 */
export function renderServerProperties(s: BrokerSettings): string {
  return renderProperties({
    'process.roles': 'broker,controller',
    'node.id': NODE_ID,
    'controller.quorum.voters': `${NODE_ID}@${s.host}:${s.controllerPort}`,
    listeners: `PLAINTEXT://${s.host}:${s.kafkaPort},CONTROLLER://${s.host}:${s.controllerPort}`,
    'advertised.listeners': `PLAINTEXT://${s.host}:${s.kafkaPort}`,
    'controller.listener.names': 'CONTROLLER',
    'listener.security.protocol.map': 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
    'inter.broker.listener.name': 'PLAINTEXT',
    'log.dirs': s.dataDir,
    'num.partitions': 1,
    'default.replication.factor': 1,
    'min.insync.replicas': 1,
    'offsets.topic.replication.factor': 1,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'share.coordinator.state.topic.replication.factor': 1,
    'share.coordinator.state.topic.min.isr': 1,
    // Topics come from src/topics.ts only; a typo in a topic name must fail, not create a topic.
    'auto.create.topics.enable': false,
    // One member per group in tests and the demo: waiting 3 s for more members only slows every join.
    'group.initial.rebalance.delay.ms': 0,
    // ACLs are enforced, and everything without one is allowed: the stack stays open for local work,
    // and a test can deny one operation on one topic (as a missing ACL would) with kafka-acls.
    'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
    'allow.everyone.if.no.acl.found': true,
  });
}

/** Log4j2 config: everything to a size-rotated file under the state folder, nothing to the console. */
export function renderLog4j2Properties(logFile: string): string {
  return renderProperties({
    'appender.file.type': 'RollingFile',
    'appender.file.name': 'file',
    'appender.file.fileName': logFile,
    'appender.file.filePattern': `${logFile}.%i`,
    'appender.file.layout.type': 'PatternLayout',
    'appender.file.layout.pattern': '[%d] %p %m (%c)%n',
    'appender.file.policies.type': 'Policies',
    'appender.file.policies.size.type': 'SizeBasedTriggeringPolicy',
    'appender.file.policies.size.size': '20MB',
    'appender.file.strategy.type': 'DefaultRolloverStrategy',
    'appender.file.strategy.max': 3,
    'rootLogger.level': 'INFO',
    'rootLogger.appenderRef.file.ref': 'file',
    // The state-change and request loggers repeat every partition move; keep them for real problems.
    'logger.statechange.name': 'state.change.logger',
    'logger.statechange.level': 'WARN',
    'logger.request.name': 'kafka.request.logger',
    'logger.request.level': 'WARN',
  });
}

/** A cluster id as Kafka's Uuid.toString() prints it: 16 random bytes, base64url, no padding, no leading '-'. */
export function newClusterId(random: (n: number) => Buffer = randomBytes): string {
  for (;;) {
    const id = random(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

export type StorageState =
  { readonly formatted: false } | { readonly formatted: true; readonly clusterId: string };

const WIPE_HINT =
  'Delete the stack data with `npm run stack:down -- --wipe` (this loses its topics and schemas), then `npm run stack:up`.';

/**
 * Decides whether the data folder is empty (format it), formatted by us, or
 * something we must not touch. Anything half-written counts as corrupt rather
 * than being re-formatted over, which could hide a real data loss.
 */
export function inspectStorage(paths: StackPaths): StorageState {
  const { stateDir, kafkaDataDir } = paths;
  if (existsSync(stateDir) && !statSync(stateDir).isDirectory()) {
    throw new StackError(
      `the state path ${stateDir} exists but is not a folder`,
      'Remove it or set STACK_DIR elsewhere.',
      4,
    );
  }
  if (!existsSync(kafkaDataDir)) return { formatted: false };
  if (!statSync(kafkaDataDir).isDirectory()) {
    throw new StackError(`the state folder is corrupt: ${kafkaDataDir} is not a folder`, WIPE_HINT, 4);
  }
  const metaFile = path.join(kafkaDataDir, 'meta.properties');
  if (!existsSync(metaFile)) {
    if (readdirSync(kafkaDataDir).length === 0) return { formatted: false };
    throw new StackError(
      `the state folder is corrupt: ${kafkaDataDir} holds data but no meta.properties`,
      WIPE_HINT,
      4,
    );
  }
  let meta: Map<string, string>;
  try {
    meta = parseProperties(readFileSync(metaFile, 'utf8'));
  } catch (error) {
    throw new StackError(
      `the state folder is corrupt: ${metaFile} is unreadable (${(error as Error).message})`,
      WIPE_HINT,
      4,
    );
  }
  const clusterId = meta.get('cluster.id');
  const nodeId = meta.get('node.id');
  if (!clusterId || nodeId !== String(NODE_ID)) {
    throw new StackError(
      `the state folder is corrupt: ${metaFile} lacks cluster.id or has node.id=${nodeId ?? '(none)'} instead of ${NODE_ID}`,
      WIPE_HINT,
      4,
    );
  }
  return { formatted: true, clusterId };
}

function brokerSettings(config: StackConfig, dataDir: string): BrokerSettings {
  return { host: config.host, kafkaPort: config.kafkaPort, controllerPort: config.controllerPort, dataDir };
}

function classpath(paths: StackPaths): string[] {
  return ['-cp', `${paths.kafkaLibsDir}/*`];
}

/**
 * Formats the KRaft storage once. It formats a staging folder that is renamed
 * into place only when complete, so a Ctrl-C mid-format leaves nothing half-done.
 */
export async function formatStorage(
  config: StackConfig,
  paths: StackPaths,
  java: JavaInstall,
  signal?: AbortSignal,
): Promise<string> {
  const staging = `${paths.kafkaDataDir}.formatting`;
  const formatProps = path.join(paths.kafkaDir, 'format.properties');
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(paths.kafkaDir, { recursive: true });
  writeFileSync(formatProps, renderServerProperties(brokerSettings(config, staging)));
  const clusterId = newClusterId();
  const out = paths.consoleFile('broker');
  mkdirSync(paths.logsDir, { recursive: true });
  const { code, output } = await new Promise<{ code: number; output: string }>((resolve, reject) => {
    let output = '';
    const child: ChildProcess = spawn(
      java.java,
      [...classpath(paths), 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', formatProps],
      { stdio: ['ignore', 'pipe', 'pipe'], signal },
    );
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    child.once('error', (error) => {
      reject(signal?.aborted ? new StackInterrupted(String(signal.reason ?? 'a signal')) : error);
    });
    child.once('exit', (exitCode) => {
      resolve({ code: exitCode ?? 1, output });
    });
  });
  writeFileSync(out, output, { flag: 'a' });
  if (code !== 0) {
    rmSync(staging, { recursive: true, force: true });
    throw new StackError(`formatting the KRaft storage failed (exit ${code}):\n${tailFile(out, 20)}`);
  }
  renameSync(staging, paths.kafkaDataDir);
  rmSync(formatProps, { force: true });
  return clusterId;
}

/** Writes the broker's config files and starts it in the background. */
export function launchBroker(config: StackConfig, paths: StackPaths, java: JavaInstall): ChildProcess {
  mkdirSync(paths.logsDir, { recursive: true });
  mkdirSync(paths.cdsDir, { recursive: true });
  writeFileSync(paths.serverProperties, renderServerProperties(brokerSettings(config, paths.kafkaDataDir)));
  writeFileSync(paths.log4jProperties, renderLog4j2Properties(paths.logFile('broker')));
  return spawnDetached({
    command: java.java,
    args: [
      `-Xms${config.brokerHeap}`,
      `-Xmx${config.brokerHeap}`,
      '-XX:+UseG1GC',
      '-XX:MaxGCPauseMillis=20',
      '-XX:+ExitOnOutOfMemoryError',
      ...cdsArgs(java, paths.cdsDir, path.basename(path.dirname(paths.kafkaLibsDir))),
      '-Djava.awt.headless=true',
      // Kafka 4.3 still frees mapped index files through sun.misc.Unsafe; JDK 24+ warns about it on every start.
      ...(java.major >= 24 ? ['--sun-misc-unsafe-memory-access=allow'] : []),
      `-Dlog4j2.configurationFile=${paths.log4jProperties}`,
      `-Dkafka.logs.dir=${paths.logsDir}`,
      ...markerArgs(paths.stateDir, 'broker'),
      ...config.brokerJavaOpts,
      ...classpath(paths),
      'kafka.Kafka',
      paths.serverProperties,
    ],
    cwd: paths.kafkaDir,
    consoleFile: paths.consoleFile('broker'),
  });
}
