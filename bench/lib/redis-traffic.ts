/**
 * Bytes through a Redis server, from `INFO stats` (total_net_input_bytes / total_net_output_bytes):
 * everything every client sent and received, so the numbers are only this run's on a Redis the bench
 * started itself. On a Redis named by REDIS_URL, other clients' traffic is counted too.
 */
import { Redis } from 'ioredis';

export interface RedisBytes {
  in: number;
  out: number;
}

export interface RedisTraffic {
  sample(): Promise<RedisBytes>;
  close(): void;
}

export async function redisTraffic(url: string): Promise<RedisTraffic> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  return {
    async sample() {
      const info = await redis.info('stats');
      const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? NaN);
      return { in: field('total_net_input_bytes'), out: field('total_net_output_bytes') };
    },
    close: () => redis.disconnect(),
  };
}

export const bytesBetween = (a: RedisBytes, b: RedisBytes): RedisBytes => ({ in: b.in - a.in, out: b.out - a.out });

/** Keys in the database of `url`: a database given to the bench must be empty (it is never flushed). */
export async function keysIn(url: string): Promise<number> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  try {
    return await redis.dbsize();
  } finally {
    redis.disconnect();
  }
}
