/**
 * Errors that carry an HTTP status. Routes throw these; the error middleware turns them into
 * `{error, message, details?}` JSON. Anything else becomes a 500 with the request id.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const badRequest = (message: string, details?: unknown) => new HttpError(400, 'bad_request', message, details);
export const notFound = (message: string) => new HttpError(404, 'not_found', message);
export const unavailable = (message: string) => new HttpError(503, 'unavailable', message);

/** The message of anything thrown, for logs and JSON answers. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
