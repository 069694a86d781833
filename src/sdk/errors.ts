/**
 * Errors a model throws to tell the host something more than "it failed".
 *
 * The runtime recognises them by a brand registered with `Symbol.for`, not by `instanceof`: a model may
 * import its own copy of this package, and that copy's classes are different objects.
 */

const NON_RETRYABLE: unique symbol = Symbol.for('ls-ml-backend.NonRetryableError');

/**
 * Throw from `fit()` (or `setup()` during a training) when retrying cannot help: the label config has no
 * control the model can learn, there are no usable annotations yet, … The training job then fails at
 * once, without its remaining attempts, and `GET /jobs/:id` shows this message as its `error`.
 * Any other error is treated as transient and retried with backoff.
 */
export class NonRetryableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'NonRetryableError';
  }

  /** The brand `isNonRetryableError` checks; on the prototype, so it stays out of logs and JSON. */
  get [NON_RETRYABLE](): true {
    return true;
  }
}

/** True for a NonRetryableError from any copy of this package (and its subclasses). */
export function isNonRetryableError(err: unknown): err is NonRetryableError {
  return typeof err === 'object' && err !== null && (err as { [NON_RETRYABLE]?: unknown })[NON_RETRYABLE] === true;
}
