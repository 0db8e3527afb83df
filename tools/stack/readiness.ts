import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import https from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel } from 'kafkajs';
import { StackInterrupted, throwIfAborted } from './errors.js';

/** The last `lines` lines of a file (from its last 64 KiB), indented, or a note that it is missing. */
export function tailFile(file: string, lines: number): string {
  let fd: number | undefined;
  try {
    const size = statSync(file).size;
    const buffer = Buffer.alloc(Math.min(size, 64 * 1024));
    fd = openSync(file, 'r');
    readSync(fd, buffer, 0, buffer.length, size - buffer.length);
    const text = buffer.toString('utf8').trimEnd();
    if (text === '') return '    (empty)';
    // Stack traces and JSON log lines run to kilobytes; the head of each says what happened.
    return text
      .split('\n')
      .slice(-lines)
      .map((l) => `    ${l.length > 400 ? `${l.slice(0, 400)}…` : l}`)
      .join('\n');
  } catch {
    return `    (${file} does not exist)`;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export type ProbeResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** Ready means the broker answers a Metadata request and lists itself. */
export async function probeBroker(brokers: readonly string[], timeoutMs = 3000): Promise<ProbeResult> {
  const admin = new Kafka({
    clientId: 'stack-readiness',
    brokers: [...brokers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: timeoutMs,
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
  }).admin({ retry: { retries: 0 } });
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return cluster.brokers.length > 0 ? { ok: true } : { ok: false, reason: 'metadata lists no broker' };
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** Ready means `GET <base>/subjects` answers 200 with a JSON array. */
export async function probeRegistry(
  baseUrl: string,
  timeoutMs = 3000,
  auth?: { readonly username: string; readonly password: string },
): Promise<ProbeResult> {
  const headers: Record<string, string> = auth
    ? { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` }
    : {};
  try {
    const response = await fetch(`${baseUrl}/subjects`, { headers, signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) return { ok: false, reason: `GET /subjects answered ${response.status}` };
    return Array.isArray(await response.json())
      ? { ok: true }
      : { ok: false, reason: 'GET /subjects did not answer a JSON array' };
  } catch (error) {
    return {
      ok: false,
      reason: (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message,
    };
  }
}

/** The same over HTTPS trusting only `caFile` (fetch cannot be given a CA), with basic auth. */
export function probeRegistryTls(
  baseUrl: string,
  caFile: string,
  auth: { readonly username: string; readonly password: string },
  timeoutMs = 3000,
): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const request = https.get(
      `${baseUrl}/subjects`,
      {
        ca: readFileSync(caFile, 'utf8'),
        auth: `${auth.username}:${auth.password}`,
        timeout: timeoutMs,
      },
      (response) => {
        let body = '';
        response.on('data', (d: Buffer) => (body += d.toString()));
        response.on('end', () => {
          if (response.statusCode !== 200) {
            resolve({ ok: false, reason: `GET /subjects answered ${response.statusCode ?? '?'}` });
            return;
          }
          try {
            resolve(
              Array.isArray(JSON.parse(body))
                ? { ok: true }
                : { ok: false, reason: 'GET /subjects did not answer a JSON array' },
            );
          } catch {
            resolve({ ok: false, reason: 'GET /subjects did not answer JSON' });
          }
        });
      },
    );
    request.on('timeout', () => request.destroy(new Error('timed out')));
    request.on('error', (error: NodeJS.ErrnoException) => {
      resolve({ ok: false, reason: error.code ?? error.message });
    });
  });
}

export type WaitOutcome =
  | { readonly ready: true; readonly ms: number }
  | { readonly ready: false; readonly why: 'timeout' | 'exited'; readonly lastReason: string };

/** Polls `probe` until it succeeds, `stillRunning` says the process died, the timeout passes or the signal aborts. */
export async function waitUntilReady(
  probe: () => Promise<ProbeResult>,
  options: {
    readonly timeoutMs: number;
    readonly signal?: AbortSignal;
    readonly stillRunning?: () => boolean;
  },
): Promise<WaitOutcome> {
  const started = Date.now();
  let lastReason = 'not probed yet';
  for (;;) {
    throwIfAborted(options.signal);
    if (options.stillRunning && !options.stillRunning()) return { ready: false, why: 'exited', lastReason };
    const result = await probe();
    if (result.ok) return { ready: true, ms: Date.now() - started };
    lastReason = result.reason;
    if (Date.now() - started >= options.timeoutMs) return { ready: false, why: 'timeout', lastReason };
    try {
      await sleep(250, undefined, { signal: options.signal });
    } catch {
      throw new StackInterrupted(options.signal?.reason);
    }
  }
}
