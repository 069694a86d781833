/**
 * The training queue, one interface with two implementations: `MemoryTrainingQueue` (embedded mode,
 * in-process, job records in SQLite) and `BullTrainingQueue` (distributed mode, BullMQ on Redis).
 * Both give the same guarantees, checked by one shared test suite:
 * - debounce: a request waits `debounceMs` of quiet before it runs; a newer request replaces its data;
 * - bounded wait: it starts at the latest `maxWaitMs` after the first request it folded;
 * - spacing: a project's next training starts no sooner than `spacingFactor` × its last run's duration after
 *   that run ended, unless a folded request was `START_TRAINING` (schedule.ts);
 * - never two trainings of one project at once; a request during a training runs once after it;
 * - the last request is never lost (its data is what the follow-up training sees);
 * - failures retry with exponential backoff, `attempts` times at most.
 */
import type { TrainingAction } from '../labelstudio/payloads.js';
import type { Queue } from 'bullmq';
import type { JobFilter, JobRecord } from '../store/types.js';
import type { ScheduleOptions } from './schedule.js';

export interface TrainingRequest {
  projectId: string;
  event: TrainingAction;
  /**
   * What `Model.fit` gets as `data`. The pipeline sends `trainingPayload(event)` (job-payload.ts), an
   * allowlist of the webhook's fields, never the raw webhook: queues keep jobs at rest.
   */
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
  /** Longest a request waits for quiet, counted from the first request a waiting job folded (absent: no bound). */
  maxWaitMs?: number;
  /** A project's trainings start at least this many times its last run's duration apart (absent: 0, no spacing). */
  spacingFactor?: number;
  concurrency: number;
  attempts: number;
  /** First retry delay; doubles each attempt. */
  backoffMs: number;
}

/** Jobs per state, as both queues count them (BullMQ's `prioritized` and `waiting-children` are `waiting`). */
export interface JobCounts {
  waiting: number;
  delayed: number;
  active: number;
  completed: number;
  failed: number;
}

/** A process running training jobs, as its last heartbeat described it. */
export interface WorkerInfo {
  id: string;
  host: string;
  pid: number;
  concurrency: number;
  startedAt: string;
}

export type FinishedListener = (job: JobRecord) => void;

export interface TrainingQueue {
  /** Schedules a training of the project, or folds the request into the one already waiting; returns its job id. */
  request(request: TrainingRequest): Promise<string>;
  job(id: string): Promise<JobRecord | undefined>;
  /** Jobs actually queued for the project (no superseded requests), newest first. */
  recentJobs(projectId: string, limit: number): Promise<JobRecord[]>;
  /** Every request's id, superseded ones included, newest first (`GET /jobs`). */
  list(filter: JobFilter): Promise<JobRecord[]>;
  counts(): Promise<JobCounts>;
  /** Processes consuming jobs now: a heartbeat seen within the last few seconds (distributed), or this process. */
  workers(): Promise<WorkerInfo[]>;
  /** Throws when the queue's backing service does not answer. */
  ping(): Promise<void>;
  /** Calls `listener` with the final record of every training that completes or finally fails, whichever process ran it. */
  onFinished(listener: FinishedListener): () => void;
  /** The BullMQ queue behind it (distributed mode), for the queue dashboard. */
  readonly bullQueue?: Queue;
  /** Starts running jobs in this process (embedded worker, or `npm run worker`). */
  startWorker(processor: TrainingProcessor): Promise<void>;
  /** Resolves when nothing is waiting or running (tests, shutdown). */
  idle(): Promise<void>;
  /** Stops taking jobs, waits for running ones, releases connections. */
  close(): Promise<void>;
}

/** The schedule options a queue works with, absent ones filled in. */
export function scheduleOptions(options: QueueOptions): ScheduleOptions {
  return { debounceMs: options.debounceMs, maxWaitMs: options.maxWaitMs ?? Number.POSITIVE_INFINITY, spacingFactor: options.spacingFactor ?? 0 };
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
