/**
 * The composition root: builds stores, the model host, the queue and the pipeline for the configured
 * mode, and tears them down in the right order. Routes receive this object; nothing else wires things.
 */
import type { Logger } from 'pino';
import type { Config } from './config.js';
import { createLogger } from './logger.js';
import { EventPipeline } from './pipeline/pipeline.js';
import type { TrainingOutcome, TrainingProcessor, TrainingQueue } from './pipeline/queue.js';
import { inProcessTraining } from './pipeline/in-process-training.js';
import { MemoryTrainingQueue } from './pipeline/memory-queue.js';
import { TrainingThreadPool } from './pipeline/training-threads.js';
import { loadModelClass } from './runtime/load-model.js';
import type { ModelHost } from './runtime/model-host.js';
import { createServingRuntime } from './runtime/model-runtime.js';
import type { ModelClass } from './sdk/model.js';
import type { VersionManager } from './runtime/versions.js';
import { createServerMetrics, type ServerMetrics } from './server/metrics.js';
import { createStores, type Stores } from './store/index.js';

export interface AppContext {
  config: Config;
  log: Logger;
  metrics: ServerMetrics;
  stores: Stores;
  host: ModelHost;
  versions: VersionManager;
  queue: TrainingQueue;
  pipeline: EventPipeline;
  /** Starts consuming training jobs in this process. */
  startWorker(): Promise<void>;
  close(): Promise<void>;
}

export interface ContextOptions {
  log?: Logger;
  /** Overrides MODEL (tests, programmatic use); its trainings then run in this process, not in threads. */
  ModelClass?: ModelClass;
}

const RETRY_BACKOFF_MS = 1_000;

export async function createContext(config: Config, options: ContextOptions = {}): Promise<AppContext> {
  const log = options.log ?? createLogger(config.logLevel, undefined, config.logFormat);
  const ModelClass = options.ModelClass ?? (await loadModelClass(config.model));
  const stores = await createStores(config);
  const metrics = createServerMetrics();
  const { versions, factory, host, announce } = createServingRuntime({
    config,
    stores,
    ModelClass,
    log,
    cache: {
      max: config.models.cacheMax,
      maxBytes: config.models.cacheMaxBytes,
      idleMs: config.models.idleUnloadMs,
      prefetchMs: config.models.prefetchMs,
    },
  });
  const queueOptions = {
    debounceMs: config.training.debounceMs,
    maxWaitMs: config.training.maxWaitMs,
    spacingFactor: config.training.spacingFactor,
    concurrency: config.training.concurrency,
    attempts: config.training.attempts,
    backoffMs: RETRY_BACKOFF_MS,
  };
  const queue = await createQueue(config, stores, queueOptions, log);
  const pipeline = new EventPipeline({
    annotations: stores.annotations,
    stats: stores.stats,
    queue,
    versions,
    policy: { minAnnotations: config.training.minAnnotations, everyNChanges: config.training.everyNChanges },
    log,
    registry: metrics.registry,
    // Built in the background: Label Studio gives the webhook 1 s, a model's setup() may take longer.
    onLabelConfig: async (projectId, labelConfig) => {
      void host.model(projectId, labelConfig).catch((err: unknown) => {
        log.warn({ projectId, err: err instanceof Error ? err.message : String(err) }, 'new label config refused by the model');
      });
    },
  });

  let pool: TrainingThreadPool | undefined;
  // A version the thread publishes is announced through this process (and served here) before the job completes.
  const inThreads: TrainingProcessor = (job, progress): Promise<TrainingOutcome> => (pool ??= new TrainingThreadPool(config, log, announce)).run(job, progress);
  // A class handed in as an object cannot be loaded by a thread: it trains here, through the same job code.
  const local = options.ModelClass
    ? inProcessTraining({ factory, versions, annotations: stores.annotations, stats: stores.stats, projects: stores.projects, labelStudio: config.labelStudio, log })
    : undefined;
  const processor = local?.run ?? inThreads;

  return {
    config,
    log,
    metrics,
    stores,
    host,
    versions,
    queue,
    pipeline,
    startWorker: () => queue.startWorker(processor),
    async close() {
      local?.stop();
      await queue.close();
      await pool?.close();
      await host.close();
      await stores.close();
    },
  };
}

async function createQueue(
  config: Config,
  stores: Stores,
  options: ConstructorParameters<typeof MemoryTrainingQueue>[1],
  log: Logger,
): Promise<TrainingQueue> {
  if (config.redisUrl) {
    const { BullTrainingQueue } = await import('./pipeline/bull-queue.js');
    return BullTrainingQueue.open(config.redisUrl, { ...options, lockDurationMs: config.training.lockMs }, log);
  }
  return new MemoryTrainingQueue(stores.jobs!, options, log);
}
