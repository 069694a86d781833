/**
 * Redis connections. Store clients fail fast when Redis is down (no offline queue, short command timeout)
 * so `/webhook` can answer 503 within Label Studio's 1 s instead of hanging; ioredis keeps reconnecting
 * in the background and the process recovers by itself when Redis returns.
 */
import { Redis, type RedisOptions } from 'ioredis';

export const KEY_PREFIX = 'lsml:';

export function connectRedis(url: string, overrides: RedisOptions = {}): Redis {
  return new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 800,
    connectTimeout: 2_000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    lazyConnect: false,
    ...overrides,
  });
}

/** Connection problems, as opposed to bad commands: answered 503 by the HTTP layer. */
export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return (
    err.name === 'MaxRetriesPerRequestError' ||
    /Connection is closed|enableOfflineQueue|Command timed out|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|connect ETIMEDOUT|Stream isn't writeable/i.test(err.message)
  );
}

/** Waits (bounded) for the first connection, so a fresh process does not fail its first commands. */
export function waitForReady(redis: Redis, timeoutMs = 5_000): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      redis.off('ready', done);
      resolve();
    };
    // Past the timeout we go on: requests get 503 until Redis answers, and ioredis keeps reconnecting.
    const timer = setTimeout(done, timeoutMs);
    redis.once('ready', done);
  });
}
