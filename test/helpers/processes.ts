import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitUntil } from './wait.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

/** A JSON log line of ours: pino's fields plus whatever the call site attached. */
export type LogLine = Record<string, unknown> & { msg?: string };

export interface RunningProcess {
  readonly child: ChildProcess;
  readonly lines: LogLine[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything the process wrote to stderr so far (config errors, crashes before logging starts). */
  stderr(): string;
}

/**
 * Debugging a flaky multi-process test: TEST_LOG_DIR keeps every child's raw log in a file per process,
 * and TEST_CHILD_LOG_LEVEL (e.g. debug) overrides the level the test chose.
 */
const logDir = process.env.TEST_LOG_DIR;
const levelOverride = process.env.TEST_CHILD_LOG_LEVEL;

/**
 * Starts one of our CLIs as a real process with JSON logs, collecting every stdout line (a log line, or
 * for the DLQ tool, whose logs go to stderr, a line of its output as `{ msg }`).
 */
export function startCli(
  script: 'consumer' | 'producer' | 'dlq-reader',
  env: Record<string, string>,
  args: string[] = [],
): RunningProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', `src/cli/${script}.ts`, ...args], {
    cwd: REPO,
    env: {
      ...process.env,
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'info',
      ...env,
      ...(levelOverride ? { LOG_LEVEL: levelOverride } : {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let logFile: string | undefined;
  if (logDir) {
    mkdirSync(logDir, { recursive: true });
    logFile = join(logDir, `${script}-${String(child.pid)}.log`);
  }
  const lines: LogLine[] = [];
  let buffered = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    if (logFile) appendFileSync(logFile, chunk);
    buffered += chunk;
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    for (const part of parts) {
      try {
        lines.push(JSON.parse(part) as LogLine);
      } catch {
        lines.push({ msg: part });
      }
    }
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      if (code !== 0 && stderr) process.stderr.write(`[${script} stderr] ${stderr.slice(-2000)}\n`);
      resolve({ code, signal });
    });
  });
  return { child, lines, exited, stderr: () => stderr };
}

export async function waitForLine(
  proc: RunningProcess,
  what: string,
  match: (l: LogLine) => boolean,
  timeoutMs = 60_000,
): Promise<void> {
  await waitUntil(what, () => proc.lines.some(match), timeoutMs);
}

/** A port the OS just handed out and released, for a child process to bind. */
export async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
