/**
 * A start-up failure the user can fix: the command line prints it as one line, `<problem> — <fix>`, and
 * exits with code 2, without a stack trace (the stack points into this package, not at the user's mistake).
 */
export class StartupError extends Error {
  constructor(
    readonly problem: string,
    readonly fix: string,
  ) {
    super(`${problem} — ${fix}`);
    this.name = 'StartupError';
  }
}
