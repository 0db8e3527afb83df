/** A failure the stack explains to a person: what went wrong, what to do next, and the exit code. */
export class StackError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'StackError';
  }
}

/** Ctrl-C (or SIGTERM) arrived while the stack was starting; 130 is the shell's code for SIGINT. */
export class StackInterrupted extends StackError {
  constructor(reason: unknown) {
    super(`interrupted by ${typeof reason === 'string' ? reason : 'a signal'}`, undefined, 130);
    this.name = 'StackInterrupted';
  }
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new StackInterrupted(signal.reason);
}

export const DOCKER_ALTERNATIVE =
  'If you have Docker, `docker compose up` starts the same broker and registry without Java or Maven.';
