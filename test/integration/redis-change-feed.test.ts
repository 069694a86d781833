/**
 * Redis pub/sub channels are server-wide, not per database: the change feed names its channel after its
 * database, so two deployments (or test files) on different databases of one server never swap each
 * other's models.
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { changeChannel, RedisChangeFeed } from '../../src/store/redis/change-feed.js';
import type { ProjectChange } from '../../src/store/types.js';
import { redisUrlForTest } from '../support/redis.js';

const redisUrl = redisUrlForTest();
// Pub/sub writes no keys, so a feed on a neighbouring database of the same server leaves its data alone.
const otherUrl = redisUrl.replace(/\/(\d+)$/, (_m, db: string) => `/${Number(db) === 15 ? 14 : Number(db) + 1}`);
const PROJECT = `feed-isolation-${process.pid}`;
const feeds: RedisChangeFeed[] = [];
const clients: Redis[] = [];
function feedOn(url: string): { feed: RedisChangeFeed; heard: ProjectChange[] } {
  const [publisher, subscriber] = [new Redis(url), new Redis(url)];
  clients.push(publisher, subscriber);
  const feed = new RedisChangeFeed(publisher, subscriber);
  feeds.push(feed);
  const heard: ProjectChange[] = [];
  // The neighbouring database may belong to another test file running now: listen to this test's project only.
  feed.subscribe((change) => change.projectId === PROJECT && heard.push(change));
  return { feed, heard };
}
afterAll(async () => {
  await Promise.all(feeds.map((f) => f.close()));
  clients.forEach((c) => c.disconnect());
});

const settle = () => new Promise((resolve) => setTimeout(resolve, 200));

describe('RedisChangeFeed', () => {
  it('two deployments on different databases of one server never hear each other', async () => {
    const mine = feedOn(redisUrl);
    const theirs = feedOn(otherUrl);
    await settle(); // both subscribed
    await theirs.feed.publish({ kind: 'version', projectId: PROJECT, version: 'Theirs-v9' });
    await mine.feed.publish({ kind: 'version', projectId: PROJECT, version: 'Mine-v1' });
    await settle();
    expect(mine.heard).toEqual([{ kind: 'version', projectId: PROJECT, version: 'Mine-v1' }]);
    expect(theirs.heard).toEqual([{ kind: 'version', projectId: PROJECT, version: 'Theirs-v9' }]);
  });

  it('names its channel after the database', () => {
    expect(changeChannel(3)).not.toBe(changeChannel(4));
  });
});
