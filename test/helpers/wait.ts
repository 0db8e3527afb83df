import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The one wait loop of the tests, helpers and benchmarks: polls `condition` every `intervalMs` until it
 * holds, or throws once `timeoutMs` has passed. `what` names what was awaited; given as a function, it is
 * read when the wait times out, so it can say how far things got. An error thrown by `condition` ends the
 * wait at once (a process that exited, a wrong answer that will not become right).
 */
export async function waitUntil(
  what: string | (() => string),
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 60_000,
  intervalMs = 100,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (performance.now() > deadline) {
      const awaited = typeof what === 'string' ? what : what();
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${awaited}`);
    }
    await sleep(intervalMs);
  }
}
