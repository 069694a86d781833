/**
 * Every error becomes JSON: `{error, message, details?, request_id}`. Bad JSON and schema violations are
 * 400 with the field path, oversized bodies 413, unknown routes 404, anything unexpected 500. Never HTML.
 */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { ZodError } from 'zod';
import { HttpError } from '../../util/errors.js';
import { LabelConfigError } from '../../sdk/label-config.js';
import { isRedisUnavailable } from '../../store/redis/connection.js';

export function notFoundHandler(): RequestHandler {
  return (req, _res, next) => next(new HttpError(404, 'not_found', `no route for ${req.method} ${req.path}`));
}

interface BodyParserError extends Error {
  type?: string;
  status?: number;
  limit?: number;
}

export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const requestId = res.locals.requestId as string | undefined;
    const { status, body } = describe(err);
    if (status >= 500) {
      log.error({ reqId: requestId, route: req.path, err: err instanceof Error ? { message: err.message, stack: err.stack } : String(err) }, 'unhandled error');
    }
    if (res.headersSent) return;
    res.status(status).json({ ...body, request_id: requestId });
  };
}

function describe(err: unknown): { status: number; body: Record<string, unknown> } {
  if (err instanceof ZodError) {
    return {
      status: 400,
      body: {
        error: 'invalid_request',
        message: err.issues.map((i) => `${i.path.length ? i.path.join('.') : '(body)'}: ${i.message}`).join('; '),
        details: err.issues.map((i) => ({ path: i.path, message: i.message, code: i.code })),
      },
    };
  }
  if (err instanceof LabelConfigError) {
    return { status: 400, body: { error: 'invalid_label_config', message: err.message } };
  }
  if (err instanceof HttpError) {
    return { status: err.status, body: { error: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) } };
  }
  const parserError = err as BodyParserError;
  if (parserError?.type === 'entity.parse.failed') {
    return { status: 400, body: { error: 'invalid_json', message: `request body is not valid JSON: ${parserError.message}` } };
  }
  if (parserError?.type === 'entity.too.large') {
    return { status: 413, body: { error: 'payload_too_large', message: `request body exceeds the ${parserError.limit} byte limit (BODY_LIMIT)` } };
  }
  if (parserError?.type && typeof parserError.status === 'number' && parserError.status < 500) {
    return { status: parserError.status, body: { error: 'bad_request', message: parserError.message } };
  }
  if (isRedisUnavailable(err)) {
    return { status: 503, body: { error: 'store_unavailable', message: 'the shared store (Redis) is unreachable; retry shortly' } };
  }
  return { status: 500, body: { error: 'internal_error', message: 'internal error; see the server log for this request id' } };
}
