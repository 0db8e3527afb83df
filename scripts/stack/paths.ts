import path from 'node:path';
import type { StackConfig } from './config.js';
import type { StackVersions } from './versions.js';

export type Component = 'broker' | 'registry';

/** Where every file of the stack lives, derived once from the config and the pinned versions. */
export interface StackPaths {
  readonly stateDir: string;
  readonly runDir: string;
  readonly logsDir: string;
  readonly lockDir: string;
  readonly stateFile: string;
  readonly kafkaDir: string;
  readonly serverProperties: string;
  readonly log4jProperties: string;
  readonly kafkaDataDir: string;
  /** Class-data-sharing archives the JVMs write on their first clean exit and start faster from. */
  readonly cdsDir: string;
  readonly registryDir: string;
  /** H2 database path prefix (H2 appends .mv.db). */
  readonly registryDb: string;
  readonly cacheDir: string;
  readonly cacheLockDir: string;
  readonly manifestFile: string;
  readonly mavenLog: string;
  readonly kafkaLibsDir: string;
  readonly apicurioDir: string;
  readonly apicurioJar: string;
  pidFile(component: Component): string;
  /** The component's own log (log4j for the broker, Quarkus for the registry). */
  logFile(component: Component): string;
  /** stdout/stderr of the JVM: where a crash before logging starts shows up. */
  consoleFile(component: Component): string;
}

export function stackPaths(
  config: StackConfig,
  versions: Pick<StackVersions, 'kafka' | 'apicurio'>,
): StackPaths {
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
    lockDir: path.join(runDir, 'lock'),
    stateFile: path.join(runDir, 'stack.json'),
    kafkaDir,
    serverProperties: path.join(kafkaDir, 'server.properties'),
    log4jProperties: path.join(kafkaDir, 'log4j2.properties'),
    kafkaDataDir: path.join(kafkaDir, 'data'),
    cdsDir: path.join(stateDir, 'cds'),
    registryDir,
    registryDb: path.join(registryDir, 'db'),
    cacheDir,
    cacheLockDir: path.join(cacheDir, '.lock'),
    manifestFile: path.join(cacheDir, 'manifest.json'),
    mavenLog: path.join(cacheDir, 'maven.log'),
    kafkaLibsDir: path.join(cacheDir, `kafka-${versions.kafka}`, 'libs'),
    apicurioDir,
    apicurioJar: path.join(apicurioDir, 'quarkus-run.jar'),
    pidFile: (component) => path.join(runDir, `${component}.pid`),
    logFile: (component) => path.join(logsDir, component === 'broker' ? 'broker.log' : 'registry.log'),
    consoleFile: (component) => path.join(logsDir, `${component}.out`),
  };
}
