import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import {
  CompatibilityMismatchError,
  SchemaIncompatibleError,
  SchemaNotRegisteredError,
} from '../../errors.js';
import { registryApi, type RegistrySubjectApi } from './registry-api.js';
import { registryCallFailed, registryStatus } from './registry-errors.js';

/** Compatibility levels of the Confluent REST API. */
export type CompatibilityLevel =
  'BACKWARD' | 'BACKWARD_TRANSITIVE' | 'FORWARD' | 'FORWARD_TRANSITIVE' | 'FULL' | 'FULL_TRANSITIVE' | 'NONE';

export interface RegistrationOptions {
  /** false: only look the schema up, for registries where only CI or a platform team registers. */
  readonly autoRegister: boolean;
  /** The level the subject must have, set when it differs; undefined: the subject's level is left alone. */
  readonly compatibility: CompatibilityLevel | undefined;
}

/**
 * The id of `schema` under `subject`, as a producer needs it, on a registry it may not own:
 * 1. with a level configured, the subject is given it (a refusal is a compatibility mismatch);
 * 2. when the subject already holds the schema, whoever registered it, its id is used as is;
 * 3. otherwise, when registering is allowed, it is registered as a new version, and the registry
 *    decides under the subject's own level (a refusal is an incompatible schema).
 * It never changes a subject's level unless one is configured: a subject that another tool set up,
 * with any level, works.
 */
export async function registerSchema(
  registry: SchemaRegistry,
  subject: string,
  schema: string,
  options: RegistrationOptions,
): Promise<number> {
  const { Subject } = registryApi(registry);
  if (options.compatibility !== undefined) await requireLevel(Subject, subject, options.compatibility);
  const existing = await lookUp(Subject, subject, schema);
  if (existing !== undefined) return existing;
  if (!options.autoRegister) {
    throw new SchemaNotRegisteredError(
      `the order schema is not registered under ${subject}, and SCHEMA_REGISTRY_AUTO_REGISTER=false: register it first (for example from CI)`,
    );
  }
  try {
    return (await Subject.register({ subject, body: { schema } })).data().id;
  } catch (error) {
    const status = registryStatus(error);
    if (status === 409 || status === 422) {
      const why =
        status === 409 ? 'it breaks the compatibility level of the subject' : 'it is not a valid schema';
      throw new SchemaIncompatibleError(
        `the registry refused to register the order schema under ${subject} (HTTP ${status}: ${why}): ${messageOf(error)}`,
        { cause: error },
      );
    }
    throw registryCallFailed(`registering the order schema under ${subject}`, error);
  }
}

/** The id of `schema` under `subject`, or undefined when the subject or the schema is not there. */
async function lookUp(
  Subject: RegistrySubjectApi,
  subject: string,
  schema: string,
): Promise<number | undefined> {
  try {
    return (await Subject.registered({ subject, body: { schema } })).data().id;
  } catch (error) {
    // 40401: no such subject; 40403: the subject does not hold this schema.
    if (registryStatus(error) === 404) return undefined;
    throw registryCallFailed(`looking up the order schema under ${subject}`, error);
  }
}

async function requireLevel(
  Subject: RegistrySubjectApi,
  subject: string,
  level: CompatibilityLevel,
): Promise<void> {
  let current: string | undefined;
  try {
    current = (await Subject.config({ subject })).data().compatibilityLevel?.toUpperCase();
  } catch (error) {
    // Confluent answers 404 (40408) for a subject without a level of its own.
    if (registryStatus(error) !== 404)
      throw registryCallFailed(`reading the compatibility of ${subject}`, error);
  }
  if (current === level) return;
  try {
    await Subject.updateConfig({ subject, body: { compatibility: level } });
  } catch (error) {
    const status = registryStatus(error);
    // The registry answered and said no: not allowed (403, 405), a level it does not take (422), or a
    // conflict with its state (409: Apicurio while its storage is read-only). Waiting would not help.
    if (status === 403 || status === 405 || status === 409 || status === 422) {
      throw new CompatibilityMismatchError(
        `${subject} has compatibility ${current ?? '(none of its own)'}, SCHEMA_REGISTRY_COMPATIBILITY asks for ${level}, ` +
          `and the registry refused to change it (HTTP ${status}): ${messageOf(error)}`,
        { cause: error },
      );
    }
    throw registryCallFailed(`setting the compatibility of ${subject} to ${level}`, error);
  }
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));
