/**
 * In-process training queue for embedded mode (no REDIS_URL). Same semantics as the BullMQ options the
 * spike settled on (`delay` + `deduplication {keepLastIfActive, replace}`): per project at most one job
 * waiting and one running. Job records live in SQLite, so `/jobs/:id` survives restarts and jobs cut
 * short by a crash are rescheduled at start-up.
 */
import type { Logger } from 'pino';
import { isNonRetryableError } from '../sdk/errors.js';
import type { JobFilter, JobRecord, JobStore } from '../store/types.js';
import { formatJobId } from '../util/job-id.js';
import {
  blankJobRecord,
  scheduleOptions,
  type FinishedListener,
  type JobCounts,
  type QueueOptions,
  type TrainingJob,
  type TrainingProcessor,
  type TrainingQueue,
  type TrainingRequest,
  type WorkerInfo,
} from './queue.js';
import { describeThisWorker } from './worker-info.js';
import { dueAt, fold, spacedUntil, type PendingTraining, type ScheduleOptions } from './schedule.js';

interface Waiting {
  job: TrainingJob;
  timer: NodeJS.Timeout | undefined;
  readyAt: number;
  pending: PendingTraining;
  /** A retry: due after its backoff instead of after the debounce. */
  retryAt?: number;
}

interface ProjectSlot {
  waiting?: Waiting;
  running?: Promise<void>;
}

export class MemoryTrainingQueue implements TrainingQueue {
  private readonly slots = new Map<string, ProjectSlot>();
  /** Per project: when its next spaced training may start (the last run's end + spacingFactor × its duration). */
  private readonly spacing = new Map<string, number>();
  private readonly schedule: ScheduleOptions;
  private processor: TrainingProcessor | undefined;
  private active = 0;
  /** Projects whose waiting job is due but no concurrency slot was free. */
  private readonly ready: string[] = [];
  private closed = false;
  private idleWaiters: Array<() => void> = [];
  private readonly finishedListeners = new Set<FinishedListener>();
  private worker: WorkerInfo | undefined;

  constructor(
    private readonly jobs: JobStore,
    private readonly options: QueueOptions,
    private readonly log: Logger,
  ) {
    this.schedule = scheduleOptions(options);
  }

  async request(request: TrainingRequest): Promise<string> {
    const urgent = request.event === 'START_TRAINING';
    const slot = this.slot(request.projectId);
    if (slot.waiting) {
      // Fold into the waiting job: newest data wins, the quiet period starts again, the first request's deadline stays.
      slot.waiting.job = { ...slot.waiting.job, event: request.event, payload: request.payload };
      slot.waiting.pending = fold(slot.waiting.pending, Date.now(), urgent);
      await this.update(slot.waiting.job.id, { event: request.event });
      this.arm(request.projectId);
      return slot.waiting.job.id;
    }
    // A request folded into the waiting job (above) gets that job's id, so no record here is ever superseded.
    const id = formatJobId(request.projectId, Number(await this.jobs.nextId()));
    // While we awaited, a run may have finished and dropped the slot from the map, or another request
    // may have created the waiting job: look the slot up again rather than use the one read before.
    const current = this.slot(request.projectId);
    if (current.waiting) return this.request(request);
    current.waiting = { job: { ...request, id, attempt: 1 }, timer: undefined, readyAt: 0, pending: fold(undefined, Date.now(), urgent) };
    await this.jobs.put(newJobRecord(id, request, new Date().toISOString()));
    this.arm(request.projectId);
    return id;
  }

  job(id: string): Promise<JobRecord | undefined> {
    return this.jobs.get(id);
  }

  recentJobs(projectId: string, limit: number): Promise<JobRecord[]> {
    return this.jobs.recent(projectId, limit);
  }

  list(filter: JobFilter): Promise<JobRecord[]> {
    return this.jobs.list(filter);
  }

  async counts(): Promise<JobCounts> {
    const n = await this.jobs.countByStatus();
    return { waiting: n.waiting ?? 0, delayed: n.delayed ?? 0, active: n.active ?? 0, completed: n.completed ?? 0, failed: n.failed ?? 0 };
  }

  async workers(): Promise<WorkerInfo[]> {
    return this.worker && !this.closed ? [this.worker] : [];
  }

  async ping(): Promise<void> {}

  onFinished(listener: FinishedListener): () => void {
    this.finishedListeners.add(listener);
    return () => this.finishedListeners.delete(listener);
  }

  /** Starts processing; jobs left unfinished by a previous process are failed and scheduled again. */
  async startWorker(processor: TrainingProcessor): Promise<void> {
    this.processor = processor;
    this.worker = describeThisWorker(this.options.concurrency);
    for (const stale of await this.jobs.unfinished()) {
      const slot = this.slot(stale.projectId);
      if (slot.waiting) continue;
      // Same id as before the restart, so whoever polls /jobs/<id> sees it run to its end.
      slot.waiting = {
        job: { projectId: stale.projectId, event: stale.event as TrainingRequest['event'], payload: null, id: stale.id, attempt: 1 },
        timer: undefined,
        readyAt: 0,
        pending: fold(undefined, Date.now(), stale.event === 'START_TRAINING'),
      };
      await this.jobs.put({ ...stale, status: 'delayed', error: null, startedAt: null });
      this.arm(stale.projectId);
      this.log.info({ projectId: stale.projectId, jobId: stale.id }, 'rescheduled training interrupted by a restart');
    }
    for (const projectId of this.slots.keys()) this.fireIfDue(projectId);
  }

  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const slot of this.slots.values()) if (slot.waiting?.timer) clearTimeout(slot.waiting.timer);
    await Promise.all([...this.slots.values()].map((s) => s.running).filter(Boolean));
  }

  private slot(projectId: string): ProjectSlot {
    let slot = this.slots.get(projectId);
    if (!slot) this.slots.set(projectId, (slot = {}));
    return slot;
  }

  /** (Re)sets the waiting job's timer to when it is due: after a request, after a run (spacing), for a retry. */
  private arm(projectId: string): void {
    const waiting = this.slots.get(projectId)?.waiting;
    if (!waiting || this.closed) return;
    if (waiting.timer) clearTimeout(waiting.timer);
    waiting.readyAt = this.dueOf(projectId, waiting);
    const delayMs = Math.max(0, waiting.readyAt - Date.now());
    waiting.timer = setTimeout(() => {
      waiting.timer = undefined;
      this.fireIfDue(projectId);
    }, delayMs);
  }

  private dueOf(projectId: string, waiting: Waiting): number {
    const spaced = waiting.pending.unspaced ? 0 : (this.spacing.get(projectId) ?? 0);
    return waiting.retryAt !== undefined ? Math.max(waiting.retryAt, spaced) : dueAt(waiting.pending, this.schedule, spaced);
  }

  private fireIfDue(projectId: string): void {
    const slot = this.slots.get(projectId);
    if (!slot?.waiting || slot.waiting.timer || slot.running || !this.processor || this.closed) return;
    if (this.active >= this.options.concurrency) {
      if (!this.ready.includes(projectId)) this.ready.push(projectId);
      return;
    }
    const job = slot.waiting.job;
    slot.waiting = undefined;
    this.active++;
    slot.running = this.run(job).finally(() => {
      this.active--;
      slot.running = undefined;
      // A request that came in during the run: due now, or once the run's spacing has passed. Re-armed even
      // with a timer set: that timer was computed before this run's spacing was known.
      if (slot.waiting) this.arm(projectId);
      this.pump();
      if (!slot.waiting && !slot.running) this.slots.delete(projectId);
      if (this.isIdle()) for (const resolve of this.idleWaiters.splice(0)) resolve();
    });
  }

  /**
   * Starts due projects while there is capacity. Draining until full (not one per finished run) matters:
   * a project taken from the list may turn out not to be due any more, and must not strand the rest.
   */
  private pump(): void {
    while (this.active < this.options.concurrency && this.ready.length > 0) this.fireIfDue(this.ready.shift()!);
  }

  private async run(job: TrainingJob): Promise<void> {
    const started = Date.now();
    await this.update(job.id, { status: 'active', startedAt: new Date(started).toISOString(), attempts: job.attempt });
    try {
      await this.runOnce(job, started);
    } finally {
      const ended = Date.now();
      this.spacing.set(job.projectId, spacedUntil(ended, ended - started, this.schedule.spacingFactor));
    }
  }

  private async runOnce(job: TrainingJob, started: number): Promise<void> {
    try {
      const outcome = await this.processor!(job, (fraction) => void this.update(job.id, { progress: fraction }));
      await this.update(job.id, {
        status: 'completed',
        finishedAt: new Date().toISOString(),
        durationMs: Date.now() - started,
        progress: 1,
        version: outcome.version,
        result: { ...outcome },
        error: null,
      });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const slot = this.slot(job.projectId);
      const retry = job.attempt < this.options.attempts && !isNonRetryableError(err) && !slot.waiting && !this.closed;
      await this.update(job.id, {
        status: retry ? 'delayed' : 'failed',
        error: message,
        finishedAt: retry ? null : new Date().toISOString(),
        durationMs: Date.now() - started,
      });
      this.log.warn({ projectId: job.projectId, jobId: job.id, attempt: job.attempt, err: message, retry }, 'training failed');
      if (retry) {
        const now = Date.now();
        slot.waiting = {
          job: { ...job, attempt: job.attempt + 1 },
          timer: undefined,
          readyAt: 0,
          pending: fold(undefined, now, job.event === 'START_TRAINING'),
          retryAt: now + this.options.backoffMs * 2 ** (job.attempt - 1),
        };
      }
    }
  }

  private async update(id: string, patch: Partial<JobRecord>): Promise<void> {
    const current = await this.jobs.get(id);
    if (!current) return;
    const next = { ...current, ...patch };
    await this.jobs.put(next);
    if (patch.status === 'completed' || patch.status === 'failed') for (const listener of this.finishedListeners) listener(next);
  }

  private isIdle(): boolean {
    return [...this.slots.values()].every((s) => !s.waiting && !s.running);
  }
}

export function newJobRecord(id: string, request: TrainingRequest, now: string): JobRecord {
  return blankJobRecord(id, request.projectId, { status: 'delayed', event: request.event, createdAt: now });
}
