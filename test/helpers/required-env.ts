import { SETTINGS, type Setting } from '../../src/config/settings.js';

export type Role = 'consumer' | 'producer';

export interface RequiredEnv {
  readonly env: string;
  /**
   * `no-default`: the app refuses to start without it.
   * `loopback-default`: the default targets this machine (127.0.0.1, localhost),
   * which inside a container or a pod is the container itself, never Kafka.
   */
  readonly reason: 'no-default' | 'loopback-default';
}

const LOOPBACK_HOST = /(?:^|[/@,\s])(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])(?=[:/,\s]|$)/i;

/** True when a parsed default (a string, or a list such as the broker list) names a loopback host. */
export function pointsAtLoopback(value: unknown): boolean {
  const values: unknown[] = Array.isArray(value) ? value : [value];
  return values.some((v) => typeof v === 'string' && LOOPBACK_HOST.test(v));
}

/**
 * The variables a deployment (compose, the Helm chart) must set for `role`,
 * derived from the settings schema alone: those without a default, and those
 * whose default only works on a developer's machine.
 */
export function requiredDeploymentEnv(
  role: Role,
  settings: Readonly<Record<string, Setting>> = SETTINGS,
): RequiredEnv[] {
  const required: RequiredEnv[] = [];
  for (const setting of Object.values(settings)) {
    if (!setting.appliesTo.includes(role)) continue;
    const parsed = setting.schema.safeParse(undefined);
    if (!parsed.success) required.push({ env: setting.env, reason: 'no-default' });
    else if (pointsAtLoopback(parsed.data)) required.push({ env: setting.env, reason: 'loopback-default' });
  }
  return required;
}

/** The names only, for `assert.deepEqual` and for templates that list them. */
export function requiredDeploymentEnvNames(role: Role): string[] {
  return requiredDeploymentEnv(role).map((r) => r.env);
}

/** Every env var the app reads for `role`, required or not. */
export function knownEnvNames(role?: Role): Set<string> {
  return new Set(
    Object.values(SETTINGS as Readonly<Record<string, Setting>>)
      .filter((s) => role === undefined || s.appliesTo.includes(role))
      .map((s) => s.env),
  );
}
