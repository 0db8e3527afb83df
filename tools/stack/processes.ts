import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Component } from './config.js';
import { StackError } from './errors.js';

/**
 * Each JVM carries these two system properties, so a pid from a pid file is signalled only while its
 * command line still says it is this stack's broker or registry, never a process that reused the pid.
 */
export function markerArgs(stateDir: string, component: Component): string[] {
  return [`-Dkos.stack.dir=${stateDir}`, `-Dkos.stack.component=${component}`];
}

function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim() || undefined;
  } catch {
    if (process.platform === 'linux') return undefined;
  }
  // No /proc (macOS): ps prints the arguments joined by spaces.
  const ps = spawnSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8' });
  return ps.status === 0 ? ps.stdout.trim() || undefined : undefined;
}

export function isOurs(pid: number, stateDir: string, component: Component): boolean {
  const args = ` ${commandLine(pid) ?? ''} `;
  return markerArgs(stateDir, component).every((marker) => args.includes(` ${marker} `));
}

export function readPidFile(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export function writePidFile(file: string, pid: number): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${pid}\n`);
}

export function removePidFile(file: string): void {
  rmSync(file, { force: true });
}

export type StopOutcome = 'not-running' | 'terminated' | 'killed';

/**
 * SIGTERM (or SIGKILL at once), wait up to `timeoutMs` for the process to go, then SIGKILL. `stillOurs`
 * guards every signal against pid reuse. The JVMs lead their own process group, which is signalled whole.
 */
export async function stopProcess(
  pid: number,
  stillOurs: () => boolean,
  timeoutMs: number,
  firstSignal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM',
): Promise<StopOutcome> {
  const send = (signal: NodeJS.Signals): void => {
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, signal);
        return;
      } catch {
        // Not a group leader, or already gone.
      }
    }
  };
  const gone = async (ms: number): Promise<boolean> => {
    const deadline = Date.now() + ms;
    while (stillOurs()) {
      if (Date.now() >= deadline) return false;
      await sleep(100);
    }
    return true;
  };
  if (!stillOurs()) return 'not-running';
  send(firstSignal);
  if (firstSignal === 'SIGTERM' && (await gone(timeoutMs))) return 'terminated';
  send('SIGKILL');
  if (await gone(10_000)) return 'killed';
  throw new StackError(`process ${pid} survived SIGKILL for 10 s`);
}

/**
 * Starts a JVM in its own session, so it outlives this command and a Ctrl-C in the terminal does not
 * reach it; stdout and stderr go to `consoleFile`, truncated per start.
 */
export function spawnDetached(
  command: string,
  args: readonly string[],
  cwd: string,
  consoleFile: string,
): ChildProcess {
  mkdirSync(path.dirname(consoleFile), { recursive: true });
  const fd = openSync(consoleFile, 'w');
  try {
    const child = spawn(command, args, { cwd, detached: true, stdio: ['ignore', fd, fd] });
    // A missing executable is reported through 'error'; the caller sees it as an undefined pid.
    child.once('error', () => undefined);
    child.unref();
    return child;
  } finally {
    closeSync(fd);
  }
}

function canBind(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      resolve(error.code ?? error.message);
    });
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}

export interface PortClaim {
  readonly port: number;
  readonly what: string;
  readonly envName: string;
}

/**
 * Fails (exit 3) naming every port that cannot be bound. A process just killed releases its sockets a
 * moment after it stops looking like ours, so a busy port is tried again for up to 3 s.
 */
export async function assertPortsFree(host: string, claims: readonly PortClaim[]): Promise<void> {
  const busy: PortClaim[] = [];
  const reasons: string[] = [];
  for (const claim of claims) {
    let code = await canBind(host, claim.port);
    for (const deadline = Date.now() + 3000; code === 'EADDRINUSE' && Date.now() < deadline;) {
      await sleep(100);
      code = await canBind(host, claim.port);
    }
    if (code === undefined) continue;
    busy.push(claim);
    reasons.push(
      `${host}:${claim.port} (${claim.what}) is ${code === 'EADDRINUSE' ? 'already in use' : `not bindable (${code})`}`,
    );
  }
  if (busy.length > 0) {
    throw new StackError(
      `port conflict:\n  - ${reasons.join('\n  - ')}`,
      `Stop whatever holds the port (\`ss -ltnp\` shows it), or choose another port with ${busy.map((c) => c.envName).join(', ')}.`,
      3,
    );
  }
}
