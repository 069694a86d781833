/**
 * Process lifecycles for `start` and `worker`: start, log where we are, shut down cleanly on SIGTERM/SIGINT.
 * What a user can get wrong at start-up (the model, the port, MODEL_DIR, REDIS_URL for a worker) is thrown
 * as a StartupError, which the command line prints as one line.
 */
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config } from './config.js';
import { createContext, type AppContext, type ContextOptions } from './context.js';
import { createApp } from './server/app.js';
import { StartupError } from './util/startup-error.js';

export interface RunningServer {
  url: string;
  ctx: AppContext;
  server: http.Server;
  close(): Promise<void>;
}

/** Starts the HTTP API (and, unless disabled or distributed without it, the embedded training worker). */
export async function startServer(config: Config, options: ContextOptions = {}): Promise<RunningServer> {
  ensureWritableDir(config.modelDir);
  const ctx = await createContext(config, options);
  const app = createApp(ctx);
  const server = http.createServer(app);
  server.keepAliveTimeout = 65_000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, resolve);
    });
  } catch (err) {
    await ctx.close();
    throw listenFailure(err, config);
  }
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
    throw new StartupError('the worker needs REDIS_URL (it takes jobs from the shared queue)', 'set REDIS_URL=redis://host:6379, or run only `ls-ml-backend start`, which trains by itself without Redis');
  }
  ensureWritableDir(config.modelDir);
  const ctx = await createContext(config);
  onShutdown(ctx.log, () => ctx.close()); // before waiting for Redis, so SIGTERM always shuts down cleanly
  await ctx.startWorker();
  ctx.log.info({ model: ctx.host.modelClassName, concurrency: config.training.concurrency }, 'training worker started');
}

/** Stores, artifacts and downloaded task files live under MODEL_DIR: refuse to start without it. */
function ensureWritableDir(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new StartupError(`MODEL_DIR ${dir} is not a writable folder (${code})`, 'set MODEL_DIR to a folder this user can create and write, or fix its permissions');
  }
}

function listenFailure(err: unknown, config: Config): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  const where = `${config.host}:${config.port}`;
  switch (code) {
    case 'EADDRINUSE':
      return new StartupError(`port ${config.port} is already in use (${where})`, 'stop the process using it or choose another port with --port or PORT=');
    case 'EACCES':
      return new StartupError(`not allowed to listen on ${where}`, 'use a port above 1023 (--port or PORT=), or run with the needed privilege');
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new StartupError(`cannot listen on host ${config.host} (${code})`, 'use an address of this machine, e.g. 0.0.0.0 or 127.0.0.1 (--host or HOST=)');
    default:
      return err;
  }
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
