import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

/** The parts of a compose service that our checks read; the schema validates the rest. */
export interface ComposeService {
  readonly image?: string;
  readonly build?: string | { readonly context?: string; readonly target?: string };
  readonly container_name?: string;
  readonly entrypoint?: string | readonly string[];
  readonly command?: string | readonly string[];
  readonly environment?: Readonly<Record<string, string | number | boolean | null>> | readonly string[];
  readonly ports?: readonly unknown[];
  readonly expose?: readonly (string | number)[];
  readonly user?: string;
  readonly read_only?: boolean;
  readonly tmpfs?: string | readonly string[];
  readonly volumes?: readonly (string | { readonly source?: string; readonly target?: string })[];
  readonly depends_on?: readonly string[] | Readonly<Record<string, { readonly condition?: string }>>;
  readonly healthcheck?: { readonly test?: string | readonly string[]; readonly disable?: boolean };
}

export interface ComposeFile {
  readonly name?: string;
  readonly services: Readonly<Record<string, ComposeService>>;
  readonly volumes?: Readonly<Record<string, unknown>>;
}

/**
 * Reads a compose file the way Compose does: YAML 1.1 merge keys (`<<: *anchor`)
 * resolved, so that the schema and the checks see what Compose sees.
 */
export function loadComposeFile(path: string): ComposeFile {
  const doc: unknown = parse(readFileSync(path, 'utf8'), { merge: true });
  if (typeof doc !== 'object' || doc === null || !('services' in doc)) {
    throw new Error(`${path}: not a compose file (no services)`);
  }
  return doc as ComposeFile;
}

/**
 * Compose's interpolation of `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
 * `${VAR:?err}` and `$$`, against `vars` (the shell environment of
 * `docker compose up`; empty means "nothing exported", the default case).
 */
export function interpolate(value: string, vars: Readonly<Record<string, string | undefined>> = {}): string {
  return value.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}/g,
    (whole, name: string | undefined, op: string | undefined, arg: string | undefined) => {
      if (whole === '$$') return '$';
      const set = name === undefined ? undefined : vars[name];
      const missing = op?.startsWith(':') ? set === undefined || set === '' : set === undefined;
      if (!missing) return set ?? '';
      if (op?.endsWith('?')) throw new Error(`\${${name ?? ''}}: ${arg ?? 'required'}`);
      return op === undefined ? '' : (arg ?? '');
    },
  );
}

/** A service's environment as the container gets it, interpolated. */
export function serviceEnvironment(
  service: ComposeService,
  vars: Readonly<Record<string, string | undefined>> = {},
): Record<string, string> {
  const env: Record<string, string> = {};
  const raw = service.environment ?? {};
  const entries: [string, string | number | boolean | null | undefined][] = Array.isArray(raw)
    ? (raw as readonly string[]).map((line) => {
        const eq = line.indexOf('=');
        return eq < 0 ? [line, vars[line]] : [line.slice(0, eq), line.slice(eq + 1)];
      })
    : Object.entries(raw);
  for (const [key, value] of entries) {
    if (value === null || value === undefined) continue;
    env[key] = interpolate(String(value), vars);
  }
  return env;
}
