import type { Redis } from 'ioredis';
import type { Config } from '../../config.js';
import type { Stores } from '../index.js';
import { connectRedis } from './connection.js';
import { RedisChangeFeed } from './change-feed.js';
import {
  RedisAnnotationStore,
  RedisArtifactStore,
  RedisProjectStore,
  RedisStateStore,
  RedisStatsStore,
  RedisVersionStore,
} from './stores.js';

/** Waits (bounded) for the first connection, so a fresh process does not fail its first commands. */
const READY_TIMEOUT_MS = 5_000;

export async function createRedisStores(config: Pick<Config, 'redisUrl'>): Promise<Stores> {
  const redis = connectRedis(config.redisUrl!);
  // A subscriber connection may only subscribe, and must queue its SUBSCRIBE until connected.
  const subscriber = connectRedis(config.redisUrl!, { enableOfflineQueue: true, maxRetriesPerRequest: null, commandTimeout: undefined });
  redis.on('error', () => {}); // reconnects by itself; requests meanwhile get 503
  subscriber.on('error', () => {});
  const feed = new RedisChangeFeed(redis, subscriber);
  await waitForReady(redis, READY_TIMEOUT_MS);
  const versions = new RedisVersionStore(redis);
  return {
    mode: 'distributed',
    projects: new RedisProjectStore(redis),
    state: new RedisStateStore(redis),
    versions,
    artifacts: new RedisArtifactStore(redis),
    annotations: new RedisAnnotationStore(redis),
    stats: new RedisStatsStore(redis),
    jobs: undefined,
    feed,
    async close() {
      await feed.close();
      versions.close();
      redis.disconnect();
    },
  };
}

function waitForReady(redis: Redis, timeoutMs: number): Promise<void> {
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
