import { SETTINGS, type SettingKey, type SettingValues } from './settings.js';
import { ConfigError } from '../errors.js';
import { otelProblems } from './otel.js';
import type { RetryPolicy } from '../domain/retry-policy.js';
import { timeBudgetProblems } from './time-budget.js';
import { redriveTopicFor } from '../topics.js';
import { redactText, registerSecret } from '../redact.js';

export type Role = 'consumer' | 'producer';

export type AppConfig = Readonly<
  Omit<SettingValues, 'httpPort' | 'dlqRedriveTopic'> & {
    httpPort: number;
    dlqRedriveTopic: string;
    role: Role;
    /** OTEL_* values that could not be used while tracing is off: logged once, at startup. */
    otelWarnings: readonly string[];
  }
>;

const DEFAULT_HTTP_PORT: Record<Role, number> = { consumer: 9464, producer: 9465 };

/**
 * Parses every setting at once so that one error lists every bad variable,
 * instead of making the operator fix them one restart at a time.
 */
export function loadConfig(
  role: Role,
  env: Readonly<Record<string, string | undefined>> = process.env,
): AppConfig {
  const problems: string[] = [];
  /** Problems of OTEL_* settings: they stop startup only when tracing is on (otel.ts). */
  const otelInvalid: string[] = [];
  const values: Partial<Record<SettingKey, unknown>> = {};

  for (const [key, setting] of Object.entries(SETTINGS) as [SettingKey, (typeof SETTINGS)[SettingKey]][]) {
    const raw = env[setting.env];
    const input = raw === undefined || raw.trim() === '' ? undefined : raw.trim();
    // Registered before anything can fail, so even the error below and every later log line hide it.
    if (setting.secret) registerSecret(input, setting.env);
    const parsed = setting.schema.safeParse(input);
    if (parsed.success) {
      values[key] = parsed.data;
    } else {
      // A URL given with user:password@ is refused, and shown without them.
      const shown = setting.secret ? '<redacted>' : redactText(JSON.stringify(raw));
      const reason = parsed.error.issues.map((i) => i.message).join('; ');
      if (setting.env.startsWith('OTEL_')) {
        otelInvalid.push(`${setting.env}=${shown}: ${reason}`);
        values[key] = setting.schema.safeParse(undefined).data;
      } else problems.push(`${setting.env}=${shown}: ${reason}`);
    }
  }

  const v = values as SettingValues;
  registerDerivedSecrets(v, env);
  const otelEndpointSet = ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'].some(
    (name) => (env[name]?.trim() ?? '') !== '',
  );
  const otel = otelProblems(v, otelEndpointSet, otelInvalid);
  problems.push(...otel.problems);
  if (problems.length === 0) {
    if (v.saslMechanism !== 'none' && (!v.saslUsername || !v.saslPassword)) {
      problems.push(
        `KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD: both are required when KAFKA_SASL_MECHANISM=${v.saslMechanism}`,
      );
    }
    if (v.saslMechanism !== 'none' && !v.tls && !v.saslAllowPlaintext) {
      problems.push(
        `KAFKA_SASL_MECHANISM=${v.saslMechanism} without KAFKA_TLS=true: the credentials would cross the network unencrypted. Set KAFKA_TLS=true, or KAFKA_SASL_ALLOW_PLAINTEXT=true for a development cluster`,
      );
    }
    if (Boolean(v.schemaRegistryCertFile) !== Boolean(v.schemaRegistryKeyFile)) {
      problems.push('SCHEMA_REGISTRY_CERT_FILE and SCHEMA_REGISTRY_KEY_FILE: set both or neither');
    }
    if (Boolean(v.schemaRegistryUsername) !== Boolean(v.schemaRegistryPassword)) {
      problems.push('SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD: set both or neither');
    }
    if (
      v.schemaRegistryUsername &&
      v.schemaRegistryPassword &&
      /^http:/i.test(v.schemaRegistryUrl) &&
      !v.schemaRegistryAllowPlaintextAuth
    ) {
      problems.push(
        `SCHEMA_REGISTRY_USERNAME/PASSWORD with SCHEMA_REGISTRY_URL=${redactText(v.schemaRegistryUrl)}: basic auth over plain HTTP sends the password readable to anyone on the path. Use an https:// URL, or SCHEMA_REGISTRY_ALLOW_PLAINTEXT_AUTH=true for a development registry`,
      );
    }
    const redriveTopic = v.dlqRedriveTopic ?? redriveTopicFor(v.dlqTopic);
    if (new Set([v.ordersTopic, v.dlqTopic, v.statsTopic, redriveTopic]).size !== 4) {
      problems.push(
        'ORDERS_TOPIC, DLQ_TOPIC, STATS_TOPIC and DLQ_REDRIVE_TOPIC: must be four different topics',
      );
    }
    if (v.tlsCaFile && !v.tls) {
      problems.push('KAFKA_TLS_CA_FILE: set KAFKA_TLS=true to use it');
    }
    if (v.dependencyBackoffMaxMs < v.dependencyBackoffMs) {
      problems.push(
        `DEPENDENCY_BACKOFF_MAX_MS=${v.dependencyBackoffMaxMs}: must not be below DEPENDENCY_BACKOFF_MS=${v.dependencyBackoffMs}`,
      );
    }
    if (role === 'consumer') problems.push(...timeBudgetProblems(v));
  }

  if (problems.length > 0) throw new ConfigError(problems);

  return Object.freeze({
    ...v,
    httpPort: v.httpPort ?? DEFAULT_HTTP_PORT[role],
    dlqRedriveTopic: v.dlqRedriveTopic ?? redriveTopicFor(v.dlqTopic),
    role,
    otelWarnings: otel.warnings,
  });
}

/** The retry settings as the retry policy reads them. */
export function retryPolicyFrom(
  config: Pick<
    SettingValues,
    | 'maxRetries'
    | 'retryBackoffMs'
    | 'retryBackoffStrategy'
    | 'retryBackoffMaxMs'
    | 'retryJitter'
    | 'dependencyBackoffMs'
    | 'dependencyBackoffMaxMs'
  >,
): RetryPolicy {
  return {
    maxRetries: config.maxRetries,
    backoffMs: config.retryBackoffMs,
    strategy: config.retryBackoffStrategy,
    maxBackoffMs: config.retryBackoffMaxMs,
    jitter: config.retryJitter,
    waitBackoffMs: config.dependencyBackoffMs,
    waitMaxBackoffMs: config.dependencyBackoffMaxMs,
  };
}

/**
 * Secrets that are not a setting's value but travel with it: the registry's Basic token (base64 of
 * user:password, in an Authorization header that an HTTP library may echo) and the values of the OTLP
 * exporter's headers (usually an API key or a bearer token), decoded and as given.
 */
function registerDerivedSecrets(
  v: Pick<SettingValues, 'schemaRegistryUsername' | 'schemaRegistryPassword'>,
  env: Readonly<Record<string, string | undefined>>,
): void {
  if (v.schemaRegistryUsername && v.schemaRegistryPassword) {
    registerSecret(Buffer.from(`${v.schemaRegistryUsername}:${v.schemaRegistryPassword}`).toString('base64'));
  }
  for (const name of ['OTEL_EXPORTER_OTLP_HEADERS', 'OTEL_EXPORTER_OTLP_TRACES_HEADERS']) {
    for (const pair of (env[name] ?? '').split(',')) {
      const at = pair.indexOf('=');
      if (at < 0) continue;
      const value = pair.slice(at + 1).trim();
      const decoded = decodeSafe(value);
      registerSecret(value);
      registerSecret(decoded);
      // "Bearer <token>", "Basic <token>": the token alone may be logged too.
      registerSecret(/^\S+\s+(\S+)$/.exec(decoded)?.[1]);
    }
  }
}

/** Percent-decoded (as the OTLP exporter reads header values), or as given when it is not valid encoding. */
function decodeSafe(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
