import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { StackError } from './errors.js';

/** The registry's HTTPS + basic-auth proxy is the third part: Apicurio alone offers basic auth only through an OIDC server. */
export type Component = 'broker' | 'registry' | 'registry-proxy';
type Env = Readonly<Record<string, string | undefined>>;

/** Everything the stack can be told, from STACK_* environment variables. */
export interface StackConfig {
  readonly repoRoot: string;
  readonly pomPath: string;
  /** Data, logs and pid files; `down --wipe` deletes it. */
  readonly stateDir: string;
  /** Downloaded jars; survives `down --wipe`. */
  readonly cacheDir: string;
  readonly host: string;
  readonly kafkaPort: number;
  readonly controllerPort: number;
  readonly registryPort: number;
  /** The SASL_SSL (SCRAM-SHA-512) listener beside PLAINTEXT. */
  readonly kafkaSecurePort: number;
  /** The registry's HTTPS + basic-auth proxy. */
  readonly registryTlsPort: number;
  readonly readyTimeoutMs: number;
  readonly stopTimeoutMs: number;
  /** A JDK home to use instead of searching; must hold Java 21 or newer. */
  readonly javaHome: string | undefined;
  /** Folders whose subfolders are JDK homes (like /usr/lib/jvm). */
  readonly jdkSearchDirs: readonly string[];
  readonly brokerJavaOpts: readonly string[];
  readonly registryJavaOpts: readonly string[];
}

/** Each variable with its default, for `--help` and docs/local-stack.md. */
export const STACK_ENV = {
  STACK_DIR: ['.stack', 'data, logs and pid files'],
  STACK_CACHE_DIR: ['.cache/stack', 'downloaded jars'],
  STACK_KAFKA_PORT: ['9092', 'broker client port'],
  STACK_CONTROLLER_PORT: ['9093', 'KRaft controller port'],
  STACK_REGISTRY_PORT: ['8081', 'schema registry HTTP port'],
  STACK_KAFKA_SECURE_PORT: ['STACK_KAFKA_PORT + 2', 'broker SASL_SSL (SCRAM-SHA-512) port'],
  STACK_REGISTRY_TLS_PORT: ['STACK_REGISTRY_PORT + 1', 'schema registry HTTPS + basic-auth port'],
  STACK_READY_TIMEOUT_MS: ['120000', 'longest wait for broker and registry readiness'],
  STACK_STOP_TIMEOUT_MS: ['30000', 'wait after SIGTERM before SIGKILL'],
  STACK_JAVA_HOME: ['(searched)', 'JDK 21+ to run broker and registry'],
  STACK_JDK_DIRS: [
    '/usr/lib/jvm:/usr/java:/opt/java:/Library/Java/JavaVirtualMachines',
    'where JDKs are searched',
  ],
  STACK_BROKER_JAVA_OPTS: ['(none)', 'extra JVM options for the broker, last so they win (e.g. -Xmx1g)'],
  STACK_REGISTRY_JAVA_OPTS: ['(none)', 'extra JVM options for the registry, last so they win'],
} as const;
type EnvName = keyof typeof STACK_ENV;

/** The repository root: the folder holding stack/pom.xml, found from this file so any cwd works. */
export function findRepoRoot(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
}

export function resolveStackConfig(env: Env = process.env, repoRoot: string = findRepoRoot()): StackConfig {
  const raw = (name: EnvName): string | undefined => env[name]?.trim() || undefined;
  const value = (name: EnvName): string => raw(name) ?? STACK_ENV[name][0];
  const number = (name: EnvName, max: number, fallback?: number): number => {
    const text = raw(name) ?? (fallback === undefined ? value(name) : String(fallback));
    const n = Number(text);
    if (!/^\d+$/.test(text) || n < 1 || n > max) {
      throw new StackError(`${name}=${JSON.stringify(text)} is not a number from 1 to ${max}`);
    }
    return n;
  };
  const javaHome = raw('STACK_JAVA_HOME');
  const config: StackConfig = {
    repoRoot,
    pomPath: path.join(repoRoot, 'stack', 'pom.xml'),
    stateDir: path.resolve(repoRoot, value('STACK_DIR')),
    cacheDir: path.resolve(repoRoot, value('STACK_CACHE_DIR')),
    host: '127.0.0.1',
    kafkaPort: number('STACK_KAFKA_PORT', 65_535),
    controllerPort: number('STACK_CONTROLLER_PORT', 65_535),
    registryPort: number('STACK_REGISTRY_PORT', 65_535),
    // Derived from the plain ports by default, so a stack on other ports (tests) moves these with them.
    kafkaSecurePort: number(
      'STACK_KAFKA_SECURE_PORT',
      65_535,
      (number('STACK_KAFKA_PORT', 65_535) + 2) % 65_536,
    ),
    registryTlsPort: number(
      'STACK_REGISTRY_TLS_PORT',
      65_535,
      (number('STACK_REGISTRY_PORT', 65_535) + 1) % 65_536,
    ),
    readyTimeoutMs: number('STACK_READY_TIMEOUT_MS', Number.MAX_SAFE_INTEGER),
    stopTimeoutMs: number('STACK_STOP_TIMEOUT_MS', Number.MAX_SAFE_INTEGER),
    javaHome: javaHome === undefined ? undefined : path.resolve(javaHome),
    jdkSearchDirs: value('STACK_JDK_DIRS').split(':').filter(Boolean),
    brokerJavaOpts: raw('STACK_BROKER_JAVA_OPTS')?.split(/\s+/) ?? [],
    registryJavaOpts: raw('STACK_REGISTRY_JAVA_OPTS')?.split(/\s+/) ?? [],
  };
  const ports = [
    config.kafkaPort,
    config.controllerPort,
    config.registryPort,
    config.kafkaSecurePort,
    config.registryTlsPort,
  ];
  if (new Set(ports).size !== ports.length) {
    throw new StackError(
      `the broker, controller, registry, secured broker and registry TLS ports must differ (got ${ports.join(', ')})`,
      'Set STACK_KAFKA_PORT, STACK_CONTROLLER_PORT, STACK_REGISTRY_PORT, STACK_KAFKA_SECURE_PORT and STACK_REGISTRY_TLS_PORT to different ports.',
    );
  }
  return config;
}

/** The versions pinned in stack/pom.xml, and its hash: an edit that can change the downloads invalidates the cache. */
export interface StackVersions {
  readonly kafka: string;
  readonly apicurio: string;
  readonly pomSha256: string;
}

export function parsePomVersions(pomXml: string): Omit<StackVersions, 'pomSha256'> {
  const property = (name: string): string => {
    const match = new RegExp(`<${name}>\\s*([^<\\s]+)\\s*</${name}>`).exec(pomXml);
    if (!match?.[1]) throw new StackError(`stack/pom.xml has no <${name}> property`);
    return match[1];
  };
  return { kafka: property('kafka.version'), apicurio: property('apicurio.version') };
}

/** The pom without comments and whitespace runs, so rewording a comment does not re-download 220 MB. */
export function normalizePom(xml: string): string {
  return xml
    .replace(/<!--[\s\S]*?-->/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

export function readVersions(pomPath: string): StackVersions {
  let xml: string;
  try {
    xml = readFileSync(pomPath, 'utf8');
  } catch (error) {
    throw new StackError(`cannot read ${pomPath}: ${(error as Error).message}`);
  }
  return {
    ...parsePomVersions(xml),
    pomSha256: createHash('sha256').update(normalizePom(xml)).digest('hex'),
  };
}

/** Where every file of the stack lives. */
export function stackPaths(config: StackConfig, versions: Pick<StackVersions, 'kafka' | 'apicurio'>) {
  const { stateDir, cacheDir } = config;
  const runDir = path.join(stateDir, 'run');
  const logsDir = path.join(stateDir, 'logs');
  const kafkaDir = path.join(stateDir, 'kafka');
  const registryDir = path.join(stateDir, 'registry');
  const apicurioDir = path.join(cacheDir, `apicurio-${versions.apicurio}`);
  return {
    stateDir,
    runDir,
    logsDir,
    kafkaDir,
    kafkaDataDir: path.join(kafkaDir, 'data'),
    /** Class-data-sharing archives the JVMs write on their first clean exit and start faster from. */
    cdsDir: path.join(stateDir, 'cds'),
    registryDir,
    /** H2 database path prefix (H2 appends .mv.db). */
    registryDb: path.join(registryDir, 'db'),
    cacheDir,
    manifestFile: path.join(cacheDir, 'manifest.json'),
    mavenLog: path.join(cacheDir, 'maven.log'),
    kafkaLibsDir: path.join(cacheDir, `kafka-${versions.kafka}`, 'libs'),
    apicurioDir,
    apicurioJar: path.join(apicurioDir, 'quarkus-run.jar'),
    pidFile: (c: Component) => path.join(runDir, `${c}.pid`),
    /** The component's own log (log4j for the broker, Quarkus for the registry). */
    logFile: (c: Component) => path.join(logsDir, `${c}.log`),
    /** stdout/stderr of the JVM: where a crash before logging starts shows up. */
    consoleFile: (c: Component) => path.join(logsDir, `${c}.out`),
  };
}
export type StackPaths = ReturnType<typeof stackPaths>;
