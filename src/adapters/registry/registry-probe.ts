import http from 'node:http';
import https from 'node:https';
import { safeUrl } from '../../redact.js';
import { registryAgent } from './registry-tls.js';
import type { RegistryClientConfig } from './schema-registry-client.js';

/** One agent per configuration: /readyz asks often, and the TLS files are read once. */
const agents = new WeakMap<RegistryClientConfig, https.Agent | undefined>();

function agentFor(config: RegistryClientConfig): https.Agent | undefined {
  if (!agents.has(config)) agents.set(config, registryAgent(config));
  return agents.get(config);
}

/** GET `url` with a timeout; resolves to the status code, draining the body. */
function get(
  url: string,
  headers: Record<string, string>,
  timeoutMs: number,
  agent?: https.Agent,
): Promise<number> {
  const client = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const request = client.get(
      url,
      { headers, timeout: timeoutMs, ...(agent ? { agent } : {}) },
      (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      },
    );
    request.on('timeout', () => request.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    request.on('error', reject);
  });
}

/**
 * GET <registry>/subjects with a timeout: the registry's own notion of "I can serve". True when it
 * answers 2xx; otherwise throws, saying why (refused credentials, HTTP status, an untrusted
 * certificate, unreachable), which /readyz shows. node:https, not fetch: fetch takes no CA or client
 * certificate.
 */
export async function registryReachable(config: RegistryClientConfig, timeoutMs = 2000): Promise<true> {
  const headers: Record<string, string> = {};
  if (config.schemaRegistryUsername && config.schemaRegistryPassword) {
    const token = Buffer.from(`${config.schemaRegistryUsername}:${config.schemaRegistryPassword}`).toString(
      'base64',
    );
    headers.authorization = `Basic ${token}`;
  }
  let status: number;
  try {
    status = await get(
      `${config.schemaRegistryUrl}/subjects`,
      headers,
      timeoutMs,
      config.schemaRegistryUrl.startsWith('https:') ? agentFor(config) : undefined,
    );
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const message = error instanceof Error ? error.message : String(error);
    const host = safeUrl(new URL(config.schemaRegistryUrl).host);
    throw new Error(
      `unreachable (${message}${code && !message.includes(code) ? ` [${code}]` : ''}; registry ${host}${tlsHint(code)})`,
      { cause: error },
    );
  }
  if (status === 401 || status === 403)
    throw new Error(`HTTP ${status}: the registry refused our credentials`);
  if (status < 200 || status >= 300) throw new Error(`HTTP ${status}`);
  return true;
}

/** What to do about a certificate the registry presented that we do not trust. */
export function tlsHint(code: string | undefined): string {
  return code !== undefined && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)
    ? ': its certificate is not trusted; set SCHEMA_REGISTRY_CA_FILE to the CA that signed it'
    : '';
}
