import { RegistryAuthError, RegistryUnavailableError } from '../../errors.js';

/**
 * The HTTP status of a failed registry call. The client reports transport failures (refused,
 * reset, timed out) as status 400 with no body, so a status alone says little but 404, 401 and 403.
 */
export function registryStatus(error: unknown): number | undefined {
  if (typeof error === 'object' && error !== null && 'status' in error) {
    const status = error.status;
    return typeof status === 'number' ? status : undefined;
  }
  return undefined;
}

/**
 * A failed registry call that is not the record's fault: refused credentials (401, 403), or the
 * registry down, slow or broken (transport, timeout, 5xx, anything unexpected). Callers handle 404
 * and the answers they expect themselves.
 */
export function registryCallFailed(
  what: string,
  error: unknown,
): RegistryAuthError | RegistryUnavailableError {
  const status = registryStatus(error);
  const detail = error instanceof Error ? error.message : String(error);
  if (status === 401 || status === 403) {
    return new RegistryAuthError(
      `${what}: the registry refused our credentials (HTTP ${status}; check SCHEMA_REGISTRY_USERNAME and SCHEMA_REGISTRY_PASSWORD): ${detail}`,
      { cause: error },
    );
  }
  return new RegistryUnavailableError(`${what}: ${detail}`, { cause: error });
}
