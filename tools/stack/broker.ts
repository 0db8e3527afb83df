import { spawn } from 'node:child_process';
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
import type { StackConfig, StackPaths } from './config.js';
import { StackError, StackInterrupted } from './errors.js';
import { cdsArgs, type JavaInstall } from './java.js';
import { markerArgs } from './processes.js';
import { withJavaArgFile } from './java-argfile.js';
import {
  ensureCredentials,
  markScramWritten,
  SCRAM_MECHANISM,
  secureListenerProperties,
  securePaths,
} from './secure.js';

export const NODE_ID = 1;

export function renderProperties(entries: Readonly<Record<string, string | number | boolean>>): string {
  return `${Object.entries(entries)
    .map(([k, v]) => `${k}=${String(v).replace(/\\/g, '\\\\')}`)
    .join('\n')}\n`;
}

/** Enough of the .properties grammar for files Kafka writes: key=value lines and # comments. */
export function parseProperties(text: string): Map<string, string> {
  const result = new Map<string, string>();
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    const match = /^([^=:\s]+)\s*[=:]\s*(.*)$/.exec(line);
    if (!match?.[1]) throw new Error(`not a property line: ${JSON.stringify(rawLine)}`);
    result.set(match[1], match[2] ?? '');
  }
  return result;
}

export interface BrokerSettings {
  readonly host: string;
  readonly kafkaPort: number;
  readonly controllerPort: number;
  readonly dataDir: string;
  /** The SASL_SSL (SCRAM-SHA-512) listener beside PLAINTEXT; absent only in unit tests of the rest. */
  readonly secure?: { readonly port: number; readonly keystore: string };
}

/**
 * A single combined broker+controller. The replication settings are the ones a one-node cluster needs,
 * or consumer groups and transactions never become available (their internal topics default to 3).
 */
export function renderServerProperties(s: BrokerSettings): string {
  const secured = s.secure ? `,SASL_SSL://${s.host}:${s.secure.port}` : '';
  return renderProperties({
    'process.roles': 'broker,controller',
    'node.id': NODE_ID,
    'controller.quorum.voters': `${NODE_ID}@${s.host}:${s.controllerPort}`,
    listeners: `PLAINTEXT://${s.host}:${s.kafkaPort},CONTROLLER://${s.host}:${s.controllerPort}${secured}`,
    'advertised.listeners': `PLAINTEXT://${s.host}:${s.kafkaPort}${secured}`,
    'controller.listener.names': 'CONTROLLER',
    'listener.security.protocol.map': `CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT${s.secure ? ',SASL_SSL:SASL_SSL' : ''}`,
    ...(s.secure ? secureListenerProperties(s.secure.keystore) : {}),
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
    // ACLs are enforced. The PLAINTEXT listener's principal (User:ANONYMOUS) gets a wildcard ALLOW
    // (tools/stack/acls.ts), so local work stays open and a test can still DENY it one operation, while the
    // SCRAM users of the SASL_SSL listener get only their own ACLs. This fallback covers the moment before
    // those ACLs exist.
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

/** A cluster id as Kafka's Uuid.toString() prints it: 16 random bytes, base64url, no leading '-'. */
export function newClusterId(random: (n: number) => Buffer = randomBytes): string {
  for (;;) {
    const id = random(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

const WIPE_HINT =
  'Delete the stack data with `npm run stack:down -- --wipe` (this loses its topics and schemas), then `npm run stack:up`.';

/**
 * Whether the data folder is empty (format it), formatted by us, or something we must not touch (exit 4).
 * Anything half-written counts as corrupt rather than being formatted over, which could hide a data loss.
 */
export function inspectStorage(paths: Pick<StackPaths, 'stateDir' | 'kafkaDataDir'>): { formatted: boolean } {
  const { stateDir, kafkaDataDir } = paths;
  const corrupt = (why: string) => new StackError(`the state folder is corrupt: ${why}`, WIPE_HINT, 4);
  if (existsSync(stateDir) && !statSync(stateDir).isDirectory()) {
    throw new StackError(
      `the state path ${stateDir} exists but is not a folder`,
      'Remove it or set STACK_DIR elsewhere.',
      4,
    );
  }
  if (!existsSync(kafkaDataDir)) return { formatted: false };
  if (!statSync(kafkaDataDir).isDirectory()) throw corrupt(`${kafkaDataDir} is not a folder`);
  const metaFile = path.join(kafkaDataDir, 'meta.properties');
  if (!existsSync(metaFile)) {
    if (readdirSync(kafkaDataDir).length === 0) return { formatted: false };
    throw corrupt(`${kafkaDataDir} holds data but no meta.properties`);
  }
  let meta: Map<string, string>;
  try {
    meta = parseProperties(readFileSync(metaFile, 'utf8'));
  } catch (error) {
    throw corrupt(`${metaFile} is unreadable (${(error as Error).message})`);
  }
  if (!meta.get('cluster.id') || meta.get('node.id') !== String(NODE_ID)) {
    throw corrupt(
      `${metaFile} lacks cluster.id or has node.id=${meta.get('node.id') ?? '(none)'} instead of ${NODE_ID}`,
    );
  }
  return { formatted: true };
}

function settings(config: StackConfig, paths: StackPaths, dataDir: string): BrokerSettings {
  return {
    host: config.host,
    kafkaPort: config.kafkaPort,
    controllerPort: config.controllerPort,
    dataDir,
    secure: { port: config.kafkaSecurePort, keystore: securePaths(paths).brokerKeystore },
  };
}

/** Formats the KRaft storage in a staging folder renamed into place when complete, so a Ctrl-C leaves nothing half-done. */
export async function formatStorage(
  config: StackConfig,
  paths: StackPaths,
  java: JavaInstall,
  signal?: AbortSignal,
): Promise<void> {
  const staging = `${paths.kafkaDataDir}.formatting`;
  // The SCRAM users go into the first metadata records, which saves a kafka-configs JVM per user later.
  const secure = securePaths(paths);
  const credentials = ensureCredentials(secure);
  const users = Object.values(credentials.users);
  const formatProps = path.join(paths.kafkaDir, 'format.properties');
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(paths.kafkaDir, { recursive: true });
  mkdirSync(paths.logsDir, { recursive: true });
  writeFileSync(formatProps, renderServerProperties(settings(config, paths, staging)));
  // The SCRAM passwords are in the tool's arguments: in a 0600 argument file, never on its command line.
  const mainAndArgs = [
    'kafka.tools.StorageTool',
    'format',
    '-t',
    newClusterId(),
    '-c',
    formatProps,
    ...users.flatMap((u) => [
      '--add-scram',
      `${SCRAM_MECHANISM}=[name=${u.username},password=${u.password}]`,
    ]),
  ];
  const { code, output: raw } = await withJavaArgFile(
    secure.dir,
    mainAndArgs,
    (argFile) =>
      new Promise<{ code: number; output: string }>((resolve, reject) => {
        let output = '';
        const child = spawn(java.java, ['-cp', `${paths.kafkaLibsDir}/*`, argFile], {
          stdio: ['ignore', 'pipe', 'pipe'],
          signal,
        });
        child.stdout.on('data', (d: Buffer) => (output += d.toString()));
        child.stderr.on('data', (d: Buffer) => (output += d.toString()));
        child.once('error', (error) => {
          reject(signal?.aborted ? new StackInterrupted(signal.reason) : error);
        });
        child.once('exit', (exitCode) => resolve({ code: exitCode ?? 1, output }));
      }),
  );
  const output = users.reduce((text, u) => text.split(u.password).join('<redacted>'), raw);
  writeFileSync(paths.consoleFile('broker'), output, { flag: 'a' });
  if (code !== 0) {
    rmSync(staging, { recursive: true, force: true });
    throw new StackError(`formatting the KRaft storage failed (exit ${code}):\n${output.trimEnd()}`);
  }
  renameSync(staging, paths.kafkaDataDir);
  rmSync(formatProps, { force: true });
  markScramWritten(secure, credentials);
}

/** Writes the broker's config files and returns its JVM arguments. */
export function brokerJvmArgs(config: StackConfig, paths: StackPaths, java: JavaInstall): string[] {
  const serverProperties = path.join(paths.kafkaDir, 'server.properties');
  const log4jProperties = path.join(paths.kafkaDir, 'log4j2.properties');
  mkdirSync(paths.kafkaDir, { recursive: true });
  writeFileSync(serverProperties, renderServerProperties(settings(config, paths, paths.kafkaDataDir)));
  writeFileSync(log4jProperties, renderLog4j2Properties(paths.logFile('broker')));
  return [
    '-Xmx512m',
    '-XX:+UseG1GC',
    '-XX:MaxGCPauseMillis=20',
    '-XX:+ExitOnOutOfMemoryError',
    ...cdsArgs(java, paths.cdsDir, path.basename(path.dirname(paths.kafkaLibsDir))),
    '-Djava.awt.headless=true',
    // Kafka 4.3 still frees mapped index files through sun.misc.Unsafe; JDK 24+ warns about it on every start.
    ...(java.major >= 24 ? ['--sun-misc-unsafe-memory-access=allow'] : []),
    `-Dlog4j2.configurationFile=${log4jProperties}`,
    `-Dkafka.logs.dir=${paths.logsDir}`,
    ...markerArgs(paths.stateDir, 'broker'),
    ...config.brokerJavaOpts,
    '-cp',
    `${paths.kafkaLibsDir}/*`,
    'kafka.Kafka',
    serverProperties,
  ];
}
