import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { StackError } from './errors.js';

/** Everything `stack:*` can be told, from env or flags (flags win). */
export interface StackConfig {
  readonly repoRoot: string;
  readonly pomPath: string;
  /** Data, logs, pid files and rendered configs; `down --wipe` deletes it. */
  readonly stateDir: string;
  /** Downloaded jars; survives `down --wipe`. */
  readonly cacheDir: string;
  readonly host: string;
  readonly kafkaPort: number;
  readonly controllerPort: number;
  readonly registryPort: number;
  readonly readyTimeoutMs: number;
  readonly stopTimeoutMs: number;
  /** A JDK home to use instead of searching; must hold Java 21 or newer. */
  readonly javaHome: string | undefined;
  /** Folders whose subfolders are JDK homes (like /usr/lib/jvm). */
  readonly jdkSearchDirs: readonly string[];
  /** Maven local repository override (`-Dmaven.repo.local`), mainly to measure a cold download. */
  readonly mavenRepo: string | undefined;
  readonly brokerHeap: string;
  readonly registryHeap: string;
  readonly brokerJavaOpts: readonly string[];
  readonly registryJavaOpts: readonly string[];
}

export type StackFlags = Readonly<Partial<Record<FlagName, string>>>;

/** Each flag with the env var it overrides, its default and what it means (printed by `--help`). */
export const STACK_OPTIONS = {
  'state-dir': { env: 'STACK_DIR', defaultText: '.stack', description: 'data, logs and pid files' },
  'cache-dir': { env: 'STACK_CACHE_DIR', defaultText: '.cache/stack', description: 'downloaded jars' },
  'kafka-port': { env: 'STACK_KAFKA_PORT', defaultText: '9092', description: 'broker client port' },
  'controller-port': {
    env: 'STACK_CONTROLLER_PORT',
    defaultText: '9093',
    description: 'KRaft controller port',
  },
  'registry-port': {
    env: 'STACK_REGISTRY_PORT',
    defaultText: '8081',
    description: 'schema registry HTTP port',
  },
  'ready-timeout-ms': {
    env: 'STACK_READY_TIMEOUT_MS',
    defaultText: '120000',
    description: 'longest wait for broker and registry readiness',
  },
  'stop-timeout-ms': {
    env: 'STACK_STOP_TIMEOUT_MS',
    defaultText: '30000',
    description: 'wait after SIGTERM before SIGKILL',
  },
  'java-home': {
    env: 'STACK_JAVA_HOME',
    defaultText: '(searched)',
    description: 'JDK 21+ to run broker and registry',
  },
  'jdk-dirs': {
    env: 'STACK_JDK_DIRS',
    defaultText: '/usr/lib/jvm:/usr/java:/opt/java:/Library/Java/JavaVirtualMachines',
    description: 'folders searched for JDKs (colon-separated)',
  },
  'maven-repo': {
    env: 'STACK_MAVEN_REPO',
    defaultText: '~/.m2/repository',
    description: 'Maven local repository',
  },
  'broker-heap': { env: 'STACK_BROKER_HEAP', defaultText: '512m', description: 'broker -Xmx' },
  'registry-heap': { env: 'STACK_REGISTRY_HEAP', defaultText: '512m', description: 'registry -Xmx' },
  'broker-java-opts': {
    env: 'STACK_BROKER_JAVA_OPTS',
    defaultText: '(none)',
    description: 'extra JVM options for the broker (space-separated)',
  },
  'registry-java-opts': {
    env: 'STACK_REGISTRY_JAVA_OPTS',
    defaultText: '(none)',
    description: 'extra JVM options for the registry, e.g. -Dapicurio.x=y',
  },
} as const;

export type FlagName = keyof typeof STACK_OPTIONS;

/** The repository root: the folder above scripts/, found from this file so any cwd works. */
export function findRepoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'stack', 'pom.xml')) && existsSync(path.join(dir, 'package.json')))
      return dir;
    const parent = path.dirname(dir);
    if (parent === dir)
      throw new StackError('cannot find the repository root (no stack/pom.xml above scripts/)');
    dir = parent;
  }
}

function parsePort(name: string, raw: string): number {
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new StackError(`${name}=${JSON.stringify(raw)} is not a TCP port (1-65535)`);
  }
  return port;
}

function parseDuration(name: string, raw: string): number {
  const ms = Number(raw);
  if (!/^\d+$/.test(raw) || ms < 1)
    throw new StackError(`${name}=${JSON.stringify(raw)} is not a positive number of milliseconds`);
  return ms;
}

function parseHeap(name: string, raw: string): string {
  if (!/^\d+[kmgKMG]?$/.test(raw))
    throw new StackError(`${name}=${JSON.stringify(raw)} is not a heap size like 512m`);
  return raw;
}

export function resolveStackConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
  flags: StackFlags = {},
  repoRoot: string = findRepoRoot(),
): StackConfig {
  const raw = (flag: FlagName): { name: string; value: string } | undefined => {
    const fromFlag = flags[flag];
    if (fromFlag !== undefined && fromFlag !== '') return { name: `--${flag}`, value: fromFlag };
    const envName = STACK_OPTIONS[flag].env;
    const fromEnv = env[envName];
    if (fromEnv !== undefined && fromEnv.trim() !== '') return { name: envName, value: fromEnv.trim() };
    return undefined;
  };
  const port = (flag: FlagName, fallback: number): number => {
    const r = raw(flag);
    return r ? parsePort(r.name, r.value) : fallback;
  };
  const duration = (flag: FlagName, fallback: number): number => {
    const r = raw(flag);
    return r ? parseDuration(r.name, r.value) : fallback;
  };
  const heap = (flag: FlagName): string => {
    const r = raw(flag);
    return r ? parseHeap(r.name, r.value) : '512m';
  };
  const dir = (flag: FlagName, fallback: string): string =>
    path.resolve(repoRoot, raw(flag)?.value ?? fallback);
  const words = (flag: FlagName): string[] => raw(flag)?.value.split(/\s+/).filter(Boolean) ?? [];

  const config: StackConfig = {
    repoRoot,
    pomPath: path.join(repoRoot, 'stack', 'pom.xml'),
    stateDir: dir('state-dir', '.stack'),
    cacheDir: dir('cache-dir', path.join('.cache', 'stack')),
    host: '127.0.0.1',
    kafkaPort: port('kafka-port', 9092),
    controllerPort: port('controller-port', 9093),
    registryPort: port('registry-port', 8081),
    readyTimeoutMs: duration('ready-timeout-ms', 120_000),
    stopTimeoutMs: duration('stop-timeout-ms', 30_000),
    javaHome: raw('java-home') ? path.resolve(raw('java-home')?.value ?? '') : undefined,
    jdkSearchDirs: (
      raw('jdk-dirs')?.value ?? '/usr/lib/jvm:/usr/java:/opt/java:/Library/Java/JavaVirtualMachines'
    )
      .split(':')
      .filter(Boolean),
    mavenRepo: raw('maven-repo') ? path.resolve(raw('maven-repo')?.value ?? '') : undefined,
    brokerHeap: heap('broker-heap'),
    registryHeap: heap('registry-heap'),
    brokerJavaOpts: words('broker-java-opts'),
    registryJavaOpts: words('registry-java-opts'),
  };

  const ports = [config.kafkaPort, config.controllerPort, config.registryPort];
  if (new Set(ports).size !== ports.length) {
    throw new StackError(
      `the broker, controller and registry ports must differ (got ${ports.join(', ')})`,
      'set STACK_KAFKA_PORT, STACK_CONTROLLER_PORT and STACK_REGISTRY_PORT to three different ports',
    );
  }
  return config;
}
