/** Process lifecycles for `serve` and `worker`: start, log where we are, shut down cleanly on SIGTERM/SIGINT. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from './config.js';
import { createContext, type AppContext, type ContextOptions } from './context.js';
import { createApp } from './server/app.js';

export interface RunningServer {
  url: string;
  ctx: AppContext;
  server: http.Server;
  close(): Promise<void>;
}

/** Starts the HTTP API (and, unless disabled or distributed without it, the embedded training worker). */
export async function startServer(config: Config, options: ContextOptions = {}): Promise<RunningServer> {
  const ctx = await createContext(config, options);
  const app = createApp(ctx);
  const server = http.createServer(app);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, resolve);
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${address.port}`;
  ctx.log.info(
    { url, mode: ctx.stores.mode, model: ctx.host.modelClassName, modelDir: config.modelDir, trainingInProcess: config.training.embeddedWorker },
    'ls-ml-backend listening',
  );
  if (config.training.embeddedWorker) await startWorkerWithoutBlocking(ctx);
  let closing: Promise<void> | undefined;
  return {
    url,
    ctx,
    server,
    close: () =>
      (closing ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
        });
        await ctx.close();
      })()),
  };
}

export async function runServer(config: Config): Promise<void> {
  const running = await startServer(config);
  onShutdown(running.ctx.log, () => running.close());
}

/**
 * The in-process queue starts at once (it also reschedules trainings a restart interrupted). A BullMQ
 * worker waits for Redis, which may be down: the API must not wait with it, it answers 503 meanwhile.
 */
async function startWorkerWithoutBlocking(ctx: AppContext): Promise<void> {
  const started = ctx.startWorker();
  if (ctx.stores.mode === 'embedded') return started;
  started.catch((err: unknown) => ctx.log.error({ err: err instanceof Error ? err.message : String(err) }, 'training worker failed to start'));
}

export async function runWorker(config: Config): Promise<void> {
  if (!config.redisUrl) {
    process.stderr.write('ls-ml-backend worker: REDIS_URL is required (embedded mode trains inside `npm start`)\n');
    process.exit(2);
  }
  const ctx = await createContext(config);
  onShutdown(ctx.log, () => ctx.close()); // before waiting for Redis, so SIGTERM always shuts down cleanly
  await ctx.startWorker();
  ctx.log.info({ model: ctx.host.modelClassName, concurrency: config.training.concurrency }, 'training worker started');
}

function onShutdown(log: AppContext['log'], close: () => Promise<void>): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: finishing running trainings');
    close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err: err instanceof Error ? err.message : String(err) }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
