/**
 * Worker-thread entry: opens its own stores (a SQLite connection or Redis clients), loads the model class,
 * and runs the jobs its pool sends. Version changes are announced by the parent, not from here.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Config } from '../config.js';
import { createLogger } from '../logger.js';
import { ModelHost } from '../sdk/model-host.js';
import { loadModelClass } from '../sdk/load-model.js';
import { VersionManager } from '../sdk/versions.js';
import { createStores, SilentChangeFeed } from '../store/index.js';
import { initialVersionOf } from '../sdk/versions.js';
import { runTrainingJob } from './training-job.js';
import type { FromThread, ToThread } from './training-threads.js';

const config = (workerData as { config: Config }).config;
const log = createLogger(config.logLevel).child({ thread: 'training' });
const stores = await createStores(config);
const feed = new SilentChangeFeed();
const ModelClass = await loadModelClass(config.model);
const versions = new VersionManager(stores.versions, stores.artifacts, feed, initialVersionOf(ModelClass, config), config.models.keepVersions);
const host = new ModelHost({
  ModelClass,
  projects: stores.projects,
  state: stores.state,
  artifacts: stores.artifacts,
  versions,
  feed,
  log,
  modelDir: config.modelDir,
  labelStudio: config.labelStudio,
  cache: { max: 1, maxBytes: 1, idleMs: 0 },
});
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
