/**
 * Request id, one structured log line and one histogram observation per request. Kept cheap: it runs on
 * every /predict and /webhook (no body logging, no allocation beyond the log object).
 */
import crypto from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { ServerMetrics } from '../metrics.js';

const QUIET_ROUTES = new Set(['/health', '/', '/metrics']);
const idPrefix = crypto.randomBytes(3).toString('hex');
let sequence = 0;

export function requestContext(log: Logger, metrics: ServerMetrics): RequestHandler {
  // The access line holds only id, method, route, status and duration (never a header or body), so it
  // skips the redaction pass, which costs ~50 µs a line with our wildcard paths (~10× the line itself).
  const accessLog = log.child({}, { redact: { paths: [] } });
  return (req, res, next) => {
    const start = process.hrtime.bigint();
    const incoming = req.headers['x-request-id'];
    const id = typeof incoming === 'string' && /^[\w.-]{1,64}$/.test(incoming) ? incoming : `${idPrefix}-${++sequence}`;
    res.locals.requestId = id;
    res.setHeader('X-Request-Id', id);
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      // The matched route pattern keeps label cardinality bounded (never the raw URL).
      const route = req.route?.path ? String(req.route.path) : 'unmatched';
      metrics.observeRequest(req.method, route, res.statusCode, seconds);
      const line = { reqId: id, method: req.method, route, status: res.statusCode, ms: Math.round(seconds * 1e5) / 100 };
      if (res.statusCode >= 500) accessLog.error(line, 'request failed');
      else if (QUIET_ROUTES.has(req.path)) accessLog.debug(line, 'request');
      else accessLog.info(line, 'request');
    });
    next();
  };
}
