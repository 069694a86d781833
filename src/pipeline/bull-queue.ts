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
import { connectRedis, KEY_PREFIX, waitForReady } from '../store/redis/connection.js';
import { blankJobRecord, type QueueOptions, type TrainingOutcome, type TrainingProcessor, type TrainingQueue, type TrainingRequest } from './queue.js';

const QUEUE_NAME = 'training';
const RECENT_JOBS = 20;
/** How long an absorbed request's id stays answerable at /jobs/<id>. */
const FOLDED_TTL_S = 24 * 3600;

type BullQueueOptions = QueueOptions & { prefix?: string; lockDurationMs?: number };

interface JobData extends TrainingRequest {
  requestedAt: number;
}

export class BullTrainingQueue implements TrainingQueue {
  private readonly producer: Redis;
  private readonly queue: Queue<JobData, TrainingOutcome>;
  private worker: Worker<JobData, TrainingOutcome> | undefined;
  private readonly prefix: string;

  /** Opens the queue once its Redis connection is up (bounded), so the first `request` does not fail. */
  static async open(redisUrl: string, options: BullQueueOptions, log: Logger): Promise<BullTrainingQueue> {
    const queue = new BullTrainingQueue(redisUrl, options, log);
    await waitForReady(queue.producer);
    return queue;
  }

  private constructor(
    private readonly redisUrl: string,
    private readonly options: BullQueueOptions,
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

  /**
   * Ids are ours (`<project>.<n>`, n from a Redis counter), so the caller's id names the job that will
   * train its data: a replaced waiting job hands its place to the new id, and a request made during a run
   * becomes the follow-up job under its own id (BullMQ keeps a custom id for the stored next job).
   */
  async request(request: TrainingRequest): Promise<string> {
    const id = `${request.projectId}.${await this.producer.incr(`${KEY_PREFIX}job-seq`)}`;
    const opts: JobsOptions = {
      jobId: id,
      delay: this.options.debounceMs,
      deduplication: { id: dedupId(request.projectId), keepLastIfActive: true, replace: true },
    };
    const recent = `${KEY_PREFIX}jobs:${request.projectId}`;
    // The recent-jobs list does not depend on where BullMQ puts the job, so it goes out with the add: one
    // round trip where there were two (a trigger event already waits on several while trainings start).
    const [added] = await Promise.all([
      this.queue.add('train', { ...request, requestedAt: Date.now() }, opts),
      this.producer.multi().lpush(recent, id).ltrim(recent, 0, RECENT_JOBS - 1).exec(),
    ]);
    // A job that is due but not yet picked up ('waiting') absorbs new requests without keeping their id;
    // it has not started, so it trains their data. Remember which job that was, for /jobs/<id>.
    if (added.id !== id && !(await this.exists(id)) && (await this.pendingFollowUp(request.projectId)) !== id) {
      await this.producer.set(`${KEY_PREFIX}folded:${id}`, added.id!, 'EX', FOLDED_TTL_S);
    }
    return id;
  }

  private async exists(id: string): Promise<boolean> {
    return (await Job.fromId(this.queue, id)) !== undefined;
  }

  async job(id: string): Promise<JobRecord | undefined> {
    const job = await Job.fromId<JobData, TrainingOutcome>(this.queue, id);
    if (job) return toRecord(job, await job.getState());
    const ref = parseJobId(id);
    if (!ref) return undefined;
    const pending = await this.pendingFollowUp(ref.projectId);
    if (pending === id) return { ...blankJobRecord(id, ref.projectId), status: 'waiting' };
    const absorbedBy = await this.producer.get(`${KEY_PREFIX}folded:${id}`);
    if (absorbedBy) return this.supersededRecord(id, ref.projectId, absorbedBy);
    // Folded into a newer request before it ran: describe the job that trains its data instead.
    const newer = (await this.producer.lrange(`${KEY_PREFIX}jobs:${ref.projectId}`, 0, -1))
      .filter((other) => (parseJobId(other)?.seq ?? 0) > ref.seq)
      .reverse();
    for (const candidate of newer) {
      if (candidate === pending || (await this.exists(candidate))) return this.supersededRecord(id, ref.projectId, candidate);
    }
    return undefined;
  }

  /** The record of an id whose data another job trains: its status follows that job's. */
  private async supersededRecord(id: string, projectId: string, by: string): Promise<JobRecord> {
    const successor = await Job.fromId<JobData, TrainingOutcome>(this.queue, by);
    const status = successor ? toRecord(successor, await successor.getState()).status : 'waiting';
    return { ...blankJobRecord(id, projectId), status: status === 'completed' || status === 'failed' ? status : 'waiting', result: { supersededBy: by } };
  }

  /** The id BullMQ stored for the follow-up of a running job (keepLastIfActive), if any. */
  private async pendingFollowUp(projectId: string): Promise<string | null> {
    return this.producer.hget(`${this.queue.qualifiedName}:dn:${dedupId(projectId)}`, 'jid');
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

  /** Waits for running trainings (graceful SIGTERM); with Redis gone there is nothing to hand back, so it does not wait. */
  async close(): Promise<void> {
    const redisDown = this.producer.status !== 'ready';
    const bounded = (p: Promise<unknown>) => (redisDown ? Promise.race([p, new Promise((r) => setTimeout(r, 1_000).unref())]) : p);
    await bounded(this.worker?.close(redisDown) ?? Promise.resolve());
    await bounded(this.queue.close());
    this.producer.disconnect();
  }
}

function dedupId(projectId: string): string {
  return `train-${projectId}`;
}

/** `"12.345"` → project "12", sequence 345 (project ids never contain a dot). */
function parseJobId(id: string): { projectId: string; seq: number } | undefined {
  const dot = id.lastIndexOf('.');
  const seq = Number(id.slice(dot + 1));
  return dot > 0 && Number.isInteger(seq) ? { projectId: id.slice(0, dot), seq } : undefined;
}

function toRecord(job: Job<JobData, TrainingOutcome>, state: string): JobRecord {
  const status: JobStatus = state === 'active' || state === 'completed' || state === 'failed' || state === 'delayed' ? state : 'waiting';
  const outcome = job.returnvalue ?? null;
  return {
    ...blankJobRecord(job.id!, job.data.projectId),
    status,
    event: job.data.event,
    createdAt: new Date(job.timestamp).toISOString(),
    startedAt: job.processedOn ? new Date(job.processedOn).toISOString() : null,
    finishedAt: job.finishedOn ? new Date(job.finishedOn).toISOString() : null,
    durationMs: job.finishedOn && job.processedOn ? job.finishedOn - job.processedOn : null,
    attempts: job.attemptsMade,
    progress: typeof job.progress === 'number' ? job.progress : 0,
    // BullMQ keeps the last attempt's failure reason even after a later attempt succeeds.
    error: status === 'completed' ? null : job.failedReason || null,
    version: outcome?.version ?? null,
    result: outcome ? { ...outcome } : null,
  };
}
