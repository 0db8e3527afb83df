import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { StackError } from './errors.js';

/** Resolves to the bind error's code, or undefined when the port could be bound (and was released). */
function tryBind(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      resolve(error.code ?? error.message);
    });
    server.listen({ host, port, exclusive: true }, () => {
      server.close(() => {
        resolve(undefined);
      });
    });
  });
}

/** Best effort: "java (pid 1234)" from `ss`, so the message says who holds the port. */
export function portOwner(port: number): string | undefined {
  const ss = spawnSync('ss', ['-Hltnp', `sport = :${port}`], { encoding: 'utf8', timeout: 5000 });
  if (ss.status !== 0 || !ss.stdout) return undefined;
  const match = /users:\(\("([^"]+)",pid=(\d+)/.exec(ss.stdout);
  return match ? `${match[1]} (pid ${match[2]})` : undefined;
}

export interface PortClaim {
  readonly port: number;
  readonly what: string;
  readonly envName: string;
}

/**
 * A process killed with SIGKILL stops looking like ours (its command line goes with its memory) a
 * moment before the kernel closes its sockets, so a busy port is re-checked for this long.
 */
const RELEASE_GRACE_MS = 3000;

async function bindError(host: string, port: number): Promise<string | undefined> {
  const deadline = Date.now() + RELEASE_GRACE_MS;
  for (;;) {
    const code = await tryBind(host, port);
    if (code !== 'EADDRINUSE' || portOwner(port) !== undefined || Date.now() > deadline) return code;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Fails with one message naming every busy port and, when visible, the process holding it. */
export async function assertPortsFree(host: string, claims: readonly PortClaim[]): Promise<void> {
  const busy: string[] = [];
  const envs: string[] = [];
  for (const claim of claims) {
    const code = await bindError(host, claim.port);
    if (code === undefined) continue;
    const owner = code === 'EADDRINUSE' ? portOwner(claim.port) : undefined;
    const reason = code === 'EADDRINUSE' ? 'already in use' : `cannot be bound (${code})`;
    envs.push(claim.envName);
    busy.push(`${host}:${claim.port} (${claim.what}) is ${reason}${owner ? ` by ${owner}` : ''}`);
  }
  if (busy.length > 0) {
    throw new StackError(
      `port conflict:\n  - ${busy.join('\n  - ')}`,
      `Stop whatever holds the port, or choose another port with ${envs.join(', ')} (or the matching --*-port flag).`,
      3,
    );
  }
}
