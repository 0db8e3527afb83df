import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import type { StackConfig, StackPaths, StackVersions } from './config.js';
import { DOCKER_ALTERNATIVE, StackError, StackInterrupted } from './errors.js';
import { findOnPath, type JavaInstall } from './java.js';
import { tailFile } from './readiness.js';

function countJars(dir: string): number {
  try {
    return readdirSync(dir).filter((f) => f.endsWith('.jar')).length;
  } catch {
    return 0;
  }
}

/**
 * True when the cache holds what the pom pins: the manifest of the last download names this pom's hash
 * and every jar is still there. This is what lets a warm `stack:up` skip Maven entirely.
 */
export function isCacheComplete(paths: StackPaths, versions: StackVersions): boolean {
  let manifest: { pomSha256?: string; kafkaJars?: number };
  try {
    manifest = JSON.parse(readFileSync(paths.manifestFile, 'utf8')) as typeof manifest;
  } catch {
    return false;
  }
  return (
    manifest.pomSha256 === versions.pomSha256 &&
    existsSync(path.join(paths.kafkaLibsDir, `kafka_2.13-${versions.kafka}.jar`)) &&
    countJars(paths.kafkaLibsDir) === manifest.kafkaJars &&
    existsSync(paths.apicurioJar)
  );
}

/**
 * Fills the cache from Maven Central through stack/pom.xml. Maven writes into a fresh staging folder that
 * then replaces the cached one, so jars of an older version never linger on the classpath.
 */
export async function ensureDownloads(
  config: StackConfig,
  paths: StackPaths,
  versions: StackVersions,
  tools: { readonly mvn: string; readonly java: JavaInstall },
  signal?: AbortSignal,
): Promise<boolean> {
  if (isCacheComplete(paths, versions)) return false;
  const staging = path.join(paths.cacheDir, `.staging-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(paths.cacheDir, { recursive: true });
  console.log(
    `downloading Kafka ${versions.kafka} and Apicurio Registry ${versions.apicurio} through Maven (first run only); log: ${paths.mavenLog}`,
  );
  const env = { ...process.env };
  // Maven needs some JDK; hand it ours only when the environment names none.
  if (!env['JAVA_HOME'] && !findOnPath('java', env['PATH'])) env['JAVA_HOME'] = tools.java.home;
  const args = ['-B', '--no-transfer-progress', '-f', config.pomPath, 'package', `-Dstack.cache=${staging}`];
  try {
    const fd = openSync(paths.mavenLog, 'w');
    const code = await new Promise<number>((resolve, reject) => {
      const child = spawn(tools.mvn, args, { cwd: config.repoRoot, stdio: ['ignore', fd, fd], env, signal });
      closeSync(fd);
      child.once('error', (error) => {
        reject(
          signal?.aborted
            ? new StackInterrupted(signal.reason)
            : new StackError(`cannot run ${tools.mvn}: ${error.message}`),
        );
      });
      child.once('exit', (exitCode) => resolve(exitCode ?? 1));
    });
    if (code !== 0) {
      throw new StackError(
        `Maven failed (exit ${code}) to download the stack; last lines of ${paths.mavenLog}:\n${tailFile(paths.mavenLog, 25)}`,
        `Maven Central must be reachable (proxy settings go in ~/.m2/settings.xml). ${DOCKER_ALTERNATIVE}`,
      );
    }
    const stagedKafka = path.join(staging, `kafka-${versions.kafka}`);
    const stagedApicurio = path.join(staging, `apicurio-${versions.apicurio}`);
    const kafkaJars = countJars(path.join(stagedKafka, 'libs'));
    if (kafkaJars === 0 || !existsSync(path.join(stagedApicurio, 'quarkus-run.jar'))) {
      throw new StackError(`Maven succeeded but ${staging} lacks the Kafka libs or quarkus-run.jar`);
    }
    rmSync(paths.manifestFile, { force: true });
    for (const entry of readdirSync(paths.cacheDir)) {
      if (/^(kafka|apicurio)-/.test(entry))
        rmSync(path.join(paths.cacheDir, entry), { recursive: true, force: true });
    }
    renameSync(stagedKafka, path.dirname(paths.kafkaLibsDir));
    renameSync(stagedApicurio, paths.apicurioDir);
    const manifest = {
      pomSha256: versions.pomSha256,
      kafka: versions.kafka,
      apicurio: versions.apicurio,
      kafkaJars,
    };
    writeFileSync(paths.manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
    return true;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
