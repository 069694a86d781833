/**
 * Runs in a training thread (loaded by training-thread.ts): opens its own stores (a SQLite connection or
 * Redis clients), loads the model class, and runs the jobs its pool sends. Version changes are announced
 * by the parent, not from here.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Config } from '../config.js';
import { createLogger } from '../logger.js';
import { loadModelClass } from '../sdk/load-model.js';
import { createStores, SilentChangeFeed } from '../store/index.js';
import { createModelRuntime } from '../sdk/model-runtime.js';
import { runTrainingJob } from './training-job.js';
import type { FromThread, ToThread } from './training-threads.js';

const config = (workerData as { config: Config }).config;
const log = createLogger(config.logLevel).child({ thread: 'training' });
const stores = await createStores(config);
const feed = new SilentChangeFeed();
const ModelClass = await loadModelClass(config.model);
// A one-entry cache: training builds a fresh instance per job (ModelHost.instantiate) and never serves.
const { versions, host } = createModelRuntime({ config, stores, feed, ModelClass, log, cache: { max: 1, maxBytes: 1, idleMs: 0 } });
const shutdown = new AbortController();
const port = parentPort!;
const send = (msg: FromThread) => port.postMessage(msg);

port.on('message', (msg: ToThread) => {
  if (msg.type === 'stop') {
    shutdown.abort();
    void stores.close().finally(() => process.exit(0));
    return;
  }
  const { job } = msg;
  runTrainingJob(
    {
      host,
      versions,
      annotations: stores.annotations,
      stats: stores.stats,
      projects: stores.projects,
      labelStudio: { url: config.labelStudio.url, apiKey: config.labelStudio.apiKey },
      log,
      signal: shutdown.signal,
    },
    job,
    (fraction) => send({ type: 'progress', jobId: job.id, fraction }),
  ).then(
    (outcome) => send({ type: 'done', jobId: job.id, outcome }),
    (err: unknown) => send({ type: 'failed', jobId: job.id, error: err instanceof Error ? err.message : String(err) }),
  );
});
