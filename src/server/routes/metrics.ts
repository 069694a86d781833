import type { IRouter } from 'express';
import type { AppContext } from '../../context.js';
import { registerQueueMetrics } from '../queue-metrics.js';

export function metricsRoutes(router: IRouter, ctx: AppContext): void {
  registerQueueMetrics(ctx);
  router.get('/metrics', async (_req, res) => {
    await ctx.pipeline.refreshGauges();
    res.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
  });
}
