/** The Express app: middleware order matters (context → auth → body → routes → 404 → errors). */
import express, { type Express } from 'express';
import type { AppContext } from '../context.js';
import { basicAuth } from './middleware/basic-auth.js';
import { errorHandler, notFoundHandler } from './middleware/errors.js';
import { requestContext } from './middleware/request-context.js';
import { healthRoutes } from './routes/health.js';
import { metricsRoutes } from './routes/metrics.js';
import { predictRoutes } from './routes/predict.js';
import { projectRoutes } from './routes/projects.js';
import { setupRoutes } from './routes/setup.js';
import { webhookRoutes } from './routes/webhook.js';

export function createApp(ctx: AppContext): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(requestContext(ctx.log, ctx.metrics));
  if (ctx.config.basicAuth) app.use(basicAuth(ctx.config.basicAuth, new Set(['/webhook'])));
  app.use(express.json({ limit: ctx.config.bodyLimitBytes, strict: false, type: () => true }));
  app.use(healthRoutes(ctx));
  app.use(setupRoutes(ctx));
  app.use(predictRoutes(ctx));
  app.use(webhookRoutes(ctx));
  app.use(metricsRoutes(ctx));
  app.use(projectRoutes(ctx));
  app.use(notFoundHandler());
  app.use(errorHandler(ctx.log));
  return app;
}
