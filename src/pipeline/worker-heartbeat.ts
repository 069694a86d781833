/**
 * Worker heartbeats in Redis, for `/ready` and the `training_workers` gauge. Each process that consumes
 * training jobs writes `lsml:worker:<id>` (its description, expiring after 3 beats) every beat and lists its
 * id in the set `lsml:workers`; readers keep the ids whose key still exists. A worker that stops cleanly
 * deletes its key at once; one that dies disappears when the key expires.
 *
 * Why not BullMQ's `queue.getWorkers()`: it runs CLIENT LIST, which managed Redis services and ACLs often
 * forbid, and it shows an open connection, not a live process: a worker whose event loop is stuck keeps its
 * connection but stops beating here.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { KEY_PREFIX } from '../store/redis/connection.js';
import type { WorkerInfo } from './queue.js';

export const HEARTBEAT_INTERVAL_MS = 5_000;
const WORKERS_KEY = `${KEY_PREFIX}workers`;
const workerKey = (id: string) => `${KEY_PREFIX}worker:${id}`;

export class WorkerHeartbeat {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: Redis,
    readonly info: WorkerInfo,
    private readonly log: Logger,
    private readonly intervalMs = HEARTBEAT_INTERVAL_MS,
  ) {}

  /** Beats once (awaited, so the worker is visible when `start` resolves), then every interval. */
  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => void this.beat(), this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.redis.multi().del(workerKey(this.info.id)).srem(WORKERS_KEY, this.info.id).exec().catch(() => undefined);
  }

  private async beat(): Promise<void> {
    try {
      await this.redis
        .multi()
        .set(workerKey(this.info.id), JSON.stringify(this.info), 'PX', this.intervalMs * 3)
        .sadd(WORKERS_KEY, this.info.id)
        .exec();
    } catch (err) {
      // Redis is down: the key expires and /ready says so; the next beat after it returns restores it.
      this.log.debug({ err: err instanceof Error ? err.message : String(err) }, 'worker heartbeat not written');
    }
  }
}

/** Workers whose heartbeat has not expired; forgets the ids of those that have. */
export async function liveWorkers(redis: Redis): Promise<WorkerInfo[]> {
  const ids = await redis.smembers(WORKERS_KEY);
  if (ids.length === 0) return [];
  const docs = await redis.mget(ids.map(workerKey));
  const gone = ids.filter((_, i) => docs[i] === null);
  if (gone.length > 0) await redis.srem(WORKERS_KEY, ...gone);
  return docs.filter((d): d is string => d !== null).map((d) => JSON.parse(d) as WorkerInfo);
}
