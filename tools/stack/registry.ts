import path from 'node:path';
import type { StackConfig, StackPaths } from './config.js';
import { cdsArgs, type JavaInstall } from './java.js';
import { markerArgs } from './processes.js';

export function registryUrl(config: Pick<StackConfig, 'host' | 'registryPort'>): string {
  return `http://${config.host}:${config.registryPort}/apis/ccompat/v7`;
}

/**
 * The registry's JVM arguments. Storage is H2 in a file under the state folder, so schema ids stay valid
 * for the records already in the broker's log across restarts; both are wiped together.
 */
export function registryJvmArgs(
  config: Pick<StackConfig, 'host' | 'registryPort' | 'registryJavaOpts'>,
  paths: Pick<StackPaths, 'stateDir' | 'registryDb' | 'apicurioJar' | 'apicurioDir' | 'cdsDir' | 'logFile'>,
  java: Pick<JavaInstall, 'major' | 'version'>,
): string[] {
  return [
    '-Xmx512m',
    '-XX:+ExitOnOutOfMemoryError',
    // C1 only: halves the registry's start-up CPU (measured 8 s → 4 s). It serves a handful of schema
    // lookups that clients cache, so the peak speed C2 would buy never matters here.
    '-XX:TieredStopAtLevel=1',
    ...cdsArgs(java, paths.cdsDir, path.basename(paths.apicurioDir)),
    ...markerArgs(paths.stateDir, 'registry'),
    `-Dquarkus.http.host=${config.host}`,
    `-Dquarkus.http.port=${config.registryPort}`,
    // The management interface (health, metrics) would listen on 0.0.0.0:9000; keep it on loopback and
    // on any free port so it can never conflict.
    `-Dquarkus.management.host=${config.host}`,
    '-Dquarkus.management.port=0',
    `-Dapicurio.datasource.url=jdbc:h2:file:${paths.registryDb}`,
    '-Dquarkus.log.console.enabled=false',
    '-Dquarkus.log.file.enabled=true',
    // Plain lines, not the JSON the file handler defaults to, so a tail reads well.
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
 * The registry-wide compatibility level BACKWARD, Confluent's default (Apicurio's is NONE). The application
 * never sets a subject's level unless SCHEMA_REGISTRY_COMPATIBILITY asks it to.
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
