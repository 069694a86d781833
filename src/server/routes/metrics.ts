import type { IRouter } from 'express';
import type { AppContext } from '../../context.js';
import { registerQueueMetrics } from '../queue-metrics.js';

export function metricsRoutes(router: IRouter, ctx: AppContext): void {
  registerQueueMetrics(ctx);
  router.get('/metrics', async (_req, res) => {
    // With Redis down the project gauges keep their last values; the process and HTTP metrics still answer.
    await ctx.pipeline.refreshGauges().catch((err: unknown) => ctx.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'project metrics not refreshed'));
    res.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
  });
}
