/**
 * Secrets never leave the process in text. What passes through here: every log line (the logger applies
 * redactText to each finished line, whatever field, message, error or library it came from), the error
 * texts of /readyz and /healthz (src/adapters/http), and configuration errors (src/config/load.ts). Two rules,
 * so that no call site has to remember anything:
 *
 * - the values of secret settings (passwords), registered once when the configuration is loaded, are
 *   replaced wherever they appear, whatever the field or message they ended up in; so are the secrets
 *   derived from them (the registry's Basic token, the OTLP exporter's header values);
 * - the user-info part of any URL (`https://user:pass@host`) is removed, because a URL may reach a log
 *   or an error from a library that never heard of our settings.
 *
 * redactValue and redactError are for a value or an error handed out whole (not as text) by a future
 * caller; today only the tests use them.
 */
export const REDACTED = '[REDACTED]';

const secrets = new Set<string>();

/**
 * Secrets shorter than this are not registered: replacing every "a", "12" or "admin" would garble lines and
 * protect little. Such a secret is named at startup (processLogger warns) so that it gets replaced.
 */
export const MIN_SECRET_LENGTH = 8;

const tooShort = new Set<string>();

/** Registers `value` as a secret; `name` (a setting) is what the startup warning shows when it is too short. */
export function registerSecret(value: string | undefined, name?: string): void {
  if (value === undefined || value === '') return;
  if (value.length < MIN_SECRET_LENGTH) {
    if (name !== undefined) tooShort.add(name);
    return;
  }
  secrets.add(value);
  // Log lines are JSON: a secret with a quote or a backslash appears there escaped.
  const escaped = JSON.stringify(value).slice(1, -1);
  if (escaped !== value) secrets.add(escaped);
}

/** The settings whose secret was too short to be redacted from logs (names only, never values). */
export function unredactedSecrets(): string[] {
  return [...tooShort];
}

/** For tests only: forget every registered secret. */
export function clearSecrets(): void {
  secrets.clear();
  tooShort.clear();
}

// scheme://user[:password]@ — user-info ends at the first @ before the host; '/', '?' and '#' end the
// authority. A quote, a backslash or a bracket ends it too: log lines are JSON, and without that a URL with
// no path (`"http://host:1"`) would run on through the next fields to any `@` (`orders[0]@5`) and eat them.
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)[^/?#\s@"\\<>{}[\]]+@/gi;

export function redactText(text: string): string {
  let out = text.includes('://') ? text.replace(URL_USERINFO, `$1${REDACTED}@`) : text;
  for (const secret of secrets) {
    if (out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  return out;
}

/** A URL as it may be shown: without user-info (a URL we cannot parse is redacted as text). */
export function safeUrl(url: string): string {
  return redactText(url);
}

const SECRET_KEY = /pass(word)?|secret|token|authorization|credential|api[-_]?key|private[-_]?key/i;

/**
 * A copy of `value` with every string redacted and every field whose name says it is a secret
 * replaced, through plain objects, arrays and errors (as their message and stack), to a bounded depth.
 * Anything else (numbers, dates, buffers) is returned as is.
 */
export function redactValue(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redactText(value);
  if (value === null || typeof value !== 'object' || depth > 8) return value;
  if (Array.isArray(value)) return value.map((v: unknown) => redactValue(v, depth + 1));
  if (value instanceof Error) return redactError(value);
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] =
      SECRET_KEY.test(key) && (typeof v === 'string' || Buffer.isBuffer(v))
        ? REDACTED
        : redactValue(v, depth + 1);
  }
  return out;
}

/**
 * The same error with its message and stack redacted, in place (an error keeps its class, code and
 * cause, which classification reads). Its cause chain is redacted too.
 */
export function redactError<E extends Error>(error: E, depth = 0): E {
  if (depth > 5) return error;
  for (const key of ['message', 'stack'] as const) {
    const text = error[key];
    if (typeof text === 'string') {
      const redacted = redactText(text);
      if (redacted !== text) {
        try {
          Object.defineProperty(error, key, { value: redacted, writable: true, configurable: true });
        } catch {
          // A frozen error keeps its text; the logger still redacts its serialized form.
        }
      }
    }
  }
  if (error.cause instanceof Error) redactError(error.cause, depth + 1);
  return error;
}
