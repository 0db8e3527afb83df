import type { RegistryClientConfig } from './schema-registry-client.js';

/**
 * GET <registry>/subjects with a timeout: the registry's own notion of "I can serve". True when it
 * answers 2xx; otherwise throws, saying why (refused credentials, HTTP status, unreachable), which
 * /readyz shows.
 */
export async function registryReachable(config: RegistryClientConfig, timeoutMs = 2000): Promise<true> {
  const headers: Record<string, string> = {};
  if (config.schemaRegistryUsername && config.schemaRegistryPassword) {
    const token = Buffer.from(`${config.schemaRegistryUsername}:${config.schemaRegistryPassword}`).toString(
      'base64',
    );
    headers.authorization = `Basic ${token}`;
  }
  let response: Response;
  try {
    response = await fetch(`${config.schemaRegistryUrl}/subjects`, {
      headers,
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
    throw new Error(`unreachable (${error instanceof Error ? error.message : String(error)}${cause})`, {
      cause: error,
    });
  }
  await response.body?.cancel();
  if (response.status === 401 || response.status === 403)
    throw new Error(`HTTP ${response.status}: the registry refused our credentials`);
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return true;
}
