import type { IRouter, Request, Response } from 'express';
import type { AppContext } from '../../context.js';
import { consoleAssets, sendAsset } from './console.js';

/** The page's own rules: its script, styles and API calls come from this server only. */
const PAGE_POLICY = "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'";

/**
 * A browser asks for HTML first; Label Studio (any type, or no Accept header) and API clients do not, and keep
 * the JSON. The substring test skips the Accept parser on their path.
 */
function wantsHtml(req: Request): boolean {
  const accept = req.headers.accept;
  return accept !== undefined && accept.includes('html') && req.accepts(['application/json', 'text/html']) === 'text/html';
}

/**
 * `GET /health` and `GET /`: Label Studio calls these constantly with a 1 s timeout; no I/O here. `/` also
 * hands a browser the web console (files read once at start-up).
 */
export function healthRoutes(router: IRouter, ctx: AppContext): void {
  const body = JSON.stringify({ status: 'UP', model_class: ctx.host.modelClassName });
  const { page } = consoleAssets();
  const sendJson = (res: Response) => res.type('application/json').send(body);
  router.get('/health', (_req, res) => sendJson(res));
  router.get('/', (req, res) => {
    res.setHeader('Vary', 'Accept');
    if (!wantsHtml(req)) return sendJson(res);
    res.setHeader('Content-Security-Policy', PAGE_POLICY);
    sendAsset(res, page);
  });
}
