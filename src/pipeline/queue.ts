/**
 * The training queue, one interface with two implementations: `MemoryTrainingQueue` (embedded mode,
 * in-process, job records in SQLite) and `BullTrainingQueue` (distributed mode, BullMQ on Redis).
 * Both give the same guarantees, checked by one shared test suite:
 * - debounce: a request waits `debounceMs` of quiet before it runs; a newer request replaces its data;
 * - never two trainings of one project at once; a request during a training runs once after it;
 * - the last request is never lost (its data is what the follow-up training sees);
 * - failures retry with exponential backoff, `attempts` times at most.
 */
import type { TrainingAction } from '../labelstudio/payloads.js';
import type { JobRecord } from '../store/types.js';

export interface TrainingRequest {
  projectId: string;
  event: TrainingAction;
  /** The triggering webhook payload, handed to `Model.fit` as `data`. */
  payload: unknown;
}

export interface TrainingJob extends TrainingRequest {
  id: string;
  attempt: number;
}

export interface TrainingOutcome {
  version: string | null;
  examples: number;
  metrics: Record<string, unknown>;
  sync: Record<string, unknown> | null;
  durationMs: number;
  note?: string;
}

export type TrainingProcessor = (job: TrainingJob, progress: (fraction: number) => void) => Promise<TrainingOutcome>;

export interface QueueOptions {
  debounceMs: number;
  concurrency: number;
  attempts: number;
  /** First retry delay; doubles each attempt. */
  backoffMs: number;
}

export interface TrainingQueue {
  /** Schedules a training of the project, or folds the request into the one already waiting; returns its job id. */
  request(request: TrainingRequest): Promise<string>;
  job(id: string): Promise<JobRecord | undefined>;
  recentJobs(projectId: string, limit: number): Promise<JobRecord[]>;
  /** Starts running jobs in this process (embedded worker, or `npm run worker`). */
  startWorker(processor: TrainingProcessor): Promise<void>;
  /** Resolves when nothing is waiting or running (tests, shutdown). */
  idle(): Promise<void>;
  /** Stops taking jobs, waits for running ones, releases connections. */
  close(): Promise<void>;
}

/** A job record with nothing known yet but its id and project; both queues start from it. */
export function blankJobRecord(id: string, projectId: string, patch: Partial<JobRecord> = {}): JobRecord {
  return {
    id,
    projectId,
    status: 'waiting',
    event: '',
    createdAt: '',
    startedAt: null,
    finishedAt: null,
    durationMs: null,
    attempts: 0,
    progress: 0,
    error: null,
    version: null,
    result: null,
    ...patch,
  };
}
