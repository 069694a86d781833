/**
 * Runs in a training thread (loaded by training-thread.ts): opens its own stores (a SQLite connection or
 * Redis clients), loads the model class, and runs the jobs its pool sends. A version change made here
 * (a published artifact, a model's `bumpModelVersion()`) is handed to the parent process, which announces
 * it to every serving process; the change resolves once the parent serves it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Config } from '../config.js';
import { createLogger } from '../logger.js';
import { loadModelClass } from '../runtime/load-model.js';
import { createTrainingRuntime } from '../runtime/model-runtime.js';
import type { VersionAnnouncer } from '../runtime/versions.js';
import { createStores } from '../store/index.js';
import { isNonRetryableError } from '../sdk/errors.js';
import { errorMessage } from '../util/errors.js';
import { runTrainingJob } from './training-job.js';
import type { FromThread, ToThread } from './training-threads.js';

const config = (workerData as { config: Config }).config;
const log = createLogger(config.logLevel, undefined, config.logFormat).child({ thread: 'training' });
const port = parentPort!;
const send = (msg: FromThread) => port.postMessage(msg);

const pendingAnnouncements = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
let nextRequestId = 0;
const announceThroughParent: VersionAnnouncer = (projectId, version) =>
  new Promise<void>((resolve, reject) => {
    const requestId = ++nextRequestId;
    pendingAnnouncements.set(requestId, { resolve, reject });
    send({ type: 'announce', requestId, projectId, version });
  });

const stores = await createStores(config);
const ModelClass = await loadModelClass(config.model);
const { versions, factory } = createTrainingRuntime({ config, stores, ModelClass, log }, announceThroughParent);
const shutdown = new AbortController();

port.on('message', (msg: ToThread) => {
  if (msg.type === 'stop') {
    shutdown.abort();
    void stores.close().finally(() => process.exit(0));
    return;
  }
  if (msg.type === 'announced') {
    const pending = pendingAnnouncements.get(msg.requestId);
    pendingAnnouncements.delete(msg.requestId);
    if (msg.error === undefined) pending?.resolve();
    else pending?.reject(new Error(`announcing the new version failed: ${msg.error}`));
    return;
  }
  const { job } = msg;
  runTrainingJob(
    {
      factory,
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
    (err: unknown) => send({ type: 'failed', jobId: job.id, error: errorMessage(err), nonRetryable: isNonRetryableError(err) }),
  );
});
