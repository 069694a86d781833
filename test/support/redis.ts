/**
 * Redis for integration tests: a logical database of the calling test file's own, on the server
 * test/support/redis-global-setup.ts chose for the run (`inject('testRedis')`).
 *
 * The backend uses fixed key prefixes (`lsml:` for the stores, `lsml-bull` for BullMQ), so test files
 * cannot share a database. `redisUrlForTest()` takes one, 15 down to 1, with a lock file per database
 * (`open(…, 'wx')` is atomic, so files running in parallel never get the same number; a lock whose process
 * is gone is taken over), and registers the file's hooks:
 *
 * - on the run's own redis-server (the default), the database is flushed before and after the file;
 * - on a server named by TEST_REDIS_URL, which may hold someone else's data, nothing is ever flushed: the
 *   file refuses to run if its database holds any key when it starts, and afterwards deletes only keys
 *   under the backend's prefixes (in a database that was empty, the tests wrote all of them).
 *
 *   const redisUrl = redisUrlForTest();   // redis://127.0.0.1:<port>/15, at the top of the file
 *   await resetRedisDb(redisUrl);         // between tests: drop what the backend wrote
 *
 * Child processes a test spawns simply get the URL. `startDelayingRedisProxy(url, ms)` puts a TCP proxy in
 * front of it that holds each new connection for `ms` before relaying (a slow network, or Redis still
 * starting, as clients see it).
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, inject } from 'vitest';
import { BULL_PREFIX } from '../../src/pipeline/bull-queue.js';
import { KEY_PREFIX } from '../../src/store/redis/connection.js';
import type { TestRedisTarget } from './redis-global-setup.js';

/** Every key the backend writes matches one of these. */
export const BACKEND_KEY_PATTERNS = [`${KEY_PREFIX}*`, `${BULL_PREFIX}:*`] as const;

const FIRST_DB = 15;
const LAST_DB = 1;

export interface TestRedisDb {
  /** `redis://host:port/<db>` */
  readonly url: string;
  readonly db: number;
  /** Before the file's tests. Rejects (and leaves the database alone for good) when it is someone else's. */
  claim(): Promise<void>;
  /** Between tests: removes what the backend wrote. */
  reset(): Promise<void>;
  /** After the file: removes what the backend wrote (if claimed) and frees the database for other files. */
  release(): Promise<void>;
}

type Target = Extract<TestRedisTarget, { url: string }>;

let current: TestRedisDb | undefined;

/**
 * This test file's database (same value on every call). Call it at the top level of the file: it
 * registers the beforeAll/afterAll hooks that claim and release the database.
 */
export function redisUrlForTest(): string {
  if (!current) {
    const target = inject('testRedis');
    if ('error' in target) throw new Error(target.error);
    const db = openTestRedisDb(target);
    current = db;
    beforeAll(() => db.claim());
    afterAll(() => db.release());
  }
  return current.url;
}

/** Removes what the backend wrote to this file's database (between tests that need a clean store). */
export async function resetRedisDb(url: string): Promise<void> {
  if (!current || current.url !== url) throw new Error("resetRedisDb: not this test file's database (call redisUrlForTest() first and pass its URL)");
  await current.reset();
}

/** The database number of a `redis://host:port/<n>` URL (0 when absent). */
export function redisDbOf(url: string): number {
  const match = /\/(\d+)$/.exec(url);
  return match ? Number(match[1]) : 0;
}

/** Takes a free database on `target` (lock file) without touching Redis yet; see `TestRedisDb`. */
export function openTestRedisDb(target: Target): TestRedisDb {
  const db = acquireDb(target.lockDir);
  const url = `${target.url}/${db}`;
  let claimed = false;
  let released = false;
  const reset = async (): Promise<void> => {
    if (!claimed) throw new Error(`database ${db} was not claimed by this test file; refusing to delete anything in it`);
    await withClient(url, (client) => (target.external ? deleteBackendKeys(client) : client.flushdb().then(() => undefined)));
  };
  return {
    url,
    db,
    async claim() {
      if (released) throw new Error(`database ${db} was already released`);
      if (claimed) return;
      if (target.external) {
        const keys = await withClient(url, (client) => client.dbsize());
        if (keys > 0) {
          throw new Error(
            `database ${db} of TEST_REDIS_URL holds ${keys} key(s) the tests did not write; refusing to use it. ` +
              `Point TEST_REDIS_URL at a server whose databases ${LAST_DB}-${FIRST_DB} are empty, or unset it so the tests start their own redis-server.`,
          );
        }
        claimed = true;
        return;
      }
      claimed = true;
      await reset();
    },
    reset,
    async release() {
      if (released) return;
      released = true;
      try {
        if (claimed) await reset();
      } finally {
        claimed = false;
        releaseLock(target.lockDir, db);
      }
    },
  };
}

async function withClient<T>(url: string, use: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 2_000, lazyConnect: true });
  client.on('error', () => {});
  try {
    await client.connect();
    return await use(client);
  } finally {
    client.disconnect();
  }
}

async function deleteBackendKeys(client: Redis): Promise<void> {
  for (const pattern of BACKEND_KEY_PATTERNS) {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      if (keys.length > 0) await client.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  }
}

function acquireDb(lockDir: string): number {
  fs.mkdirSync(lockDir, { recursive: true });
  for (let db = FIRST_DB; db >= LAST_DB; db--) {
    if (tryLock(lockDir, db)) {
      // vitest may end its worker processes with a signal, skipping 'exit' handlers: afterAll releases
      // too, and a lock left behind by a dead process is taken over anyway (see isStale).
      process.once('exit', () => releaseLock(lockDir, db));
      return db;
    }
  }
  throw new Error(`every test database ${LAST_DB}..${FIRST_DB} is held by a running process (locks in ${lockDir})`);
}

function lockFile(lockDir: string, db: number): string {
  return path.join(lockDir, `${db}.lock`);
}

function tryLock(lockDir: string, db: number): boolean {
  const file = lockFile(lockDir, db);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx');
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (!isStale(file)) return false;
      // The holder died without cleaning up: take the lock over (only one contender wins the unlink+create race).
      try {
        fs.unlinkSync(file);
      } catch {
        // someone else removed it first; retry the create
      }
    }
  }
  return false;
}

function isStale(file: string): boolean {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(file, 'utf8').trim());
  } catch {
    return false; // vanished or unreadable: let the next create attempt decide
  }
  if (!Number.isInteger(pid) || pid <= 0) {
    // Written but not yet filled in by its creator? Only treat it as stale once it is old.
    try {
      return Date.now() - fs.statSync(file).mtimeMs > 10_000;
    } catch {
      return false;
    }
  }
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

function releaseLock(lockDir: string, db: number): void {
  const file = lockFile(lockDir, db);
  try {
    if (fs.readFileSync(file, 'utf8').trim() === String(process.pid)) fs.unlinkSync(file);
  } catch {
    // already gone
  }
}

export interface RedisProxy {
  /** `redis://127.0.0.1:<proxy port>/<same db as the target>` */
  url: string;
  /** Connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

/**
 * A TCP proxy in front of Redis that holds every new connection for `connectDelayMs` before relaying it:
 * a slow network or a Redis that is still starting, as the clients see it.
 */
export async function startDelayingRedisProxy(targetUrl: string, connectDelayMs: number): Promise<RedisProxy> {
  const target = new URL(targetUrl);
  const sockets = new Set<net.Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let accepted = 0;
  const server = net.createServer((client) => {
    accepted++;
    sockets.add(client);
    client.pause();
    client.on('error', () => {});
    client.on('close', () => sockets.delete(client));
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (client.destroyed) return;
      const upstream = net.connect(Number(target.port || 6379), target.hostname);
      sockets.add(upstream);
      upstream.on('error', () => client.destroy());
      upstream.on('close', () => {
        sockets.delete(upstream);
        client.destroy();
      });
      client.on('close', () => upstream.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    }, connectDelayMs);
    timers.add(timer);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `redis://127.0.0.1:${port}/${redisDbOf(targetUrl)}`,
    connections: () => accepted,
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
