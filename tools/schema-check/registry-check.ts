/**
 * The online half of `npm run schema:check`: asks the registry itself, through the Confluent REST API
 * (Confluent, or Apicurio's ccompat), whether a schema may become the next version of a subject, under
 * the level the registry applies when the producer registers it.
 */

export interface RegistryTarget {
  /** SCHEMA_REGISTRY_URL, without a trailing slash. */
  readonly url: string;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  /** SCHEMA_REGISTRY_TIMEOUT_MS, per call. */
  readonly timeoutMs: number;
}

export interface Level {
  readonly level: string;
  /** The subject's own level, or the registry's default that applies to subjects without one. */
  readonly source: 'subject' | 'registry default';
}

/** The registry's verdict against one version of the subject. */
export interface VersionVerdict {
  readonly version: number;
  /** That version's schema, as the registry holds it. */
  readonly schema: string;
  readonly compatible: boolean;
  /** The registry's reasons (verbose=true); Apicurio gives none. */
  readonly messages: readonly string[];
}

export type RegistryVerdict =
  /** The subject has no version: its first registration is accepted whatever it holds. */
  | { readonly kind: 'new-subject'; readonly level: Level }
  /** Against the latest version, or every version under a transitive level. */
  | { readonly kind: 'checked'; readonly level: Level; readonly versions: readonly VersionVerdict[] };

/** A registry call that did not answer what the API promises: the check could not be made. */
export class RegistryCheckError extends Error {}

export async function checkAgainstRegistry(
  target: RegistryTarget,
  subject: string,
  schema: string,
): Promise<RegistryVerdict> {
  const path = `/subjects/${encodeURIComponent(subject)}`;
  const level = await levelOf(target, subject);
  const latest = await call(target, 'GET', `${path}/versions/latest`);
  if (latest.status === 404) return { kind: 'new-subject', level };
  const check = async (version: number | 'latest', registered: Answer): Promise<VersionVerdict> => {
    const held = expectOk(registered, `version ${version} of ${subject}`);
    if (typeof held.version !== 'number' || typeof held.schema !== 'string')
      throw new RegistryCheckError(
        `version ${version} of ${subject} has no version or schema: ${registered.text}`,
      );
    const answer = await call(target, 'POST', `/compatibility${path}/versions/${version}?verbose=true`, {
      schemaType: 'AVRO',
      schema,
    });
    const body = expectOk(answer, `the compatibility check of ${subject} against version ${version}`);
    if (typeof body.is_compatible !== 'boolean')
      throw new RegistryCheckError(`the registry did not say whether it is compatible: ${answer.text}`);
    const messages = Array.isArray(body.messages) ? body.messages.map(String) : [];
    return { version: held.version, schema: held.schema, compatible: body.is_compatible, messages };
  };
  // /versions/latest compares with the latest version only, whatever the level (Apicurio, measured;
  // Confluent documents it so): a transitive level is checked version by version.
  if (!level.level.endsWith('_TRANSITIVE'))
    return { kind: 'checked', level, versions: [await check('latest', latest)] };
  const versions: VersionVerdict[] = [];
  for (const version of await versionsOf(target, subject))
    versions.push(await check(version, await call(target, 'GET', `${path}/versions/${version}`)));
  return { kind: 'checked', level, versions };
}

/** The version numbers of `subject`. */
async function versionsOf(target: RegistryTarget, subject: string): Promise<number[]> {
  const listed = await call(target, 'GET', `/subjects/${encodeURIComponent(subject)}/versions`);
  let numbers: unknown;
  try {
    numbers = listed.status === 200 ? JSON.parse(listed.text) : undefined;
  } catch {
    numbers = undefined;
  }
  if (!Array.isArray(numbers) || numbers.length === 0 || !numbers.every((n) => typeof n === 'number'))
    throw new RegistryCheckError(
      `the versions of ${subject}: ${listed.what} answered HTTP ${listed.status}: ${listed.text}`,
    );
  return numbers;
}

/**
 * The level the registry applies to `subject` (`defaultToGlobal=true`: its own, else the registry's
 * default), and whose it is. Without the parameter, Confluent answers 404 for a subject without a level
 * of its own, and Apicurio answers NONE (which it does not apply): either way it differs.
 */
async function levelOf(target: RegistryTarget, subject: string): Promise<Level> {
  const path = `/config/${encodeURIComponent(subject)}`;
  const effective = await call(target, 'GET', `${path}?defaultToGlobal=true`);
  if (effective.status === 404) {
    // A subject not registered yet (Apicurio), or a registry without defaultToGlobal: the default applies.
    const global = await call(target, 'GET', '/config');
    return { level: levelIn(global, 'the registry default level'), source: 'registry default' };
  }
  const level = levelIn(effective, `the level of ${subject}`);
  const own = await call(target, 'GET', path);
  const isOwn = own.status === 200 && levelIn(own, `the own level of ${subject}`) === level;
  return { level, source: isOwn ? 'subject' : 'registry default' };
}

function levelIn(answer: Answer, what: string): string {
  const body = expectOk(answer, what);
  // Confluent answers compatibilityLevel; some versions and proxies answer compatibility.
  const level = body.compatibilityLevel ?? body.compatibility;
  if (typeof level !== 'string')
    throw new RegistryCheckError(`${what}: no compatibility level in ${answer.what}: ${answer.text}`);
  return level.toUpperCase();
}

interface Answer {
  readonly status: number;
  readonly text: string;
  /** The call, for messages. */
  readonly what: string;
}

async function call(
  target: RegistryTarget,
  method: 'GET' | 'POST',
  path: string,
  body?: object,
): Promise<Answer> {
  const headers: Record<string, string> = {
    accept: 'application/vnd.schemaregistry.v1+json, application/json',
  };
  if (body !== undefined) headers['content-type'] = 'application/vnd.schemaregistry.v1+json';
  if (target.username !== undefined && target.password !== undefined)
    headers.authorization = `Basic ${Buffer.from(`${target.username}:${target.password}`).toString('base64')}`;
  const what = `${method} ${target.url}${path}`;
  try {
    const response = await fetch(`${target.url}${path}`, {
      method,
      headers,
      signal: AbortSignal.timeout(target.timeoutMs),
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    // A registry's answer is small; a longer one is not one, and is cut for the message.
    return { status: response.status, text: (await response.text()).slice(0, 64 * 1024), what };
  } catch (error) {
    throw new RegistryCheckError(`${what}: ${(error as Error).message}`, { cause: error });
  }
}

function expectOk(answer: Answer, what: string): Record<string, unknown> {
  if (answer.status !== 200)
    throw new RegistryCheckError(`${what}: ${answer.what} answered HTTP ${answer.status}: ${answer.text}`);
  try {
    const body: unknown = JSON.parse(answer.text);
    if (typeof body === 'object' && body !== null && !Array.isArray(body))
      return body as Record<string, unknown>;
  } catch {
    // Not JSON: said below.
  }
  throw new RegistryCheckError(`${what}: ${answer.what} answered what is not a JSON object: ${answer.text}`);
}
