/**
 * How a command ends when it cannot do its job: one line on stderr, `ls-ml-backend: <problem> — <fix>`,
 * and exit code 2. A stack trace would point into this package, not at what the user has to change; it is
 * printed only with LOG_LEVEL=debug or trace, for the errors nobody anticipated.
 */
import { ConfigError } from '../config.js';
import { StartupError } from '../util/startup-error.js';

export const EXIT_STARTUP = 2;

export function exitWithError(err: unknown): never {
  process.stderr.write(`ls-ml-backend: ${describeFailure(err)}\n`);
  const level = process.env.LOG_LEVEL;
  if (!(err instanceof StartupError) && !(err instanceof ConfigError) && (level === 'debug' || level === 'trace') && err instanceof Error) {
    process.stderr.write(`${err.stack ?? err.message}\n`);
  }
  process.exit(EXIT_STARTUP);
}

export function describeFailure(err: unknown): string {
  if (err instanceof StartupError) return err.message;
  if (err instanceof ConfigError) {
    return `${err.message} — set a valid value (--model, --port and --host override MODEL, PORT and HOST; \`ls-ml-backend start --help\` lists the variables)`;
  }
  const message = (err instanceof Error ? err.message : String(err)).trim().split('\n', 1)[0];
  return `failed to start: ${message} — rerun with LOG_LEVEL=debug to see where it failed`;
}

/** Wraps a command's action so any failure ends as described above. */
export function guarded<A extends unknown[]>(action: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await action(...args);
    } catch (err) {
      exitWithError(err);
    }
  };
}
