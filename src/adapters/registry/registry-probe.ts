import type { AppConfig } from '../../config/load.js';

/** GET <registry>/subjects with a timeout: the registry's own notion of "I can serve". */
export async function registryReachable(config: AppConfig, timeoutMs = 2000): Promise<boolean> {
  const headers: Record<string, string> = {};
  if (config.schemaRegistryUsername && config.schemaRegistryPassword) {
    const token = Buffer.from(`${config.schemaRegistryUsername}:${config.schemaRegistryPassword}`).toString(
      'base64',
    );
    headers.authorization = `Basic ${token}`;
  }
  try {
    const response = await fetch(`${config.schemaRegistryUrl}/subjects`, {
      headers,
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}
