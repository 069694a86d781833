/**
 * Distributed training queue on BullMQ. The job options are the ones the spike measured to collapse
 * bursts without losing the last event and without overlapping runs of one project:
 * `delay` (debounce) + `deduplication: { id: project, keepLastIfActive: true, replace: true }`.
 * Any number of processes may call `request`; any number may run `startWorker`.
 */
import { DelayedError, Job, Queue, QueueEvents, UnrecoverableError, Worker, type JobsOptions } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { isNonRetryableError } from '../sdk/errors.js';
import type { JobFilter, JobRecord, JobStatus } from '../store/types.js';
import { connectRedis, KEY_PREFIX, waitForReady } from '../store/redis/connection.js';
import { formatJobId, parseJobId } from '../util/job-id.js';
import {
  blankJobRecord,
  scheduleOptions,
  type FinishedListener,
  type JobCounts,
  type QueueOptions,
  type TrainingOutcome,
  type TrainingProcessor,
  type TrainingQueue,
  type TrainingRequest,
  type WorkerInfo,
} from './queue.js';
import { HEARTBEAT_INTERVAL_MS, liveWorkers, WorkerHeartbeat } from './worker-heartbeat.js';
import { describeThisWorker } from './worker-info.js';
import { dueAt, fold, spacedUntil, type PendingTraining, type ScheduleOptions } from './schedule.js';

const QUEUE_NAME = 'training';
/** BullMQ's key prefix: every queue key is `lsml-bull:training:…`. */
export const BULL_PREFIX = 'lsml-bull';
/** Request ids kept per project, and for all projects, for `GET /jobs` (superseded requests included). */
const RECENT_JOBS = 100;
const ALL_RECENT_JOBS = 1000;
const ALL_RECENT_KEY = `${KEY_PREFIX}jobs-recent`;
const projectRecentKey = (projectId: string) => `${KEY_PREFIX}jobs:${projectId}`;
const foldedKey = (id: string) => `${KEY_PREFIX}folded:${id}`;
/** Jobs read from Redis at once while resolving a listing. */
const RESOLVE_CHUNK = 50;
/** How long an absorbed request's id stays answerable at /jobs/<id>. */
const FOLDED_TTL_S = 24 * 3600;

type BullQueueOptions = QueueOptions & { prefix?: string; lockDurationMs?: number; heartbeatMs?: number };

interface JobData extends TrainingRequest {
  /** Epoch ms of the newest request this job carries. */
  requestedAt: number;
  /** Epoch ms of the first request folded into it: the max-wait deadline counts from here (absent on older jobs). */
  firstRequestedAt?: number;
  /** A folded request was START_TRAINING: not spaced. */
  unspaced?: boolean;
}

/**
 * A request's view of the project in one round trip: a new job number, when the project's next spaced
 * training may start, and the data of the job this request will fold into (the delayed job, or the
 * follow-up stored for a running one), whose first request time it inherits.
 * KEYS: job counter, dedup key, delayed set, stored follow-up hash, spacing key. ARGV: job key prefix.
 */
const REQUEST_STATE = `
local seq = redis.call('INCR', KEYS[1])
local spaced = redis.call('GET', KEYS[5]) or '0'
local jid = redis.call('GET', KEYS[2])
local data
if jid and redis.call('ZSCORE', KEYS[3], jid) then
  data = redis.call('HGET', ARGV[1] .. jid, 'data')
else
  data = redis.call('HGET', KEYS[4], 'data')
end
return {seq, spaced, data or ''}`;

/**
 * Records a request's id at the head of its project's list and of the all-projects list, each trimmed to its
 * length: one command per request (a MULTI of four would be six). KEYS: project list, all list. ARGV: id, lengths.
 */
const REMEMBER_REQUEST = `
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1)
redis.call('LPUSH', KEYS[2], ARGV[1])
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[3]) - 1)
return 1`;

type ProducerWithScripts = Redis & {
  lsmlTrainingRequest(counter: string, dedup: string, delayed: string, followUp: string, spacing: string, jobPrefix: string): Promise<[number, string, string]>;
  lsmlRememberRequest(projectList: string, allList: string, id: string, projectLength: number, allLength: number): Promise<number>;
};

export class BullTrainingQueue implements TrainingQueue {
  private readonly producer: ProducerWithScripts;
  private readonly queue: Queue<JobData, TrainingOutcome>;
  private worker: Worker<JobData, TrainingOutcome> | undefined;
  private heartbeat: WorkerHeartbeat | undefined;
  private events: { stream: QueueEvents; connection: Redis } | undefined;
  private readonly finishedListeners = new Set<FinishedListener>();
  private readonly prefix: string;
  private readonly schedule: ScheduleOptions;

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
    this.prefix = options.prefix ?? BULL_PREFIX;
    this.schedule = scheduleOptions(options);
    this.producer = connectRedis(redisUrl) as ProducerWithScripts;
    this.producer.on('error', () => {});
    this.producer.defineCommand('lsmlTrainingRequest', { numberOfKeys: 5, lua: REQUEST_STATE });
    this.producer.defineCommand('lsmlRememberRequest', { numberOfKeys: 2, lua: REMEMBER_REQUEST });
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
    const q = this.queue.qualifiedName;
    const dedup = dedupId(request.projectId);
    const [seq, spaced, previousData] = await this.producer.lsmlTrainingRequest(
      `${KEY_PREFIX}job-seq`,
      `${q}:de:${dedup}`,
      `${q}:delayed`,
      `${q}:dn:${dedup}`,
      spacingKey(request.projectId),
      `${q}:`,
    );
    const id = formatJobId(request.projectId, seq);
    const now = Date.now();
    // The job this request replaces hands on its first request's time: BullMQ's replace-with-delay alone
    // would push the start back on every request, for ever under steady annotation.
    const pending = fold(pendingOf(previousData), now, request.event === 'START_TRAINING');
    // For a follow-up of a running job BullMQ counts the delay from the run's end; the worker applies spacing then.
    const delay = Math.max(0, dueAt(pending, this.schedule, pending.unspaced ? 0 : Number(spaced)) - now);
    const opts: JobsOptions = {
      jobId: id,
      delay,
      deduplication: { id: dedup, keepLastIfActive: true, replace: true },
    };
    const data: JobData = { ...request, requestedAt: now, firstRequestedAt: pending.firstRequestAt, unspaced: pending.unspaced };
    // The recent-jobs lists do not depend on where BullMQ puts the job, so they go out with the add: one
    // round trip where there were two (a trigger event already waits on several while trainings start).
    const [added] = await Promise.all([
      this.queue.add('train', data, opts),
      this.producer.lsmlRememberRequest(projectRecentKey(request.projectId), ALL_RECENT_KEY, id, RECENT_JOBS, ALL_RECENT_JOBS),
    ]);
    // A job that is due but not yet picked up ('waiting') absorbs new requests without keeping their id;
    // it has not started, so it trains their data. Remember which job that was, for /jobs/<id>.
    if (added.id !== id && !(await this.exists(id)) && (await this.pendingFollowUp(request.projectId)) !== id) {
      await this.producer.set(foldedKey(id), added.id!, 'EX', FOLDED_TTL_S);
    }
    return id;
  }

  private async exists(id: string): Promise<boolean> {
    return (await Job.fromId(this.queue, id)) !== undefined;
  }

  async job(id: string): Promise<JobRecord | undefined> {
    const found = await this.record(id);
    if (found) return found;
    const ref = parseJobId(id);
    if (!ref) return undefined;
    // Only requests of the same project, newer than this one, can say what became of it.
    const newer = (await this.producer.lrange(projectRecentKey(ref.projectId), 0, -1)).filter((other) => (parseJobId(other)?.seq ?? 0) > ref.seq);
    const [record] = await this.resolve([id, ...newer], (r) => r.id === id, 1);
    return record;
  }

  async list(filter: JobFilter): Promise<JobRecord[]> {
    const ids = await this.producer.lrange(filter.projectId === undefined ? ALL_RECENT_KEY : projectRecentKey(filter.projectId), 0, -1);
    return this.resolve(ids, (r) => filter.status === undefined || r.status === filter.status, filter.limit);
  }

  /**
   * The records of request ids, newest first, those `keep` accepts, at most `limit`. An id without a BullMQ
   * job is the follow-up BullMQ stores for a running job (`waiting`), or a request folded into another job
   * (`superseded`): into a job already due (remembered in `folded:<id>`), or, replaced while it waited, into
   * the oldest newer request of its project that has a job.
   */
  private async resolve(ids: string[], keep: (record: JobRecord) => boolean, limit: number): Promise<JobRecord[]> {
    const ordered = [...new Set(ids)]
      .map((id) => ({ id, ref: parseJobId(id) }))
      .filter((e): e is { id: string; ref: { projectId: string; seq: number } } => e.ref !== undefined)
      .sort((a, b) => b.ref.seq - a.ref.seq);
    const followUps = new Map<string, string | null>();
    /** Per project, the oldest request seen so far (walking newest first) that a job trains. */
    const successor = new Map<string, string>();
    const out: JobRecord[] = [];
    for (let i = 0; i < ordered.length && out.length < limit; i += RESOLVE_CHUNK) {
      const chunk = ordered.slice(i, i + RESOLVE_CHUNK);
      const newProjects = [...new Set(chunk.map((e) => e.ref.projectId))].filter((p) => !followUps.has(p));
      const [records, folded, pending] = await Promise.all([
        Promise.all(chunk.map((e) => this.record(e.id))),
        this.producer.mget(chunk.map((e) => foldedKey(e.id))),
        Promise.all(newProjects.map((p) => this.pendingFollowUp(p))),
      ]);
      newProjects.forEach((p, k) => followUps.set(p, pending[k]!));
      chunk.forEach(({ id, ref }, k) => {
        let record = records[k];
        if (!record && followUps.get(ref.projectId) === id) record = blankJobRecord(id, ref.projectId, { status: 'waiting' });
        if (record) successor.set(ref.projectId, id);
        else {
          const by = folded[k] ?? successor.get(ref.projectId);
          if (by) record = blankJobRecord(id, ref.projectId, { status: 'superseded', supersededBy: by });
        }
        if (record && out.length < limit && keep(record)) out.push(record);
      });
    }
    return out;
  }

  private async record(id: string): Promise<JobRecord | undefined> {
    const job = await Job.fromId<JobData, TrainingOutcome>(this.queue, id);
    if (!job) return undefined;
    const state = await job.getState();
    // The job may finish between the two reads: a finished state with no finish time comes from a snapshot
    // taken before it, so read the job again (BullMQ writes both in one script) rather than report a
    // "completed" job without its version.
    if ((state === 'completed' || state === 'failed') && !job.finishedOn) {
      const finished = await Job.fromId<JobData, TrainingOutcome>(this.queue, id);
      return finished ? toRecord(finished, state) : undefined;
    }
    return toRecord(job, state);
  }

  /** The id BullMQ stored for the follow-up of a running job (keepLastIfActive), if any. */
  private async pendingFollowUp(projectId: string): Promise<string | null> {
    return this.producer.hget(`${this.queue.qualifiedName}:dn:${dedupId(projectId)}`, 'jid');
  }

  async recentJobs(projectId: string, limit: number): Promise<JobRecord[]> {
    const ids = await this.producer.lrange(projectRecentKey(projectId), 0, limit - 1);
    const records = await Promise.all(ids.map((id) => this.record(id)));
    return records.filter((r): r is JobRecord => r !== undefined);
  }

  async counts(): Promise<JobCounts> {
    const n = await this.queue.getJobCounts('waiting', 'prioritized', 'waiting-children', 'delayed', 'active', 'completed', 'failed');
    return {
      waiting: (n.waiting ?? 0) + (n.prioritized ?? 0) + (n['waiting-children'] ?? 0),
      delayed: n.delayed ?? 0,
      active: n.active ?? 0,
      completed: n.completed ?? 0,
      failed: n.failed ?? 0,
    };
  }

  workers(): Promise<WorkerInfo[]> {
    return liveWorkers(this.producer);
  }

  async ping(): Promise<void> {
    await this.producer.ping();
  }

  /** The BullMQ queue itself, for the queue dashboard. */
  get bullQueue(): Queue {
    return this.queue;
  }

  /** Every process hears of every finished training through BullMQ's event stream, whichever worker ran it. */
  onFinished(listener: FinishedListener): () => void {
    this.finishedListeners.add(listener);
    if (!this.events) {
      const connection = new Redis(this.redisUrl, { maxRetriesPerRequest: null });
      connection.on('error', () => {});
      // Read from now, not from whenever the connection comes up: a training that ends meanwhile still counts.
      const stream = new QueueEvents(QUEUE_NAME, { connection, prefix: this.prefix, lastEventId: `${Date.now()}-0` });
      this.events = { stream, connection };
      stream.on('error', (err) => this.log.debug({ err: err.message }, 'training queue events connection error'));
      const announce = ({ jobId }: { jobId: string }) => {
        this.record(jobId).then(
          (record) => {
            if (record?.status === 'completed' || record?.status === 'failed') for (const l of this.finishedListeners) l(record);
          },
          () => undefined,
        );
      };
      stream.on('completed', announce);
      stream.on('failed', announce);
    }
    return () => this.finishedListeners.delete(listener);
  }

  async startWorker(processor: TrainingProcessor): Promise<void> {
    const connection = new Redis(this.redisUrl, { maxRetriesPerRequest: null });
    connection.on('error', () => {});
    // The processor awaits a worker thread, so this event loop stays free to renew the job lock;
    // a killed process stops renewing, the job stalls and another worker picks it up.
    this.worker = new Worker<JobData, TrainingOutcome>(
      QUEUE_NAME,
      async (job, token) => {
        await this.holdUntilSpaced(job, token);
        const started = Date.now();
        try {
          return await processor(
            { projectId: job.data.projectId, event: job.data.event, payload: job.data.payload, id: job.id!, attempt: job.attemptsMade + 1 },
            (fraction) => void job.updateProgress(fraction).catch(() => {}),
          );
        } catch (err) {
          // BullMQ skips the remaining attempts for its own UnrecoverableError only.
          throw isNonRetryableError(err) ? new UnrecoverableError(err.message) : err;
        } finally {
          await this.recordRun(job.data.projectId, started);
        }
      },
      {
        connection,
        prefix: this.prefix,
        concurrency: this.options.concurrency,
        ...lockTimings(this.options.lockDurationMs ?? 15_000),
        maxStalledCount: 2,
      },
    );
    this.worker.on('error', (err) => this.log.warn({ err: err.message }, 'training worker connection error'));
    this.worker.on('failed', (job, err) => this.log.warn({ jobId: job?.id, projectId: job?.data.projectId, err: err.message }, 'training failed'));
    await this.worker.waitUntilReady();
    this.heartbeat = new WorkerHeartbeat(this.producer, describeThisWorker(this.options.concurrency), this.log, this.options.heartbeatMs ?? HEARTBEAT_INTERVAL_MS);
    await this.heartbeat.start();
  }

  /**
   * A job that became due before the project's spacing has passed (a follow-up, whose delay BullMQ counts
   * from the end of the run before it; a retry) goes back to the delayed set until then, without using an
   * attempt. New requests meanwhile replace it as they replace any delayed job.
   */
  private async holdUntilSpaced(job: Job<JobData, TrainingOutcome>, token: string | undefined): Promise<void> {
    if (job.data.unspaced || this.schedule.spacingFactor <= 0) return;
    // Unreadable (a Redis hiccup): train now rather than fail an attempt over a cost bound.
    const until = Number((await this.producer.get(spacingKey(job.data.projectId)).catch(() => null)) ?? 0);
    if (until <= Date.now()) return;
    await job.moveToDelayed(until, token);
    throw new DelayedError();
  }

  /** Remembers when the project's next spaced training may start; the key expires once that time has passed. */
  private async recordRun(projectId: string, started: number): Promise<void> {
    const ended = Date.now();
    const until = spacedUntil(ended, ended - started, this.schedule.spacingFactor);
    if (until <= ended) return;
    await this.producer.set(spacingKey(projectId), String(until), 'PX', until - ended + 1_000).catch(() => {});
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
    // Gone from the live workers before draining: this process takes no new jobs from here on.
    await bounded(this.heartbeat?.stop() ?? Promise.resolve());
    await bounded(this.events?.stream.close() ?? Promise.resolve());
    this.events?.connection.disconnect();
    await bounded(this.worker?.close(redisDown) ?? Promise.resolve());
    await bounded(this.queue.close());
    this.producer.disconnect();
  }
}

/**
 * How fast a dead worker's job moves on. BullMQ's stalled check (one Lua script per `stalledInterval` for
 * the whole queue, whichever worker runs it) moves an active job back to waiting once its lock has expired;
 * a live worker renews the lock every `lockRenewTime / 2` to `lockRenewTime`. So a worker that dies loses
 * its job between `lockDuration - lockRenewTime` and `lockDuration + stalledInterval` after its last renewal:
 * with the renewal at a quarter of the lock and a check every second, between 3/4 × TRAIN_LOCK_MS and
 * TRAIN_LOCK_MS + 1 s after it died, and an idle worker takes it at once. (BullMQ's defaults, a renewal at
 * half the lock and a check every 30 s, would make that TRAIN_LOCK_MS / 2 to TRAIN_LOCK_MS + 30 s.)
 * A live worker keeps its job as long as its event loop is never blocked for 3/4 of the lock.
 */
export function lockTimings(lockMs: number): { lockDuration: number; lockRenewTime: number; stalledInterval: number } {
  return {
    lockDuration: lockMs,
    lockRenewTime: Math.max(1, Math.floor(lockMs / 4)),
    stalledInterval: Math.max(1, Math.min(1_000, Math.floor(lockMs / 2))),
  };
}

function dedupId(projectId: string): string {
  return `train-${projectId}`;
}

function spacingKey(projectId: string): string {
  return `${KEY_PREFIX}train-spaced:${projectId}`;
}

/** The schedule state of the job a request folds into, from its stored data ('' when there is none). */
function pendingOf(data: string): PendingTraining | undefined {
  if (!data) return undefined;
  try {
    const job = JSON.parse(data) as Partial<JobData>;
    if (typeof job.requestedAt !== 'number') return undefined;
    return { firstRequestAt: job.firstRequestedAt ?? job.requestedAt, lastRequestAt: job.requestedAt, unspaced: job.unspaced === true };
  } catch {
    return undefined;
  }
}

/**
 * Our status of a BullMQ job state: BullMQ's `prioritized` and `waiting-children` (and `wait`, its older
 * name) are due and not yet taken, which is our `waiting`; `delayed` (debounce, spacing, retry backoff) stays.
 */
export function statusOfState(state: string): JobStatus {
  return state === 'active' || state === 'completed' || state === 'failed' || state === 'delayed' ? state : 'waiting';
}

function toRecord(job: Job<JobData, TrainingOutcome>, state: string): JobRecord {
  const status = statusOfState(state);
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
