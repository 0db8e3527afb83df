import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { loadConfig } from '../../src/config/load.js';
import { consumerGrants, grant, OPEN_GRANTS, producerGrants } from './acls.js';
import type { StackConfig, StackPaths } from './config.js';
import type { JavaInstall } from './java.js';
import { probeRegistryTls, type ProbeResult } from './readiness.js';
import {
  ensureCertificates,
  ensureCredentials,
  ensureScramUsers,
  SCRAM_MECHANISM,
  securePaths,
  type SecureCredentials,
  type SecureRole,
} from './secure.js';

/** Certificates and passwords exist before any part starts: the broker and the proxy read them at start. */
export function prepareSecureFiles(paths: Pick<StackPaths, 'stateDir'>): SecureCredentials {
  const secure = securePaths(paths);
  ensureCertificates(secure);
  return ensureCredentials(secure);
}

/**
 * Once the broker answers: its SCRAM users (once per state folder) and the ACLs (every start; creating
 * an existing ACL is a no-op). ANONYMOUS's wildcard ALLOW comes first, so no moment exists in which the
 * plaintext listener's clients are refused.
 */
export async function ensureSecureAccess(
  config: StackConfig,
  paths: StackPaths,
  env: NodeJS.ProcessEnv,
  java: Pick<JavaInstall, 'java'>,
  signal?: AbortSignal,
): Promise<void> {
  const secure = securePaths(paths);
  const credentials = ensureCredentials(secure);
  const brokers = `${config.host}:${config.kafkaPort}`;
  // Only the names the ACLs are about: the caller's env may hold client settings for another listener.
  const names = ['ORDERS_TOPIC', 'DLQ_TOPIC', 'STATS_TOPIC', 'KAFKA_GROUP_ID'] as const;
  const app = loadConfig('consumer', Object.fromEntries(names.map((n) => [n, env[n]])));
  const admin = new Kafka({
    clientId: 'stack-acls',
    brokers: [brokers],
    logLevel: logLevel.NOTHING,
    retry: { retries: 5 },
  }).admin();
  await admin.connect();
  try {
    await grant(admin, 'User:ANONYMOUS', OPEN_GRANTS);
    await grant(
      admin,
      `User:${credentials.users.producer.username}`,
      producerGrants({ ordersTopic: app.ordersTopic }),
    );
    await grant(admin, `User:${credentials.users.consumer.username}`, consumerGrants(app));
  } finally {
    await admin.disconnect();
  }
  await ensureScramUsers(config, paths, secure, credentials, java, signal);
}

/** The registry proxy answers `GET /subjects` over HTTPS, trusting only the stack's CA, with its basic auth. */
export function probeRegistryProxy(
  config: Pick<StackConfig, 'host' | 'registryTlsPort'>,
  paths: Pick<StackPaths, 'stateDir'>,
): Promise<ProbeResult> {
  const secure = securePaths(paths);
  const credentials = ensureCredentials(secure);
  return probeRegistryTls(secureRegistryUrl(config), secure.caCert, credentials.registry);
}

export function secureRegistryUrl(config: Pick<StackConfig, 'host' | 'registryTlsPort'>): string {
  return `https://${config.host}:${config.registryTlsPort}/apis/ccompat/v7`;
}

export function secureBrokerAddress(config: Pick<StackConfig, 'host' | 'kafkaSecurePort'>): string {
  return `${config.host}:${config.kafkaSecurePort}`;
}

/**
 * The environment a process of `role` needs to use the secured listener and the HTTPS registry: what
 * tests and `npm run stack:up -- --secure` hand out. It holds passwords: pass it to a child process,
 * never print it (secureEnvText does not include them).
 */
export function secureEnv(
  config: Pick<StackConfig, 'host' | 'kafkaSecurePort' | 'registryTlsPort'>,
  paths: Pick<StackPaths, 'stateDir'>,
  role: SecureRole,
): Record<string, string> {
  const secure = securePaths(paths);
  const credentials = ensureCredentials(secure);
  const user = credentials.users[role];
  return {
    KAFKA_BROKERS: secureBrokerAddress(config),
    KAFKA_TLS: 'true',
    KAFKA_TLS_CA_FILE: secure.caCert,
    KAFKA_SASL_MECHANISM: SCRAM_MECHANISM.toLowerCase(),
    KAFKA_SASL_USERNAME: user.username,
    KAFKA_SASL_PASSWORD: user.password,
    SCHEMA_REGISTRY_URL: secureRegistryUrl(config),
    SCHEMA_REGISTRY_CA_FILE: secure.caCert,
    SCHEMA_REGISTRY_USERNAME: credentials.registry.username,
    SCHEMA_REGISTRY_PASSWORD: credentials.registry.password,
  };
}

/** `stack:up -- --secure`: the settings as shell lines, each password as a command that reads it, never its value. */
export function secureEnvText(
  config: Pick<StackConfig, 'host' | 'kafkaSecurePort' | 'registryTlsPort'>,
  paths: Pick<StackPaths, 'stateDir'>,
): string {
  const secure = securePaths(paths);
  const file = JSON.stringify(path.resolve(secure.credentialsFile));
  const read = (key: string) => `"$(node -p 'require(${file}).${key}')"`;
  const lines = (role: SecureRole) => {
    const env = secureEnv(config, paths, role);
    return Object.entries(env).map(([k, v]) =>
      k === 'KAFKA_SASL_PASSWORD'
        ? `export ${k}=${read(`users.${role}.password`)}`
        : k === 'SCHEMA_REGISTRY_PASSWORD'
          ? `export ${k}=${read('registry.password')}`
          : `export ${k}=${v}`,
    );
  };
  return [
    `# secured listener: SASL_SSL (${SCRAM_MECHANISM}) on ${secureBrokerAddress(config)}; registry over HTTPS with basic auth`,
    '# the consumer (its own principal and ACLs):',
    ...lines('consumer'),
    '# the producer: the same lines with its principal:',
    `export KAFKA_SASL_USERNAME=${ensureCredentials(secure).users.producer.username} KAFKA_SASL_PASSWORD=${read('users.producer.password')}`,
  ].join('\n');
}
