/**
 * Training on this process's own event loop, through the same `runTrainingJob` a training thread runs.
 * Only for a model class handed to `createContext` as an object (tests, the test kit): a training thread
 * loads its model by MODEL's name or path, and an object has neither.
 */
import type { TrainingProcessor } from './queue.js';
import { runTrainingJob, type TrainingDeps } from './training-job.js';

export interface InProcessTraining {
  run: TrainingProcessor;
  /** Aborts `ctx.signal` of running fits (shutdown). */
  stop(): void;
}

export function inProcessTraining(deps: Omit<TrainingDeps, 'signal'>): InProcessTraining {
  const shutdown = new AbortController();
  return {
    run: (job, progress) => runTrainingJob({ ...deps, signal: shutdown.signal }, job, progress),
    stop: () => shutdown.abort(),
  };
}
