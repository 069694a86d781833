/**
 * Distributed training queue on BullMQ. The job options are the ones the spike measured to collapse
 * bursts without losing the last event and without overlapping runs of one project:
 * `delay` (debounce) + `deduplication: { id: project, keepLastIfActive: true, replace: true }`.
 * Any number of processes may call `request`; any number may run `startWorker`.
 */
import { Job, Queue, Worker, type JobsOptions } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { JobRecord, JobStatus } from '../store/types.js';
import { connectRedis, KEY_PREFIX } from '../store/redis/connection.js';
import type { QueueOptions, TrainingOutcome, TrainingProcessor, TrainingQueue, TrainingRequest } from './queue.js';

const QUEUE_NAME = 'training';
const RECENT_JOBS = 20;

interface JobData extends TrainingRequest {
  requestedAt: number;
}

export class BullTrainingQueue implements TrainingQueue {
  private readonly producer: Redis;
  private readonly queue: Queue<JobData, TrainingOutcome>;
  private worker: Worker<JobData, TrainingOutcome> | undefined;
  private readonly prefix: string;

  constructor(
    private readonly redisUrl: string,
    private readonly options: QueueOptions & { prefix?: string; lockDurationMs?: number },
    private readonly log: Logger,
  ) {
    this.prefix = options.prefix ?? 'lsml-bull';
    this.producer = connectRedis(redisUrl);
    this.producer.on('error', () => {});
    this.queue = new Queue<JobData, TrainingOutcome>(QUEUE_NAME, {
      connection: this.producer,
      prefix: this.prefix,
      defaultJobOptions: {
        attempts: options.attempts,
        backoff: { type: 'exponential', delay: options.backoffMs },
        removeOnComplete: { count: 1000 },
        removeOnFail: { count: 1000 },
      },
    });
    this.queue.on('error', (err) => this.log.warn({ err: err.message }, 'training queue connection error'));
  }

  async request(request: TrainingRequest): Promise<string> {
    const opts: JobsOptions = {
      delay: this.options.debounceMs,
      deduplication: { id: `train-${request.projectId}`, keepLastIfActive: true, replace: true },
    };
    const job = await this.queue.add('train', { ...request, requestedAt: Date.now() }, opts);
    const id = job.id!;
    // Job ids replaced by a newer request disappear from BullMQ; remember project → ids for /jobs and stats.
    await this.producer
      .multi()
      .hset(`${KEY_PREFIX}job-project`, id, request.projectId)
      .lrem(`${KEY_PREFIX}jobs:${request.projectId}`, 0, id)
      .lpush(`${KEY_PREFIX}jobs:${request.projectId}`, id)
      .ltrim(`${KEY_PREFIX}jobs:${request.projectId}`, 0, RECENT_JOBS - 1)
      .exec();
    return id;
  }

  async job(id: string): Promise<JobRecord | undefined> {
    const job = await Job.fromId<JobData, TrainingOutcome>(this.queue, id);
    if (job) return toRecord(job, await job.getState());
    const projectId = await this.producer.hget(`${KEY_PREFIX}job-project`, id);
    if (!projectId) return undefined;
    // Folded into a newer request before it ran (debounce), or evicted after completion.
    const latest = (await this.producer.lindex(`${KEY_PREFIX}jobs:${projectId}`, 0)) ?? null;
    return { ...emptyRecord(id, projectId), status: 'completed', error: null, result: { supersededBy: latest === id ? null : latest } };
  }

  async recentJobs(projectId: string, limit: number): Promise<JobRecord[]> {
    const ids = await this.producer.lrange(`${KEY_PREFIX}jobs:${projectId}`, 0, limit - 1);
    const jobs = await Promise.all(ids.map((id) => Job.fromId<JobData, TrainingOutcome>(this.queue, id)));
    const present = jobs.filter((j): j is Job<JobData, TrainingOutcome> => j !== undefined);
    return Promise.all(present.map(async (j) => toRecord(j, await j.getState())));
  }

  async startWorker(processor: TrainingProcessor): Promise<void> {
    const connection = new Redis(this.redisUrl, { maxRetriesPerRequest: null });
    connection.on('error', () => {});
    // The processor awaits a worker thread, so this event loop stays free to renew the job lock;
    // a killed process stops renewing, the job stalls and another worker picks it up.
    this.worker = new Worker<JobData, TrainingOutcome>(
      QUEUE_NAME,
      async (job) =>
        processor(
          { projectId: job.data.projectId, event: job.data.event, payload: job.data.payload, id: job.id!, attempt: job.attemptsMade + 1 },
          (fraction) => void job.updateProgress(fraction).catch(() => {}),
        ),
      {
        connection,
        prefix: this.prefix,
        concurrency: this.options.concurrency,
        lockDuration: this.options.lockDurationMs ?? 15_000,
        stalledInterval: Math.max(1_000, Math.floor((this.options.lockDurationMs ?? 15_000) / 3)),
        maxStalledCount: 2,
      },
    );
    this.worker.on('error', (err) => this.log.warn({ err: err.message }, 'training worker connection error'));
    this.worker.on('failed', (job, err) => this.log.warn({ jobId: job?.id, projectId: job?.data.projectId, err: err.message }, 'training failed'));
    await this.worker.waitUntilReady();
  }

  async idle(): Promise<void> {
    for (;;) {
      const counts = await this.queue.getJobCounts('active', 'waiting', 'delayed', 'prioritized');
      if (Object.values(counts).every((n) => n === 0)) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async close(): Promise<void> {
    await this.worker?.close();
    await this.queue.close();
    this.producer.disconnect();
  }
}

function toRecord(job: Job<JobData, TrainingOutcome>, state: string): JobRecord {
  const status: JobStatus = state === 'active' || state === 'completed' || state === 'failed' || state === 'delayed' ? state : 'waiting';
  const outcome = job.returnvalue ?? null;
  return {
    ...emptyRecord(job.id!, job.data.projectId),
    status,
    event: job.data.event,
    createdAt: new Date(job.timestamp).toISOString(),
    startedAt: job.processedOn ? new Date(job.processedOn).toISOString() : null,
    finishedAt: job.finishedOn ? new Date(job.finishedOn).toISOString() : null,
    durationMs: job.finishedOn && job.processedOn ? job.finishedOn - job.processedOn : null,
    attempts: job.attemptsMade,
    progress: typeof job.progress === 'number' ? job.progress : 0,
    error: job.failedReason || null,
    version: outcome?.version ?? null,
    result: outcome ? { ...outcome } : null,
  };
}

function emptyRecord(id: string, projectId: string): JobRecord {
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
  };
}
