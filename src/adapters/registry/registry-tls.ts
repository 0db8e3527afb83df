import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AppConfig } from '../../config/load.js';

/** The registry client's TLS settings: a CA bundle to trust, a client certificate and key for mutual TLS. */
export type RegistryTlsSettings = Partial<
  Pick<AppConfig, 'schemaRegistryCaFile' | 'schemaRegistryCertFile' | 'schemaRegistryKeyFile'>
>;

/**
 * An HTTPS agent for the registry when any TLS file is set (undefined: Node's defaults, system CAs).
 * The files are read once, at start: a missing file fails the start, not the first lookup. Keep-alive,
 * because every schema lookup would otherwise pay a TLS handshake.
 */
export function registryAgent(settings: RegistryTlsSettings): https.Agent | undefined {
  const { schemaRegistryCaFile: ca, schemaRegistryCertFile: cert, schemaRegistryKeyFile: key } = settings;
  if (!ca && !cert && !key) return undefined;
  return new https.Agent({
    keepAlive: true,
    ...(ca ? { ca: readFileSync(ca, 'utf8') } : {}),
    ...(cert ? { cert: readFileSync(cert, 'utf8') } : {}),
    ...(key ? { key: readFileSync(key, 'utf8') } : {}),
  });
}
