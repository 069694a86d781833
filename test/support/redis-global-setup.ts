/**
 * vitest globalSetup: the Redis server the integration tests use, handed to every test file as
 * `inject('testRedis')` (test/support/redis.ts turns it into a database of the file's own).
 *
 * - Default: a redis-server of this run's own on a free port (no persistence, a temp dir, loopback only),
 *   stopped when the run ends. Nobody else uses it, so test files may flush their databases.
 * - `TEST_REDIS_URL=redis://host:port`: a server someone else may use too. Test files then refuse a
 *   database that holds any key when they start, and delete only the keys the backend wrote into it.
 *
 * Without redis-server on the PATH only the files that need Redis fail, with a message saying what to do.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startRedisServer } from './processes.js';

export type TestRedisTarget =
  | {
      /** `redis://[user:pass@]host:port`, no database. */
      url: string;
      /** true for TEST_REDIS_URL: never flush, touch only what the tests wrote. */
      external: boolean;
      /** Where test files take their per-database lock files. */
      lockDir: string;
    }
  | { error: string };

declare module 'vitest' {
  export interface ProvidedContext {
    testRedis: TestRedisTarget;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const external = process.env.TEST_REDIS_URL;
  if (external) {
    project.provide('testRedis', externalTarget(external));
    return async () => {};
  }
  const lockDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-ml-test-redis-locks-'));
  try {
    const server = await startRedisServer();
    project.provide('testRedis', { url: server.url, external: false, lockDir });
    return async () => {
      await server.kill();
      fs.rmSync(lockDir, { recursive: true, force: true });
    };
  } catch (err) {
    fs.rmSync(lockDir, { recursive: true, force: true });
    const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
    project.provide('testRedis', {
      error: `the tests could not start their own redis-server (${reason}): install it (apt-get install redis-server) or set TEST_REDIS_URL=redis://host:port`,
    });
    return async () => {};
  }
}

function externalTarget(raw: string): TestRedisTarget {
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    return { error: 'TEST_REDIS_URL is not a URL (expected redis://host:port)' };
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') return { error: `TEST_REDIS_URL must be redis://host:port, got ${parsed.protocol}` };
  // Databases are chosen per test file, so a database in the URL is dropped.
  parsed.pathname = '';
  const url = parsed.toString().replace(/\/$/, '');
  // Shared with every test run on this machine that uses the same server, so two runs never pick one database.
  const lockDir = path.join(os.tmpdir(), 'ls-ml-backend-test-redis-db-locks', `${parsed.hostname}_${parsed.port || '6379'}`);
  return { url, external: true, lockDir };
}
