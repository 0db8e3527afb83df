import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  openSync,
  closeSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import type { StackConfig } from './config.js';
import { DOCKER_ALTERNATIVE, StackError, StackInterrupted } from './errors.js';
import { findOnPath, type JavaInstall } from './java.js';
import { withLock } from './lock.js';
import type { StackPaths } from './paths.js';
import { tailFile } from './readiness.js';
import type { StackVersions } from './versions.js';

interface Manifest {
  readonly pomSha256: string;
  readonly kafka: string;
  readonly apicurio: string;
  readonly kafkaJars: number;
  readonly downloadedAt: string;
}

function readManifest(file: string): Manifest | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Manifest;
  } catch {
    return undefined;
  }
}

function countJars(dir: string): number {
  try {
    return readdirSync(dir).filter((f) => f.endsWith('.jar')).length;
  } catch {
    return 0;
  }
}

/**
 * True when the cache holds exactly what the pom pins: the manifest written
 * after the last successful download names this pom's hash and every jar is
 * still there. This check is what lets a warm `stack:up` skip Maven entirely.
 */
export function isCacheComplete(paths: StackPaths, versions: StackVersions): boolean {
  const manifest = readManifest(paths.manifestFile);
  return (
    manifest !== undefined &&
    manifest.pomSha256 === versions.pomSha256 &&
    existsSync(path.join(paths.kafkaLibsDir, `kafka_2.13-${versions.kafka}.jar`)) &&
    countJars(paths.kafkaLibsDir) === manifest.kafkaJars &&
    existsSync(paths.apicurioJar)
  );
}

function runMaven(
  mvn: string,
  args: readonly string[],
  cwd: string,
  logFile: string,
  env: NodeJS.ProcessEnv,
  signal: AbortSignal | undefined,
): Promise<number> {
  const fd = openSync(logFile, 'w');
  return new Promise<number>((resolve, reject) => {
    const child = spawn(mvn, args, { cwd, stdio: ['ignore', fd, fd], env, signal, killSignal: 'SIGTERM' });
    closeSync(fd);
    child.once('error', (error) => {
      if (signal?.aborted) reject(new StackInterrupted(String(signal.reason ?? 'a signal')));
      else reject(new StackError(`cannot run Maven (${mvn}): ${error.message}`));
    });
    child.once('exit', (code) => {
      resolve(code ?? 1);
    });
  });
}

/**
 * Fills the cache from Maven Central through stack/pom.xml. Maven writes into
 * a fresh staging folder that then replaces the cached one, so jars of an older
 * version (or removed dependencies) never linger on the classpath.
 */
export async function ensureDownloads(
  config: StackConfig,
  paths: StackPaths,
  versions: StackVersions,
  tools: { readonly mvn: string; readonly java: JavaInstall },
  signal?: AbortSignal,
): Promise<{ downloaded: boolean; seconds: number }> {
  if (isCacheComplete(paths, versions)) return { downloaded: false, seconds: 0 };
  mkdirSync(paths.cacheDir, { recursive: true });
  return withLock(
    paths.cacheLockDir,
    'the download cache',
    15 * 60_000,
    async () => {
      // Someone else may have finished the download while we waited for the lock.
      if (isCacheComplete(paths, versions)) return { downloaded: false, seconds: 0 };
      const started = Date.now();
      const staging = path.join(paths.cacheDir, `.staging-${process.pid}`);
      rmSync(staging, { recursive: true, force: true });
      console.log(
        `downloading Kafka ${versions.kafka} and Apicurio Registry ${versions.apicurio} through Maven (first run only); log: ${paths.mavenLog}`,
      );
      const args = [
        '-B',
        '--no-transfer-progress',
        '-f',
        config.pomPath,
        'package',
        `-Dstack.cache=${staging}`,
      ];
      if (config.mavenRepo) args.push(`-Dmaven.repo.local=${config.mavenRepo}`);
      const env: NodeJS.ProcessEnv = { ...process.env };
      // Maven needs some JDK; hand it ours only when the environment names none.
      if (!env['JAVA_HOME'] && !findOnPath('java', env)) env['JAVA_HOME'] = tools.java.home;
      try {
        const code = await runMaven(tools.mvn, args, config.repoRoot, paths.mavenLog, env, signal);
        if (signal?.aborted) throw new StackInterrupted(String(signal.reason ?? 'a signal'));
        if (code !== 0) {
          throw new StackError(
            `Maven failed (exit ${code}) to download the stack; last lines of ${paths.mavenLog}:\n${tailFile(paths.mavenLog, 25)}`,
            `Maven Central must be reachable (check proxy settings in ~/.m2/settings.xml). ${DOCKER_ALTERNATIVE}`,
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
        const manifest: Manifest = {
          pomSha256: versions.pomSha256,
          kafka: versions.kafka,
          apicurio: versions.apicurio,
          kafkaJars,
          downloadedAt: new Date().toISOString(),
        };
        writeFileSync(paths.manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
        return { downloaded: true, seconds: (Date.now() - started) / 1000 };
      } finally {
        rmSync(staging, { recursive: true, force: true });
      }
    },
    signal,
  );
}
