import type { Config } from '../../config.js';
import type { Stores } from '../index.js';
import { connectRedis, waitForReady } from './connection.js';
import { RedisChangeFeed } from './change-feed.js';
import {
  RedisAnnotationStore,
  RedisArtifactStore,
  RedisProjectStore,
  RedisStateStore,
  RedisStatsStore,
  RedisVersionStore,
} from './stores.js';

export async function createRedisStores(config: Pick<Config, 'redisUrl'>): Promise<Stores> {
  const redis = connectRedis(config.redisUrl!);
  // Artifacts (megabytes) get a connection of their own: Redis answers a connection's commands in order, so
  // on the shared one a webhook's small writes would wait behind a model being uploaded or downloaded.
  // A longer timeout than the stores' 800 ms, since a large artifact on a busy link may take longer.
  const blobs = connectRedis(config.redisUrl!, { commandTimeout: 10_000 });
  // A subscriber connection may only subscribe, and must queue its SUBSCRIBE until connected.
  const subscriber = connectRedis(config.redisUrl!, { enableOfflineQueue: true, maxRetriesPerRequest: null, commandTimeout: undefined });
  redis.on('error', () => {}); // reconnects by itself; requests meanwhile get 503
  subscriber.on('error', () => {});
  blobs.on('error', () => {});
  const feed = new RedisChangeFeed(redis, subscriber);
  await Promise.all([waitForReady(redis), waitForReady(blobs)]);
  const versions = new RedisVersionStore(redis);
  return {
    mode: 'distributed',
    projects: new RedisProjectStore(redis),
    state: new RedisStateStore(redis),
    versions,
    artifacts: new RedisArtifactStore(blobs),
    annotations: new RedisAnnotationStore(redis),
    stats: new RedisStatsStore(redis),
    jobs: undefined,
    feed,
    async close() {
      await feed.close();
      versions.close();
      redis.disconnect();
      blobs.disconnect();
    },
  };
}
