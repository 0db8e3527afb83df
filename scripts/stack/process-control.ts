import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Component, StackPaths } from './paths.js';

/**
 * Each JVM we start carries these two system properties. They are how we tell
 * our processes from a recycled pid or from another stack's, without trusting
 * the pid file alone.
 */
export function markerArgs(stateDir: string, component: Component): string[] {
  return [`-Dkos.stack.dir=${stateDir}`, `-Dkos.stack.component=${component}`];
}

/** The argv of a process, or undefined when it is gone (or a zombie, whose cmdline is empty). */
export function cmdlineOf(pid: number): string[] | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    const args = raw.split('\0').filter(Boolean);
    return args.length > 0 ? args : undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && process.platform === 'linux') return undefined;
  }
  // No /proc (macOS): ps joins the arguments with spaces, which is enough for a marker match.
  const ps = spawnSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8' });
  const line = ps.status === 0 ? ps.stdout.trim() : '';
  return line ? line.split(' ') : undefined;
}

function hasMarkers(args: readonly string[], stateDir: string, component: Component): boolean {
  const joined = args.join(' ');
  return markerArgs(stateDir, component).every((m) => args.includes(m) || joined.includes(m));
}

export function isOurs(pid: number, stateDir: string, component: Component): boolean {
  const args = cmdlineOf(pid);
  return args !== undefined && hasMarkers(args, stateDir, component);
}

/** Every live process of this stack (optionally one component), found by its marker arguments. */
export function findOurProcesses(
  stateDir: string,
  component?: Component,
): { pid: number; component: Component }[] {
  const components: Component[] = component ? [component] : ['broker', 'registry'];
  let pids: number[];
  try {
    pids = readdirSync('/proc')
      .filter((e) => /^\d+$/.test(e))
      .map(Number);
  } catch {
    const ps = spawnSync('ps', ['-A', '-o', 'pid='], { encoding: 'utf8' });
    pids = ps.stdout
      .split('\n')
      .map((l) => Number(l.trim()))
      .filter((n) => n > 0);
  }
  const found: { pid: number; component: Component }[] = [];
  for (const pid of pids) {
    if (pid === process.pid) continue;
    const args = cmdlineOf(pid);
    if (!args) continue;
    for (const c of components) if (hasMarkers(args, stateDir, c)) found.push({ pid, component: c });
  }
  return found;
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

export type ProcessState =
  | { readonly state: 'running'; readonly pid: number; readonly adopted: boolean }
  | { readonly state: 'stopped'; readonly stalePid: number | undefined };

/**
 * Whether the component runs, trusting the pid file only when that pid's
 * command line is ours. A stale pid file is removed; a process of ours that lost
 * its pid file is adopted (its pid file rewritten).
 */
export function componentState(paths: StackPaths, component: Component): ProcessState {
  const pidFile = paths.pidFile(component);
  const pid = readPidFile(pidFile);
  if (pid !== undefined && isOurs(pid, paths.stateDir, component))
    return { state: 'running', pid, adopted: false };
  if (pid !== undefined) removePidFile(pidFile);
  const orphan = findOurProcesses(paths.stateDir, component)[0];
  if (orphan) {
    writePidFile(pidFile, orphan.pid);
    return { state: 'running', pid: orphan.pid, adopted: true };
  }
  return { state: 'stopped', stalePid: pid };
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  // Our JVMs lead their own process group (spawned detached), so the group takes any helper children too.
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}

/**
 * SIGTERM, wait up to `timeoutMs` for the process to go, then SIGKILL and wait
 * again. Returns how it ended. `stillOurs` guards every signal against pid reuse.
 */
export async function stopProcess(
  pid: number,
  stillOurs: () => boolean,
  timeoutMs: number,
  firstSignal: NodeJS.Signals = 'SIGTERM',
): Promise<'not-running' | 'terminated' | 'killed'> {
  if (!stillOurs()) return 'not-running';
  signalGroup(pid, firstSignal);
  if (firstSignal !== 'SIGKILL') {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!stillOurs()) return 'terminated';
      await sleep(100);
    }
    if (!stillOurs()) return 'terminated';
    signalGroup(pid, 'SIGKILL');
  }
  const killDeadline = Date.now() + 10_000;
  while (Date.now() < killDeadline) {
    if (!stillOurs()) return 'killed';
    await sleep(50);
  }
  throw new Error(`process ${pid} survived SIGKILL for 10 s`);
}

export interface SpawnSpec {
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  /** Receives the JVM's stdout and stderr. */
  readonly consoleFile: string;
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Starts a long-running JVM in its own session so that it outlives this
 * script and a Ctrl-C in the terminal does not reach it; the script decides
 * when it stops.
 */
export function spawnDetached(spec: SpawnSpec): ChildProcess {
  mkdirSync(path.dirname(spec.consoleFile), { recursive: true });
  // Truncated per start, so its tail after a failure shows this start only.
  const fd = openSync(spec.consoleFile, 'w');
  try {
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      detached: true,
      stdio: ['ignore', fd, fd],
      env: spec.env ?? process.env,
    });
    // A missing executable is reported through 'error'; the caller sees it as an undefined pid.
    child.once('error', () => undefined);
    child.unref();
    return child;
  } finally {
    closeSync(fd);
  }
}
