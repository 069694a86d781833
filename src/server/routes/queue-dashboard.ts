import type { IRouter, RequestHandler } from 'express';
import type { Queue } from 'bullmq';
import type { AppContext } from '../../context.js';

export const QUEUE_DASHBOARD_PATH = '/admin/queues';

/**
 * bull-board at `/admin/queues` (distributed mode only: the embedded queue is not BullMQ), behind the app's
 * basic auth like every other route. Its modules load on the first visit, so the API starts without them.
 */
export function queueDashboardRoutes(router: IRouter, ctx: AppContext): void {
  const queue = ctx.queue.bullQueue;
  if (!queue) return;
  let board: Promise<RequestHandler> | undefined;
  router.use(QUEUE_DASHBOARD_PATH, (req, res, next) => {
    (board ??= dashboard(queue)).then((handler) => handler(req, res, next), next);
  });
}

async function dashboard(queue: Queue): Promise<RequestHandler> {
  const [{ createBullBoard }, { BullMQAdapter }, { ExpressAdapter }] = await Promise.all([
    import('@bull-board/api'),
    import('@bull-board/api/bullMQAdapter'),
    import('@bull-board/express'),
  ]);
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(QUEUE_DASHBOARD_PATH);
  createBullBoard({ queues: [new BullMQAdapter(queue)], serverAdapter, options: { uiConfig: { boardTitle: 'ls-ml-backend' } } });
  return serverAdapter.getRouter() as RequestHandler;
}
