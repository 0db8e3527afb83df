import { SchemaRegistry, SchemaType, COMPATIBILITY } from '@kafkajs/confluent-schema-registry';
import type { AppConfig } from '../../config/load.js';
import { LOGICAL_TYPES } from './decimal-type.js';

/** One quick internal retry; our own retry policy owns the longer story. */
const CLIENT_RETRY = { retries: 1, initialRetryTimeInSecs: 0.1, maxRetryTimeInSecs: 1 } as const;

/** The longest one registry lookup can take: every try runs into the timeout, plus the pauses between. */
export function longestRegistryCallMs(timeoutMs: number): number {
  return (
    (CLIENT_RETRY.retries + 1) * timeoutMs + CLIENT_RETRY.retries * CLIENT_RETRY.maxRetryTimeInSecs * 1000
  );
}

/** The registry client with our logical types, auth and a per-call timeout. */
export function createSchemaRegistry(config: AppConfig): SchemaRegistry {
  const auth =
    config.schemaRegistryUsername && config.schemaRegistryPassword
      ? { username: config.schemaRegistryUsername, password: config.schemaRegistryPassword }
      : undefined;
  return new SchemaRegistry(
    {
      host: config.schemaRegistryUrl,
      clientId: config.clientId,
      ...(auth ? { auth } : {}),
      retry: { ...CLIENT_RETRY },
      middlewares: [timeoutMiddleware(config.registryTimeoutMs)],
    },
    { [SchemaType.AVRO]: { logicalTypes: LOGICAL_TYPES } },
  );
}

type RegistryMiddleware = NonNullable<ConstructorParameters<typeof SchemaRegistry>[0]['middlewares']>[number];

/** The registry's HTTP client (mappersmith) has no default timeout; a hung registry must count as transient. */
function timeoutMiddleware(timeoutMs: number): RegistryMiddleware {
  return () => ({
    prepareRequest: (next) => next().then((request) => request.enhance({ timeout: timeoutMs })),
  });
}

export { COMPATIBILITY };
