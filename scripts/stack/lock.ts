import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { StackError } from './errors.js';

function ownerOf(lockDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(path.join(lockDir, 'owner'), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Runs `fn` while holding a lock folder (mkdir is atomic), so two `stack:up`s
 * (say, two test runs started at once) do not both start a broker or both run Maven.
 * A lock left by a dead process is taken over.
 */
export async function withLock<T>(
  lockDir: string,
  what: string,
  timeoutMs: number,
  fn: () => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  mkdirSync(path.dirname(lockDir), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  let announced = false;
  for (;;) {
    try {
      mkdirSync(lockDir);
      writeFileSync(path.join(lockDir, 'owner'), `${process.pid}\n`);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = ownerOf(lockDir);
    if (owner === undefined || !isAlive(owner)) {
      // Either the owner died, or it is between mkdir and writing its pid: give the latter a moment.
      await sleep(200, undefined, { signal });
      if (ownerOf(lockDir) === owner) rmSync(lockDir, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new StackError(
        `${what} is locked by process ${owner} (${lockDir})`,
        'Another stack command is running; wait for it, or remove the lock folder if that process is not a stack command.',
      );
    }
    if (!announced) {
      console.log(`waiting for process ${owner}, which holds the ${what} lock...`);
      announced = true;
    }
    await sleep(250, undefined, { signal });
  }
  try {
    return await fn();
  } finally {
    if (ownerOf(lockDir) === process.pid) rmSync(lockDir, { recursive: true, force: true });
  }
}
