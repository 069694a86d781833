/**
 * The test suite's Redis helper (test/support/redis.ts) on a server that also holds someone else's data,
 * as with TEST_REDIS_URL. The server here is a second redis-server of this file's own, so the check itself
 * cannot harm anyone: keys the tests did not write survive the whole life cycle of a test file's database.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { BullTrainingQueue } from '../../src/pipeline/bull-queue.js';
import { createRedisStores } from '../../src/store/redis/index.js';
import { startRedisServer, type RedisServerProcess } from '../support/processes.js';
import { openTestRedisDb, type TestRedisDb } from '../support/redis.js';

let server: RedisServerProcess;
let lockDir: string;
const clients: Redis[] = [];
const opened: TestRedisDb[] = [];

beforeAll(async () => {
  server = await startRedisServer();
  lockDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-ml-redis-isolation-'));
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((db) => db.release().catch(() => undefined)));
  // This file's own server: the next test starts from nothing.
  await someoneElse(0).flushall();
});

afterAll(async () => {
  for (const client of clients) client.disconnect();
  await server?.kill();
  if (lockDir) fs.rmSync(lockDir, { recursive: true, force: true });
});

/** Someone else's client on database `db` of the shared server. */
function someoneElse(db: number): Redis {
  const client = new Redis(`${server.url}/${db}`, { maxRetriesPerRequest: 1 });
  clients.push(client);
  return client;
}

function open(external: boolean): TestRedisDb {
  const db = openTestRedisDb({ url: server.url, external, lockDir });
  opened.push(db);
  return db;
}

/** What the backend writes for one training request and one stored annotation (real stores and queue). */
async function backendWrites(url: string): Promise<void> {
  const stores = await createRedisStores({ redisUrl: url });
  await stores.annotations.upsert('7', [
    { annotationId: 1, taskId: 10, result: [], taskData: { text: 'otter' }, updatedAt: 0, cancelled: false, groundTruth: false },
  ]);
  await stores.close();
  const queue = await BullTrainingQueue.open(url, { debounceMs: 60_000, concurrency: 1, attempts: 1, backoffMs: 100 }, createLogger('silent'));
  await queue.request({ projectId: '7', event: 'START_TRAINING', payload: { action: 'START_TRAINING', project: { id: 7 } } });
  await queue.close();
}

describe('a test database on a Redis shared with someone else (TEST_REDIS_URL)', () => {
  it("deletes what the backend wrote and nothing else, in its database or any other", async () => {
    await someoneElse(0).set('theirs:db0', 'keep');
    const test = open(true);
    await test.claim();
    const mine = someoneElse(test.db);
    await backendWrites(test.url);
    // Someone else writes to the same database while the test file runs.
    await mine.set('theirs:same-db', 'keep');
    const written = await mine.keys('*');
    expect(written.some((k) => k.startsWith('lsml:'))).toBe(true);
    expect(written.some((k) => k.startsWith('lsml-bull:'))).toBe(true);

    await test.reset();
    expect(await mine.keys('*')).toEqual(['theirs:same-db']);
    await backendWrites(test.url);
    await test.release();
    expect(await mine.keys('*')).toEqual(['theirs:same-db']);
    expect(await someoneElse(0).get('theirs:db0')).toBe('keep');
  });

  it('refuses a database that holds any key when the file starts, and then deletes nothing in it', async () => {
    const probe = open(true);
    const db = probe.db;
    await probe.release();
    // Someone's own backend data in that database, under the very prefixes the tests would delete.
    const theirs = someoneElse(db);
    await theirs.set('lsml:stats:12', 'theirs');
    await theirs.set('lsml-bull:training:id', '41');

    const test = open(true);
    expect(test.db).toBe(db);
    await expect(test.claim()).rejects.toThrow(/holds 2 key\(s\) the tests did not write; refusing to use it/);
    await expect(test.reset()).rejects.toThrow(/refusing to delete anything/);
    await test.release();
    expect((await theirs.keys('*')).sort()).toEqual(['lsml-bull:training:id', 'lsml:stats:12']);
  });
});

describe("a test database on the run's own redis-server", () => {
  it('starts empty, whatever a crashed earlier file left there', async () => {
    const probe = open(false);
    const db = probe.db;
    await probe.release();
    await someoneElse(db).set('leftover', '1');
    const test = open(false);
    expect(test.db).toBe(db);
    await test.claim();
    expect(await someoneElse(db).dbsize()).toBe(0);
  });
});
