import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';

interface Response<T> {
  data(): T;
}

/**
 * The REST resources of the registry client that its public methods do not reach as we need them:
 * a subject's own compatibility level, looking a schema up without losing the 404's status,
 * registering without the client imposing a compatibility level first, and a schema by id as the
 * registry answered it, before anything parses it. They go through the same
 * client, so auth, timeout and retry middlewares apply as for every other call.
 */
export interface RegistrySubjectApi {
  config(params: { subject: string }): Promise<Response<{ compatibilityLevel?: string }>>;
  updateConfig(params: { subject: string; body: { compatibility: string } }): Promise<Response<unknown>>;
  registered(params: { subject: string; body: { schema: string } }): Promise<Response<{ id: number }>>;
  register(params: { subject: string; body: { schema: string } }): Promise<Response<{ id: number }>>;
  /** GET /subjects/{subject}/versions/{version}: a referenced schema, unparsed. */
  version(params: { subject: string; version: number }): Promise<Response<unknown>>;
}

/** GET /schemas/ids/{id}: what the registry answers, unparsed (a proxy in front of it may answer anything). */
export interface RegistrySchemaApi {
  find(params: { id: number }): Promise<Response<unknown>>;
}

/**
 * @kafkajs/confluent-schema-registry keeps its REST client (mappersmith, with the resources above) in
 * a field its typings mark private. A unit test checks that every resource is still there, so an
 * upgrade that moves them fails the tests, not production.
 */
export function registryApi(registry: SchemaRegistry): {
  Subject: RegistrySubjectApi;
  Schema: RegistrySchemaApi;
} {
  const api = (
    registry as unknown as {
      api?: { Subject?: Partial<RegistrySubjectApi>; Schema?: Partial<RegistrySchemaApi> };
    }
  ).api;
  const subject = api?.Subject;
  for (const name of ['config', 'updateConfig', 'registered', 'register', 'version'] as const) {
    if (typeof subject?.[name] !== 'function') {
      throw new TypeError(`the schema registry client has no Subject.${name} resource (library changed?)`);
    }
  }
  if (typeof api?.Schema?.find !== 'function') {
    throw new TypeError('the schema registry client has no Schema.find resource (library changed?)');
  }
  return { Subject: subject as RegistrySubjectApi, Schema: api.Schema as RegistrySchemaApi };
}
