import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import type { StackConfig } from './config.js';
import { DOCKER_ALTERNATIVE, StackError } from './errors.js';

/** Apicurio Registry 3.x is compiled for Java 21 (class file 65); the Kafka 4 broker alone would run on 17. */
export const MIN_JAVA = 21;

export interface JavaInstall {
  readonly java: string;
  readonly home: string;
  readonly major: number;
  readonly version: string;
  /** Where it was found: STACK_JAVA_HOME, JAVA_HOME, PATH or a search folder. */
  readonly source: string;
}

/** The major version from a version string: "1.8.0_392" → 8, "17.0.15" → 17, "25-ea" → 25. */
export function majorOfVersion(version: string): number | undefined {
  const match = /^(\d+)(?:\.(\d+))?/.exec(version.trim());
  if (!match?.[1]) return undefined;
  const first = Number(match[1]);
  return first === 1 && match[2] ? Number(match[2]) : first;
}

/** The version from `java -version` output, e.g. `openjdk version "17.0.15" 2025-04-15`. */
export function parseJavaVersionOutput(output: string): string | undefined {
  return /version "([^"]+)"/.exec(output)?.[1];
}

/** The version from a JDK's `release` file (JAVA_VERSION="25.0.1"); reading it needs no JVM start. */
export function parseReleaseFile(text: string): string | undefined {
  return /^JAVA_VERSION="?([^"\n]+)"?$/m.exec(text)?.[1];
}

/** Finds an executable on PATH, like `command -v`. */
export function findOnPath(command: string, pathVar: string | undefined): string | undefined {
  for (const dir of (pathVar ?? '').split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here.
    }
  }
  return undefined;
}

function probe(java: string, source: string): JavaInstall | undefined {
  let real: string;
  try {
    accessSync(java, constants.X_OK);
    real = realpathSync(java);
  } catch {
    return undefined;
  }
  const home = path.dirname(path.dirname(real));
  let version: string | undefined;
  try {
    version = parseReleaseFile(readFileSync(path.join(home, 'release'), 'utf8'));
  } catch {
    const result = spawnSync(real, ['-version'], { encoding: 'utf8', timeout: 15_000 });
    version = parseJavaVersionOutput(`${result.stderr}${result.stdout}`);
  }
  const major = version === undefined ? undefined : majorOfVersion(version);
  return version === undefined || major === undefined
    ? undefined
    : { java: real, home, major, version, source };
}

/** Every JDK in sight: STACK_JAVA_HOME alone when set, else JAVA_HOME, PATH, then the search folders. */
export function discoverJavas(
  config: Pick<StackConfig, 'javaHome' | 'jdkSearchDirs'>,
  env: NodeJS.ProcessEnv,
): JavaInstall[] {
  const candidates: [string, string][] = [];
  if (config.javaHome) candidates.push([path.join(config.javaHome, 'bin', 'java'), 'STACK_JAVA_HOME']);
  else {
    if (env['JAVA_HOME']) candidates.push([path.join(env['JAVA_HOME'], 'bin', 'java'), 'JAVA_HOME']);
    const onPath = findOnPath('java', env['PATH']);
    if (onPath) candidates.push([onPath, 'PATH']);
    for (const dir of config.jdkSearchDirs) {
      let entries: string[] = [];
      try {
        entries = readdirSync(dir);
      } catch {
        // No such folder.
      }
      for (const entry of entries) {
        for (const home of [path.join(dir, entry), path.join(dir, entry, 'Contents', 'Home')]) {
          if (existsSync(path.join(home, 'bin', 'java')))
            candidates.push([path.join(home, 'bin', 'java'), dir]);
        }
      }
    }
  }
  const found = candidates.map(([java, source]) => probe(java, source)).filter((j) => j !== undefined);
  return found.filter((j, i) => found.findIndex((k) => k.java === j.java) === i);
}

/**
 * The JDK to run the stack with: STACK_JAVA_HOME if it is new enough (never another one instead), else
 * JAVA_HOME or the `java` on PATH if new enough, else the newest found in the search folders.
 */
export function chooseJava(
  found: readonly JavaInstall[],
  minMajor: number,
  explicitHome: string | undefined,
): JavaInstall | undefined {
  const adequate = found.filter((j) => j.major >= minMajor);
  if (explicitHome) return adequate.find((j) => j.source === 'STACK_JAVA_HOME');
  return (
    adequate.find((j) => j.source === 'JAVA_HOME' || j.source === 'PATH') ??
    [...adequate].sort((a, b) => b.major - a.major)[0]
  );
}

/** Java 21+ and Maven, checked before anything else; one message lists everything missing (exit 2). */
export function checkPrerequisites(
  config: Pick<StackConfig, 'javaHome' | 'jdkSearchDirs'>,
  env: NodeJS.ProcessEnv = process.env,
): { java: JavaInstall; mvn: string } {
  const found = discoverJavas(config, env);
  const java = chooseJava(found, MIN_JAVA, config.javaHome);
  const mavenHome = env['MAVEN_HOME'] ?? env['M2_HOME'];
  const mvn =
    findOnPath('mvn', env['PATH']) ??
    (mavenHome ? findOnPath('mvn', path.join(mavenHome, 'bin')) : undefined);
  if (java && mvn) return { java, mvn };
  const seen =
    found.map((j) => `Java ${j.version} at ${j.home} (via ${j.source})`).join('; ') || 'no Java at all';
  const problems = [
    java ? undefined : `Java ${MIN_JAVA} or newer is required (Apicurio Registry 3 needs 21); found ${seen}.`,
    mvn ? undefined : 'Maven (`mvn`) is required to download Kafka and Apicurio; it is not on PATH.',
  ].filter(Boolean);
  const hints = [
    java
      ? undefined
      : `Install a JDK ${MIN_JAVA}+ (for example Temurin 21 or 25) and point STACK_JAVA_HOME at it.`,
    mvn ? undefined : 'Install Maven 3.8+ (for example `apt-get install maven`).',
    DOCKER_ALTERNATIVE,
  ].filter(Boolean);
  throw new StackError(`missing prerequisites:\n  - ${problems.join('\n  - ')}`, hints.join('\n'), 2);
}

/**
 * JVM options for a dynamic class-data-sharing archive (JDK 19+): the first clean exit writes it, later
 * starts map the classes instead of parsing the jars again (about a quarter less start-up CPU).
 */
export function cdsArgs(java: Pick<JavaInstall, 'major' | 'version'>, dir: string, name: string): string[] {
  if (java.major < 19) return [];
  return [`-XX:SharedArchiveFile=${dir}/${name}-java${java.version}.jsa`, '-XX:+AutoCreateSharedArchive'];
}
