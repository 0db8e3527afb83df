/**
 * The schema a file had at an earlier commit, for `npm run schema:check --offline`. A checkout without
 * that commit (the first commit, a shallow clone) or a file new since then has nothing to compare; a
 * revision that names nothing is an error (a typo must not pass as "nothing to compare").
 */
import { execFileSync } from 'node:child_process';

export type PreviousSchema =
  | { readonly found: true; readonly text: string; readonly commit: string }
  | { readonly found: false; readonly why: string };

/** `file` (relative to the repository root `cwd`) as it was at `rev`; throws for an unknown revision. */
export function schemaAt(rev: string, file: string, cwd: string): PreviousSchema {
  const git = (...args: string[]): string | undefined => {
    try {
      return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    } catch {
      return undefined;
    }
  };
  if (git('rev-parse', '--is-inside-work-tree') === undefined)
    return { found: false, why: `${cwd} is not a git checkout` };
  const commit = git('rev-parse', '--verify', '--quiet', `${rev}^{commit}`)?.trim();
  if (commit === undefined || commit === '') {
    if (git('rev-parse', '--is-shallow-repository')?.trim() === 'true')
      return { found: false, why: `${rev} is not in this shallow clone (git fetch --unshallow brings it)` };
    // HEAD~1 of the first commit is no mistake; any other name that resolves to nothing is a typo.
    if (/^HEAD[~^]/.test(rev) && git('rev-parse', '--verify', '--quiet', 'HEAD') !== undefined)
      return { found: false, why: `${rev} does not exist: the history is shorter (the first commit?)` };
    throw new Error(`unknown revision ${rev}`);
  }
  const text = git('show', `${commit}:${file}`);
  if (text === undefined)
    return { found: false, why: `${file} did not exist at ${rev} (${commit.slice(0, 12)})` };
  return { found: true, text, commit };
}
