import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';

/** A registry error as the client raises it: an Error with the HTTP status. */
export const registryError = (status: number, message = `HTTP ${status}`): Error =>
  Object.assign(new Error(message), { status });

export interface StandInOptions {
  /** Writer schemas by id, as the registry stores them (objects are sent as JSON strings). */
  readonly schemas?: Readonly<Record<number, unknown>>;
  /** The latest schema id of each subject. */
  readonly latest?: Readonly<Record<string, number>>;
  /** Replaces the answer for a schema id: any value (what a proxy might answer), or a rejection. */
  readonly answer?: (id: number) => Promise<unknown>;
  /** Subject versions by "subject@version", as the registry answers them (what references name). */
  readonly versions?: Readonly<Record<string, unknown>>;
  /** Replaces the answer for a subject version. */
  readonly answerVersion?: (subject: string, version: number) => Promise<unknown>;
}

/**
 * The part of the registry client the codec uses, answering from memory: for unit tests of
 * decoding, where HTTP is not the subject. `calls` lists the schema ids fetched, in order, and
 * `versionCalls` the subject versions ("subject@version").
 */
export function registryStandIn(options: StandInOptions = {}): {
  registry: SchemaRegistry;
  calls: number[];
  versionCalls: string[];
} {
  const calls: number[] = [];
  const versionCalls: string[] = [];
  const data = <T>(value: T) => ({ data: () => value });
  const find = async ({ id }: { id: number }) => {
    calls.push(id);
    if (options.answer) return data(await options.answer(id));
    const schema = options.schemas?.[id];
    if (schema === undefined) throw registryError(404, `Schema ${id} not found.`);
    return data({ schema: typeof schema === 'string' ? schema : JSON.stringify(schema) });
  };
  const version = async ({ subject, version: v }: { subject: string; version: number }) => {
    versionCalls.push(`${subject}@${v}`);
    if (options.answerVersion) return data(await options.answerVersion(subject, v));
    const answer = options.versions?.[`${subject}@${v}`];
    if (answer === undefined) throw registryError(404, `Subject '${subject}' not found.`);
    return data(answer);
  };
  const registry = {
    getLatestSchemaId: (subject: string) => {
      const id = options.latest?.[subject];
      return id === undefined
        ? Promise.reject(registryError(404, `Subject '${subject}' not found.`))
        : Promise.resolve(id);
    },
    cache: { clear: () => undefined },
    api: {
      Schema: { find },
      Subject: {
        config: () => Promise.resolve(data({ compatibilityLevel: 'BACKWARD' })),
        updateConfig: () => Promise.resolve(data({})),
        registered: () => Promise.resolve(data({ id: 1 })),
        register: () => Promise.resolve(data({ id: 1 })),
        version,
      },
    },
  } as unknown as SchemaRegistry;
  return { registry, calls, versionCalls };
}
