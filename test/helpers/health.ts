import { setTimeout as sleep } from 'node:timers/promises';
import { parseMetricsText, type Sample } from './metrics-text.js';

/**
 * Asks each consumer's /healthz every `everyMs` while a test runs, and keeps every answer that was
 * not a 200 within `timeoutMs`: a blocked event loop or a crash shows up as a failure here.
 */
export class HealthWatch {
  readonly failures: string[] = [];
  answered = 0;
  #running = true;
  readonly #loops: Promise<void>[];

  constructor(ports: readonly number[], everyMs = 250, timeoutMs = 2000) {
    this.#loops = ports.map(async (port) => {
      while (this.#running) {
        const started = performance.now();
        try {
          const response = await fetch(`http://127.0.0.1:${port}/healthz`, {
            signal: AbortSignal.timeout(timeoutMs),
          });
          await response.body?.cancel();
          if (response.status === 200) this.answered += 1;
          else this.failures.push(`:${port} answered ${response.status}`);
        } catch (error) {
          this.failures.push(
            `:${port} ${(error as Error).message} after ${Math.round(performance.now() - started)} ms`,
          );
        }
        // Unreferenced: a watch a failed test never stopped does not keep the test file running.
        await sleep(everyMs, undefined, { ref: false });
      }
    });
  }

  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
  }
}

/** The samples of a process's /metrics. */
export async function scrape(port: number): Promise<Sample[]> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) });
  return parseMetricsText(await response.text());
}

/** /readyz of a process: its status code and JSON body. */
export async function readiness(
  port: number,
): Promise<{ status: number; body: { checks: { name: string; ok: boolean; error?: string }[] } }> {
  const response = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(5000) });
  return {
    status: response.status,
    body: (await response.json()) as { checks: { name: string; ok: boolean; error?: string }[] },
  };
}
