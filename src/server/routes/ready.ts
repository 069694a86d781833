import type { IRouter } from 'express';
import type { AppContext } from '../../context.js';

/** Longest a readiness check waits on Redis: an orchestrator's probe should get an answer, not a timeout. */
const CHECK_TIMEOUT_MS = 1_500;

export type Readiness = { ready: true } | { ready: false; reason: string };

/**
 * Ready when trainings requested here can run: Redis answers (distributed mode) and some process consumes the
 * queue (a worker heartbeat seen within the last few seconds: this process's own embedded worker or another's).
 */
export async function readiness(ctx: AppContext): Promise<Readiness> {
  if (ctx.stores.mode === 'embedded') {
    return ctx.config.training.embeddedWorker
      ? { ready: true }
      : { ready: false, reason: 'TRAIN_EMBEDDED_WORKER=false without REDIS_URL: no process can run trainings' };
  }
  try {
    await ctx.queue.ping();
  } catch (err) {
    return { ready: false, reason: `Redis unreachable: ${err instanceof Error ? err.message : String(err)}` };
  }
  const workers = await ctx.queue.workers();
  if (workers.length > 0) return { ready: true };
  return {
    ready: false,
    reason: ctx.config.training.embeddedWorker
      ? 'the training worker of this process has not started yet'
      : 'no training worker heartbeat seen recently: start `ls-ml-backend worker` with the same REDIS_URL',
  };
}

/**
 * `GET /ready`: 200 `{"status":"ready"}` or 503 `{"status":"not_ready","reason":…}` for orchestrators and load
 * balancers. Open without basic auth (see app.ts), like a probe expects; `/health` stays Label Studio's.
 */
export function readyRoutes(router: IRouter, ctx: AppContext): void {
  router.get('/ready', async (_req, res) => {
    const result = await withTimeout(readiness(ctx), CHECK_TIMEOUT_MS).catch(
      (err: unknown): Readiness => ({ ready: false, reason: `readiness check failed: ${err instanceof Error ? err.message : String(err)}` }),
    );
    res.setHeader('Cache-Control', 'no-store');
    if (result.ready) res.json({ status: 'ready' });
    else res.status(503).json({ status: 'not_ready', reason: result.reason });
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
