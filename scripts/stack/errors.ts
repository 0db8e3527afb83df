/**
 * A failure the stack script explains to a person: what went wrong, what to do
 * next, and the exit code. Anything else that escapes is a bug and prints a stack trace.
 */
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
  constructor(signalName: string) {
    super(`interrupted by ${signalName}`, undefined, 130);
    this.name = 'StackInterrupted';
  }
}

export const DOCKER_ALTERNATIVE =
  'If you have Docker, `docker compose up` starts the same broker and registry without Java or Maven.';
