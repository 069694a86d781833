/**
 * Redis for integration tests: the real server on 127.0.0.1:6379 (override the base with TEST_REDIS_URL).
 *
 * The backend uses fixed key prefixes (`lsml:` for the stores, `lsml-bull` for BullMQ), so test files
 * cannot share a logical database. `redisUrlForTest()` gives the calling test process one database of
 * its own, 15 down to 1 (0 is left to humans; bench/webhook.ts defaults to 9 without a lock, so it only
 * collides if ten test files hold databases at once), chosen with a lock file per database under the OS
 * temp dir: `open(…, 'wx')` is atomic, so two test files running in parallel (vitest forks, or two vitest
 * runs side by side) never get the same number. A lock whose process is gone is taken over. The lock is
 * released after the file (afterAll) or when the process exits; child processes a test spawns simply use
 * the URL.
 *
 *   const url = redisUrlForTest();        // redis://127.0.0.1:6379/15
 *   await flushRedisDb(url);              // before and after the file
 *
 * `startDelayingRedisProxy(url, ms)` puts a TCP proxy in front of it that holds each new connection for
 * `ms` before relaying (a slow network, or Redis still starting, as clients see it).
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll } from 'vitest';

const BASE_URL = (process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379').replace(/\/\d*$/, '');
const LOCK_DIR = path.join(os.tmpdir(), 'ls-ml-backend-test-redis-db-locks');
const FIRST_DB = 15;
const LAST_DB = 1;

let allocated: number | undefined;

/** `redis://host:port/<n>` with a database no other running test process holds. Same value on every call. */
export function redisUrlForTest(): string {
  allocated ??= acquireDb();
  return `${BASE_URL}/${allocated}`;
}

/** The database number of a `redis://host:port/<n>` URL (0 when absent). */
export function redisDbOf(url: string): number {
  const match = /\/(\d+)$/.exec(url);
  return match ? Number(match[1]) : 0;
}

/** Empties the URL's logical database (refuses db 0, which tests never own). */
export async function flushRedisDb(url: string): Promise<void> {
  if (redisDbOf(url) === 0) throw new Error(`flushRedisDb: refusing to flush database 0 (${url})`);
  const client = new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 2_000, lazyConnect: true });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.flushdb();
  } finally {
    client.disconnect();
  }
}

/** Number of keys in the URL's database (handy in assertions and when debugging a leak). */
export async function redisKeyCount(url: string): Promise<number> {
  const client = new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 2_000, lazyConnect: true });
  client.on('error', () => {});
  try {
    await client.connect();
    return await client.dbsize();
  } finally {
    client.disconnect();
  }
}

function acquireDb(): number {
  fs.mkdirSync(LOCK_DIR, { recursive: true });
  for (let db = FIRST_DB; db >= LAST_DB; db--) {
    if (tryLock(db)) {
      // vitest may end its worker processes with a signal, skipping 'exit' handlers: release after the
      // file too. (A lock left behind by a dead process is taken over anyway, see isStale.)
      process.once('exit', () => releaseLock(db));
      try {
        afterAll(() => releaseLock(db));
      } catch {
        // called outside a test file's collection: the exit handler and stale-lock takeover remain
      }
      return db;
    }
  }
  throw new Error(`redisUrlForTest: every test database ${LAST_DB}..${FIRST_DB} is held by a running process (locks in ${LOCK_DIR})`);
}

function lockFile(db: number): string {
  return path.join(LOCK_DIR, `${db}.lock`);
}

function tryLock(db: number): boolean {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = fs.openSync(lockFile(db), 'wx');
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (!isStale(db)) return false;
      // The holder died without cleaning up: take the lock over (only one contender wins the unlink+create race).
      try {
        fs.unlinkSync(lockFile(db));
      } catch {
        // someone else removed it first; retry the create
      }
    }
  }
  return false;
}

function isStale(db: number): boolean {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(lockFile(db), 'utf8').trim());
  } catch {
    return false; // vanished or unreadable: let the next create attempt decide
  }
  if (!Number.isInteger(pid) || pid <= 0) {
    // Written but not yet filled in by its creator? Only treat it as stale once it is old.
    try {
      return Date.now() - fs.statSync(lockFile(db)).mtimeMs > 10_000;
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

function releaseLock(db: number): void {
  try {
    if (fs.readFileSync(lockFile(db), 'utf8').trim() === String(process.pid)) fs.unlinkSync(lockFile(db));
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
