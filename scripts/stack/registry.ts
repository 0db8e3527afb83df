import type { ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { StackConfig } from './config.js';
import { cdsArgs, type JavaInstall } from './java.js';
import type { StackPaths } from './paths.js';
import { markerArgs, spawnDetached } from './process-control.js';

export const CCOMPAT_PATH = '/apis/ccompat/v7';

export function registryUrl(config: Pick<StackConfig, 'host' | 'registryPort'>): string {
  return `http://${config.host}:${config.registryPort}${CCOMPAT_PATH}`;
}

/**
 * The registry's JVM arguments. Storage is H2 in a file under the state folder,
 * so schema ids stay valid for the records already in the broker's log across
 * restarts; both are wiped together.
 */
export function registryJvmArgs(
  config: Pick<StackConfig, 'host' | 'registryPort' | 'registryHeap' | 'registryJavaOpts'>,
  paths: Pick<StackPaths, 'stateDir' | 'registryDb' | 'apicurioJar' | 'apicurioDir' | 'cdsDir' | 'logFile'>,
  java: Pick<JavaInstall, 'major' | 'version'>,
): string[] {
  return [
    `-Xmx${config.registryHeap}`,
    '-XX:+ExitOnOutOfMemoryError',
    // C1 only: halves the registry's start-up CPU (measured 8 s → 4 s). It serves a handful of
    // schema lookups that clients cache, so the peak speed C2 would buy never matters here.
    '-XX:TieredStopAtLevel=1',
    ...cdsArgs(java, paths.cdsDir, path.basename(paths.apicurioDir)),
    ...markerArgs(paths.stateDir, 'registry'),
    `-Dquarkus.http.host=${config.host}`,
    `-Dquarkus.http.port=${config.registryPort}`,
    // The management interface (health, metrics) is fixed on at build time and would listen on
    // 0.0.0.0:9000; keep it on loopback and on any free port so it can never conflict.
    `-Dquarkus.management.host=${config.host}`,
    '-Dquarkus.management.port=0',
    `-Dapicurio.datasource.url=jdbc:h2:file:${paths.registryDb}`,
    '-Dquarkus.log.console.enabled=false',
    '-Dquarkus.log.file.enabled=true',
    // Plain lines like the console format, not the JSON the file handler defaults to, so a tail reads well.
    '-Dquarkus.log.file.json.enabled=false',
    '-Dquarkus.log.file.format=%d{yyyy-MM-dd HH:mm:ss,SSS} %-5p [%c{3.}] (%t) %s%e%n',
    `-Dquarkus.log.file.path=${paths.logFile('registry')}`,
    '-Dquarkus.log.file.rotation.max-file-size=20M',
    '-Dquarkus.log.file.rotation.max-backup-index=3',
    ...config.registryJavaOpts,
    '-jar',
    paths.apicurioJar,
  ];
}

/**
 * The registry-wide compatibility level, BACKWARD: what Confluent's registry defaults to, and what a
 * platform team sets. Apicurio defaults to NONE. The application itself never sets a subject's level
 * unless SCHEMA_REGISTRY_COMPATIBILITY asks it to, so the registry's default is what protects the contract.
 */
export async function setRegistryDefaults(url: string): Promise<void> {
  const response = await fetch(`${url}/config`, {
    method: 'PUT',
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: JSON.stringify({ compatibility: 'BACKWARD' }),
    signal: AbortSignal.timeout(10_000),
  });
  await response.body?.cancel();
  if (!response.ok) throw new Error(`setting the registry's default compatibility: HTTP ${response.status}`);
}

export function launchRegistry(config: StackConfig, paths: StackPaths, java: JavaInstall): ChildProcess {
  mkdirSync(paths.registryDir, { recursive: true });
  mkdirSync(paths.logsDir, { recursive: true });
  mkdirSync(paths.cdsDir, { recursive: true });
  return spawnDetached({
    command: java.java,
    args: registryJvmArgs(config, paths, java),
    cwd: paths.registryDir,
    consoleFile: paths.consoleFile('registry'),
  });
}
