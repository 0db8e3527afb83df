import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import type { AppConfig } from '../../config/load.js';
import { REGISTRY_CLIENT_RETRY } from '../../config/time-budget.js';
import { LOGICAL_TYPES } from './decimal-type.js';
import { registryAgent, type RegistryTlsSettings } from './registry-tls.js';

/** What the registry client needs of the configuration; without credentials, it sends none. */
export type RegistryClientConfig = Pick<AppConfig, 'schemaRegistryUrl' | 'registryTimeoutMs' | 'clientId'> &
  Partial<Pick<AppConfig, 'schemaRegistryUsername' | 'schemaRegistryPassword'>> &
  RegistryTlsSettings;

/** The registry client with our logical types, auth and a per-call timeout. */
export function createSchemaRegistry(config: RegistryClientConfig): SchemaRegistry {
  const auth =
    config.schemaRegistryUsername && config.schemaRegistryPassword
      ? { username: config.schemaRegistryUsername, password: config.schemaRegistryPassword }
      : undefined;
  const agent = config.schemaRegistryUrl.startsWith('https:') ? registryAgent(config) : undefined;
  return new SchemaRegistry(
    {
      host: config.schemaRegistryUrl,
      ...(agent ? { agent } : {}),
      clientId: config.clientId,
      ...(auth ? { auth } : {}),
      retry: { ...REGISTRY_CLIENT_RETRY },
      middlewares: [timeoutMiddleware(config.registryTimeoutMs)],
    },
    { [SchemaType.AVRO]: { logicalTypes: LOGICAL_TYPES } },
  );
}

type RegistryMiddleware = NonNullable<ConstructorParameters<typeof SchemaRegistry>[0]['middlewares']>[number];

/** The registry's HTTP client (mappersmith) has no default timeout; a hung registry must count as down. */
function timeoutMiddleware(timeoutMs: number): RegistryMiddleware {
  return () => ({
    prepareRequest: (next) => next().then((request) => request.enhance({ timeout: timeoutMs })),
  });
}
