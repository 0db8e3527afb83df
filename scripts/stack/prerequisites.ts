import path from 'node:path';
import type { StackConfig } from './config.js';
import { DOCKER_ALTERNATIVE, StackError } from './errors.js';
import { REGISTRY_MIN_JAVA, chooseJava, discoverJavas, findOnPath, type JavaInstall } from './java.js';

export interface Prerequisites {
  readonly java: JavaInstall;
  readonly mvn: string;
}

function describeFound(found: readonly JavaInstall[]): string {
  if (found.length === 0)
    return 'no Java at all (looked at STACK_JAVA_HOME, JAVA_HOME, PATH and the JDK folders)';
  return found.map((j) => `Java ${j.version} at ${j.home} (via ${j.source})`).join('; ');
}

/**
 * Checks Java and Maven before anything else happens, and reports both
 * problems at once so nobody has to fix them one run at a time.
 */
export function checkPrerequisites(
  config: StackConfig,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Prerequisites {
  const found = discoverJavas({ explicitHome: config.javaHome, env, searchDirs: config.jdkSearchDirs });
  const java = chooseJava(found, REGISTRY_MIN_JAVA, config.javaHome);
  const mavenHome = env['MAVEN_HOME'] ?? env['M2_HOME'];
  const mvn =
    findOnPath('mvn', env) ??
    (mavenHome ? findOnPath('mvn', { PATH: path.join(mavenHome, 'bin') }) : undefined);

  const problems: string[] = [];
  if (!java) {
    problems.push(
      config.javaHome
        ? `STACK_JAVA_HOME=${config.javaHome} is not a JDK ${REGISTRY_MIN_JAVA} or newer (found: ${describeFound(found)}).`
        : `Java ${REGISTRY_MIN_JAVA} or newer is required (Apicurio Registry 3 needs 21, the Kafka 4 broker 17); found ${describeFound(found)}.`,
    );
  }
  if (!mvn) problems.push('Maven (`mvn`) is required to download Kafka and Apicurio; it is not on PATH.');
  if (!java || !mvn) {
    throw new StackError(
      `missing prerequisites:\n  - ${problems.join('\n  - ')}`,
      [
        !java
          ? `Install a JDK ${REGISTRY_MIN_JAVA}+ (for example Temurin 21 or 25, or openjdk-21-jdk-headless where your distribution has it) and point STACK_JAVA_HOME at it.`
          : undefined,
        !mvn ? 'Install Maven 3.8+ (for example `apt-get install maven`).' : undefined,
        DOCKER_ALTERNATIVE,
      ]
        .filter(Boolean)
        .join('\n'),
      2,
    );
  }
  return { java, mvn };
}
