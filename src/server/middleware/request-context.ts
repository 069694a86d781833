/**
 * Request id, one structured log line and one histogram observation per request. Kept cheap: it runs on
 * every /predict and /webhook (no body logging, no allocation beyond the log object).
 */
import crypto from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { ServerMetrics } from '../metrics.js';

const idPrefix = crypto.randomBytes(3).toString('hex');
let sequence = 0;

export function requestContext(log: Logger, metrics: ServerMetrics): RequestHandler {
  // The access line holds only id, method, route, status and duration (never a header or body), so it
  // skips the redaction pass, which costs ~50 µs a line with our wildcard paths (~10× the line itself).
  const accessLog = log.child({}, { redact: { paths: [] } });
  return (req, res, next) => {
    const start = performance.now();
    const incoming = req.headers['x-request-id'];
    const id = typeof incoming === 'string' && /^[\w.-]{1,64}$/.test(incoming) ? incoming : `${idPrefix}-${++sequence}`;
    res.locals.requestId = id;
    res.setHeader('X-Request-Id', id);
    res.on('finish', () => {
      const ms = performance.now() - start;
      // The matched route pattern keeps label cardinality bounded (never the raw URL).
      const route = req.route?.path ? String(req.route.path) : 'unmatched';
      metrics.observeRequest(req.method, route, res.statusCode, ms / 1000);
      const level = res.statusCode >= 500 ? 'error' : isQuietRead(req.method, res.statusCode) ? 'debug' : 'info';
      // Built only when it will be written: at LOG_LEVEL=warn a busy /predict skips it entirely.
      if (!accessLog.isLevelEnabled(level)) return;
      const line = { reqId: id, method: req.method, route, status: res.statusCode, ms: Math.round(ms * 100) / 100 };
      accessLog[level](line, level === 'error' ? 'request failed' : 'request');
    });
    next();
  };
}

/**
 * Successful reads (health probes, Prometheus, the console polling every second, Label Studio's version
 * picker) log at debug: at info they would bury the lines that change something (setup, predict, webhook).
 */
function isQuietRead(method: string, status: number): boolean {
  return (method === 'GET' || method === 'HEAD') && status < 400;
}
