/**
 * Training runs in worker threads so `Model.fit` never blocks the event loop that answers Label Studio.
 * A small pool (TRAIN_CONCURRENCY threads, started lazily) runs one job per thread at a time; a thread
 * that dies fails its job and is replaced.
 */
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { workerEntry } from '../util/worker-entry.js';
import type { VersionAnnouncer } from '../runtime/versions.js';
import { NonRetryableError } from '../sdk/errors.js';
import { errorMessage } from '../util/errors.js';
import type { TrainingJob, TrainingOutcome } from './queue.js';

export type ToThread =
  | { type: 'run'; job: TrainingJob }
  | { type: 'announced'; requestId: number; error?: string }
  | { type: 'stop' };
export type FromThread =
  | { type: 'progress'; jobId: string; fraction: number }
  | { type: 'done'; jobId: string; outcome: TrainingOutcome }
  /** `nonRetryable`: the error was a NonRetryableError; only plain data crosses the thread boundary. */
  | { type: 'failed'; jobId: string; error: string; nonRetryable?: boolean }
  /** A version change made in the thread; the parent announces it and answers `announced`. */
  | { type: 'announce'; requestId: number; projectId: string; version: string };

interface Running {
  job: TrainingJob;
  resolve: (outcome: TrainingOutcome) => void;
  reject: (err: Error) => void;
  progress: (fraction: number) => void;
}

interface PooledThread {
  worker: Worker;
  /** Claimed by a `run` (set in the same tick as the claim, so two concurrent runs never share a thread). */
  claimed: boolean;
  running: Running | undefined;
}

export class TrainingThreadPool {
  private readonly threads: PooledThread[] = [];
  private readonly waiting: Array<() => void> = [];
  private closed = false;

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
    /** The parent process's announcer: versions a training publishes reach every serving process through it. */
    private readonly announce: VersionAnnouncer,
  ) {}

  async run(job: TrainingJob, progress: (fraction: number) => void): Promise<TrainingOutcome> {
    const thread = await this.acquire();
    return new Promise<TrainingOutcome>((resolve, reject) => {
      thread.running = { job, resolve, reject, progress };
      thread.worker.postMessage({ type: 'run', job } satisfies ToThread);
    }).finally(() => {
      thread.running = undefined;
      thread.claimed = false;
      this.waiting.shift()?.();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(
      this.threads.map(async (t) => {
        t.worker.postMessage({ type: 'stop' } satisfies ToThread);
        const exited = new Promise((resolve) => t.worker.once('exit', resolve));
        const timer = setTimeout(() => void t.worker.terminate(), 10_000);
        await exited;
        clearTimeout(timer);
      }),
    );
  }

  private async acquire(): Promise<PooledThread> {
    for (;;) {
      if (this.closed) throw new Error('training pool is closed');
      // Claimed here, not when the job is posted: `run` posts after an await, and a second `run` in between
      // would otherwise take the same thread, and the first job's answer would be dropped as not its own.
      const free = this.threads.find((t) => !t.claimed) ?? (this.threads.length < this.config.training.concurrency ? this.spawn() : undefined);
      if (free) {
        free.claimed = true;
        return free;
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  private spawn(): PooledThread {
    const entry = workerEntry(new URL('./training-thread.js', import.meta.url), { config: this.config });
    const thread: PooledThread = { worker: new Worker(entry.filename, { workerData: entry.workerData }), claimed: false, running: undefined };
    thread.worker.on('message', (msg: FromThread) => {
      if (msg.type === 'announce') {
        this.announce(msg.projectId, msg.version).then(
          () => thread.worker.postMessage({ type: 'announced', requestId: msg.requestId } satisfies ToThread),
          (err: unknown) => thread.worker.postMessage({ type: 'announced', requestId: msg.requestId, error: errorMessage(err) } satisfies ToThread),
        );
        return;
      }
      const running = thread.running;
      if (!running || running.job.id !== msg.jobId) return;
      if (msg.type === 'progress') running.progress(msg.fraction);
      else if (msg.type === 'done') running.resolve(msg.outcome);
      else running.reject(msg.nonRetryable ? new NonRetryableError(msg.error) : new Error(msg.error));
    });
    const onDeath = (reason: string) => {
      this.threads.splice(this.threads.indexOf(thread), 1);
      thread.running?.reject(new Error(`training thread died: ${reason}`));
      if (!this.closed) this.log.error({ reason }, 'training thread died');
      this.waiting.shift()?.();
    };
    thread.worker.on('error', (err) => onDeath(err.message));
    thread.worker.on('exit', (code) => {
      if (this.threads.includes(thread)) onDeath(`exit code ${code}`);
    });
    this.threads.push(thread);
    return thread;
  }
}
