import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Arguments that hold a secret (a SCRAM password) must not be on a command line: /proc/<pid>/cmdline is
 * readable by every local user. The java launcher reads `@file` arguments (JDK 9+) and expands them before
 * it finds the main class, so the main class and its arguments go into a 0600 file in a 0700 folder, and
 * the command line holds only `@<file>`. The file is deleted when `run` settles.
 */
export async function withJavaArgFile<T>(
  dir: string,
  mainAndArgs: readonly string[],
  run: (argFileArg: string) => Promise<T>,
): Promise<T> {
  const file = path.join(dir, `.java-args-${randomBytes(6).toString('hex')}`);
  writeFileSync(file, renderArgFile(mainAndArgs), { mode: 0o600 });
  try {
    return await run(`@${file}`);
  } finally {
    rmSync(file, { force: true });
  }
}

/** One argument a line, each in double quotes (the launcher's escapes: \\ and \"). */
export function renderArgFile(args: readonly string[]): string {
  return args.map((a) => `"${a.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`).join('\n') + '\n';
}
