import { redactText } from '../../redact.js';

/** One dependency /readyz waits for: broker connected, group joined, registry reachable, ... */
export interface ReadinessCheck {
  readonly name: string;
  check(): Promise<boolean> | boolean;
}

export interface CheckResult {
  readonly name: string;
  readonly ok: boolean;
  readonly ms: number;
  /** Why it failed: `returned false`, `timed out after Nms` or the thrown message. */
  readonly error?: string;
}

export interface ReadinessReport {
  readonly ready: boolean;
  readonly checks: readonly CheckResult[];
}

/**
 * Runs every check in parallel, each bounded by `timeoutMs`, so one hanging
 * dependency answers "not ready" instead of hanging the probe.
 */
export async function evaluateReadiness(
  checks: readonly ReadinessCheck[],
  timeoutMs: number,
): Promise<ReadinessReport> {
  const results = await Promise.all(checks.map((c) => runCheck(c, timeoutMs)));
  return { ready: results.every((r) => r.ok), checks: results };
}

async function runCheck(readiness: ReadinessCheck, timeoutMs: number): Promise<CheckResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => {
      resolve('timeout');
    }, timeoutMs);
  });
  try {
    const outcome = await Promise.race([Promise.resolve().then(() => readiness.check()), timeout]);
    if (outcome === 'timeout') {
      return { name: readiness.name, ok: false, ms: elapsed(), error: `timed out after ${timeoutMs}ms` };
    }
    return outcome
      ? { name: readiness.name, ok: true, ms: elapsed() }
      : { name: readiness.name, ok: false, ms: elapsed(), error: 'returned false' };
  } catch (error) {
    // The text leaves the process (/readyz): no password or URL user-info in it, as in the logs.
    const message = redactText(error instanceof Error ? error.message : String(error));
    return { name: readiness.name, ok: false, ms: elapsed(), error: message };
  } finally {
    clearTimeout(timer);
  }
}
