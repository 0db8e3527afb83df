import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';

/** Apicurio Registry 3.x is compiled for Java 21 (class file 65); Kafka 4.x brokers need 17. */
export const REGISTRY_MIN_JAVA = 21;

export interface JavaInstall {
  readonly java: string;
  readonly home: string;
  readonly major: number;
  readonly version: string;
  /** Why this one was looked at: STACK_JAVA_HOME, JAVA_HOME, PATH or a search folder. */
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

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(command: string, envPath: string | undefined): string | undefined {
  for (const dir of (envPath ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, command);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** Finds an executable on PATH, like `command -v`. */
export function findOnPath(
  command: string,
  env: Readonly<Record<string, string | undefined>>,
): string | undefined {
  return onPath(command, env['PATH']);
}

function probe(java: string, source: string): JavaInstall | undefined {
  if (!isExecutable(java)) return undefined;
  let real: string;
  try {
    real = realpathSync(java);
  } catch {
    return undefined;
  }
  const home = path.dirname(path.dirname(real));
  let version: string | undefined;
  try {
    version = parseReleaseFile(readFileSync(path.join(home, 'release'), 'utf8'));
  } catch {
    // No release file (some distributions drop it): ask the JVM itself.
  }
  if (version === undefined) {
    const result = spawnSync(real, ['-version'], { encoding: 'utf8', timeout: 15_000 });
    version = parseJavaVersionOutput(`${result.stderr}${result.stdout}`);
  }
  const major = version === undefined ? undefined : majorOfVersion(version);
  if (version === undefined || major === undefined) return undefined;
  return { java: real, home, major, version, source };
}

function homesIn(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory() || e.isSymbolicLink())
      .flatMap((e) => [path.join(dir, e.name), path.join(dir, e.name, 'Contents', 'Home')])
      .filter((home) => existsSync(path.join(home, 'bin', 'java')));
  } catch {
    return [];
  }
}

export interface JavaSearch {
  readonly explicitHome: string | undefined;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly searchDirs: readonly string[];
}

/** Every JDK we can see, in the order we prefer them, without duplicates. */
export function discoverJavas({ explicitHome, env, searchDirs }: JavaSearch): JavaInstall[] {
  const candidates: [string, string][] = [];
  if (explicitHome) candidates.push([path.join(explicitHome, 'bin', 'java'), 'STACK_JAVA_HOME']);
  const javaHome = env['JAVA_HOME'];
  if (javaHome) candidates.push([path.join(javaHome, 'bin', 'java'), 'JAVA_HOME']);
  const fromPath = findOnPath('java', env);
  if (fromPath) candidates.push([fromPath, 'PATH']);
  for (const dir of searchDirs) {
    for (const home of homesIn(dir).sort().reverse()) candidates.push([path.join(home, 'bin', 'java'), dir]);
  }

  const seen = new Set<string>();
  const found: JavaInstall[] = [];
  for (const [java, source] of candidates) {
    const install = probe(java, source);
    if (!install || seen.has(install.java)) continue;
    seen.add(install.java);
    found.push(install);
  }
  return found;
}

/**
 * The JDK to run the stack with: an explicit STACK_JAVA_HOME if it is new enough,
 * otherwise the first adequate one in preference order (JAVA_HOME, PATH, then
 * the newest in the search folders).
 */
export function chooseJava(
  found: readonly JavaInstall[],
  minMajor: number,
  explicitHome: string | undefined,
): JavaInstall | undefined {
  if (explicitHome) {
    const explicit = found.find((j) => j.source === 'STACK_JAVA_HOME');
    return explicit && explicit.major >= minMajor ? explicit : undefined;
  }
  const adequate = found.filter((j) => j.major >= minMajor);
  const preferred = adequate.find((j) => j.source === 'JAVA_HOME' || j.source === 'PATH');
  if (preferred) return preferred;
  return [...adequate].sort((a, b) => b.major - a.major)[0];
}

/**
 * JVM options for a dynamic class-data-sharing archive (JDK 19+): the first
 * clean exit writes it, later starts map the classes instead of parsing the
 * jars again, which saves about a quarter of the start-up CPU. The archive is
 * per JDK build, and a stale one is quietly recreated.
 */
export function cdsArgs(java: Pick<JavaInstall, 'major' | 'version'>, dir: string, name: string): string[] {
  if (java.major < 19) return [];
  return [`-XX:SharedArchiveFile=${dir}/${name}-java${java.version}.jsa`, '-XX:+AutoCreateSharedArchive'];
}
