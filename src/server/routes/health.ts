import type { RequestHandler, IRouter } from 'express';
import type { AppContext } from '../../context.js';

/** `GET /health` and `GET /`: Label Studio calls these constantly with a 1 s timeout; no I/O here. */
export function healthRoutes(router: IRouter, ctx: AppContext): void {
  const body = JSON.stringify({ status: 'UP', model_class: ctx.host.modelClassName });
  const send: RequestHandler = (_req, res) => {
    res.type('application/json').send(body);
  };
  router.get('/health', send);
  router.get('/', send);
}
