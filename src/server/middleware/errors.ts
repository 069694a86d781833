/**
 * Every error becomes JSON: `{error, message, details?, request_id}`. Bad JSON and schema violations are
 * 400 with the field path, oversized bodies 413, unreadable requests (bad encodings, malformed paths) 4xx,
 * unknown routes 404, anything unexpected 500. Never HTML.
 */
import { STATUS_CODES } from 'node:http';
import type { ErrorRequestHandler, Request, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { ZodError } from 'zod';
import { HttpError } from '../../util/errors.js';
import { LabelConfigError } from '../../sdk/label-config.js';
import { isRedisUnavailable } from '../../store/redis/connection.js';

export function notFoundHandler(): RequestHandler {
  return (req, _res, next) => next(new HttpError(404, 'not_found', `no route for ${req.method} ${req.path}`));
}

/**
 * What the transport's errors carry: body-parser and Express's router raise http-errors style errors with
 * a `statusCode`, a `type` (body-parser), a Node `code` (zlib) and a message meant for the client.
 */
interface TransportError extends Error {
  statusCode?: unknown;
  type?: unknown;
  code?: unknown;
  limit?: number;
}

export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    const requestId = res.locals.requestId as string | undefined;
    const { status, body } = describe(err, req);
    if (status >= 500) {
      log.error({ reqId: requestId, route: req.path, err: err instanceof Error ? { message: err.message, stack: err.stack } : String(err) }, 'unhandled error');
    }
    if (res.headersSent) return;
    res.status(status).json({ ...body, request_id: requestId });
  };
}

function describe(err: unknown, req: Request): { status: number; body: Record<string, unknown> } {
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
  const status = clientErrorStatus(err);
  if (status !== undefined) return { status, body: describeClientError(err as TransportError, status, req) };
  if (isRedisUnavailable(err)) {
    return { status: 503, body: { error: 'store_unavailable', message: 'the shared store (Redis) is unreachable; retry shortly' } };
  }
  return { status: 500, body: { error: 'internal_error', message: 'internal error; see the server log for this request id' } };
}

/**
 * The 4xx `statusCode` of an error the transport blames on the request. Only `statusCode` counts (set by
 * http-errors, Express's router and Fastify-style errors): our Label Studio client and task-file errors
 * carry the upstream's answer in `status`, which is a failure of ours, not of the request.
 */
function clientErrorStatus(err: unknown): number | undefined {
  const code = (err as TransportError | null)?.statusCode;
  return typeof code === 'number' && code >= 400 && code < 500 ? code : undefined;
}

type ClientErrorBody = { error: string; message: string };

/**
 * Transport errors by their body-parser `type`, zlib family or name; one entry per way a request can be
 * unreadable. Any other 4xx keeps its status and gets the status's name as its code.
 */
const CLIENT_ERRORS: Record<string, (err: TransportError, req: Request) => ClientErrorBody> = {
  'entity.parse.failed': (err) => ({ error: 'invalid_json', message: `request body is not valid JSON: ${clip(err.message)}` }),
  'entity.too.large': (err) => ({ error: 'payload_too_large', message: `request body exceeds the ${err.limit} byte limit (BODY_LIMIT)` }),
  'encoding.unsupported': (err) => ({ error: 'unsupported_encoding', message: `${clip(err.message)}; send the body as identity, gzip, deflate or br` }),
  'charset.unsupported': (err) => ({ error: 'unsupported_charset', message: `${clip(err.message)}; send the body as UTF-8` }),
  'request.size.invalid': () => ({ error: 'bad_request', message: 'request body length does not match its Content-Length header' }),
  'request.aborted': () => ({ error: 'request_aborted', message: 'the client closed the connection before the body was read' }),
  zlib: (err, req) => ({
    error: 'invalid_encoding',
    message: `request body is not valid ${clip(String(req.headers['content-encoding']))} data (Content-Encoding header): ${clip(err.message)}`,
  }),
  // Express's router: a path parameter that is not valid percent-encoding (`/jobs/%ZZ`).
  URIError: (_err, req) => ({ error: 'invalid_path', message: `the URL path ${clip(JSON.stringify(req.path))} has malformed percent-encoding` }),
};

function describeClientError(err: TransportError, status: number, req: Request): ClientErrorBody {
  const key = catalogueKey(err);
  // Own keys only: a `type` such as "toString" must not reach Object.prototype.
  if (Object.hasOwn(CLIENT_ERRORS, key)) return CLIENT_ERRORS[key]!(err, req);
  const name = STATUS_CODES[status] ?? 'Bad Request';
  return { error: name.toLowerCase().replace(/[^a-z0-9]+/g, '_'), message: typeof err.message === 'string' && err.message ? clip(err.message) : name };
}

/** zlib and brotli name their failures `Z_DATA_ERROR`, `Z_BUF_ERROR`, `ERR__ERROR_FORMAT_PADDING_1`, … */
const ZLIB_CODE = /^(Z_|ERR__ERROR_)/;

function catalogueKey(err: TransportError): string {
  if (typeof err.type === 'string') return err.type;
  if (typeof err.code === 'string' && ZLIB_CODE.test(err.code)) return 'zlib';
  return String(err.name);
}

/** Messages echo what the client sent; a URL or a parser message can be long. */
function clip(text: string, max = 200): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
