import { Router } from 'express';
import type { AppContext } from '../../context.js';

export function metricsRoutes(ctx: AppContext): Router {
  const router = Router();
  router.get('/metrics', async (_req, res) => {
    await ctx.pipeline.refreshGauges();
    res.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
  });
  return router;
}
