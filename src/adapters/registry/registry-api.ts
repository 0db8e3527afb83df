import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';

interface Response<T> {
  data(): T;
}

/**
 * The REST resources of the registry client that its public methods do not reach as we need them:
 * a subject's own compatibility level, looking a schema up without losing the 404's status, and
 * registering without the client imposing a compatibility level first. They go through the same
 * client, so auth, timeout and retry middlewares apply as for every other call.
 */
export interface RegistrySubjectApi {
  config(params: { subject: string }): Promise<Response<{ compatibilityLevel?: string }>>;
  updateConfig(params: { subject: string; body: { compatibility: string } }): Promise<Response<unknown>>;
  registered(params: { subject: string; body: { schema: string } }): Promise<Response<{ id: number }>>;
  register(params: { subject: string; body: { schema: string } }): Promise<Response<{ id: number }>>;
}

/**
 * @kafkajs/confluent-schema-registry keeps its REST client (mappersmith, with the resources above) in
 * a field its typings mark private. A unit test checks that every resource is still there, so an
 * upgrade that moves them fails the tests, not production.
 */
export function registryApi(registry: SchemaRegistry): { Subject: RegistrySubjectApi } {
  const api = (registry as unknown as { api?: { Subject?: Partial<RegistrySubjectApi> } }).api;
  const subject = api?.Subject;
  for (const name of ['config', 'updateConfig', 'registered', 'register'] as const) {
    if (typeof subject?.[name] !== 'function') {
      throw new TypeError(`the schema registry client has no Subject.${name} resource (library changed?)`);
    }
  }
  return { Subject: subject as RegistrySubjectApi };
}
