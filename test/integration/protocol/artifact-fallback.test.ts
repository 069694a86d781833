/**
 * A damaged newest artifact after a restart, in both modes (embedded: a file under MODEL_DIR/artifacts;
 * distributed: the artifact's key in Redis). The fixture project is trained twice (v1, v2), the server is
 * stopped, v2's artifact is truncated, deleted or has a byte changed, and a new server starts on the same
 * state. It must serve v1 (predictions and /setup agreeing), mark v2 bad with one error log line, say so
 * in /versions, refuse to pin v2, keep all that across a further restart, and serve the next training.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, PROJECT_ID, webhookFixture } from '../../fixtures/index.js';
import { KEY_PREFIX } from '../../../src/store/redis/connection.js';
import { redisUrlForTest, resetRedisDb } from '../../support/redis.js';
import { getJson, makeTempDir, postJson, putJson, startTestServer } from '../../support/server.js';
import { expectJsonError, predictChoice, sendWebhook, trainFixtureProject, TRAINED_ONLY_TEXT, waitForJob } from './helpers.js';

const redisUrl = redisUrlForTest();
const PROJECT = String(PROJECT_ID);

/** How the stored bytes of the newest artifact are damaged: new bytes, or undefined for a deleted artifact. */
const CORRUPTIONS: Array<{ name: string; damage: (bytes: Buffer) => Buffer | undefined; reason: RegExp }> = [
  { name: 'truncated', damage: (bytes) => bytes.subarray(0, Math.floor(bytes.length / 2)), reason: /truncated/ },
  { name: 'deleted', damage: () => undefined, reason: /missing/ },
  {
    // One letter of a keyword changed: still valid JSON of the right size, so only the hash tells.
    name: 'one byte changed',
    damage: (bytes) => {
      const copy = Buffer.from(bytes);
      let i = copy.length - 1;
      while (i > 0 && !(copy[i]! >= 0x61 && copy[i]! <= 0x7a)) i--;
      copy[i] = copy[i] === 0x78 ? 0x79 : 0x78;
      return copy;
    },
    reason: /SHA-256/,
  },
];

interface Deployment {
  name: string;
  /** Trains the fixture project twice on a fresh store and keeps that state to start from. */
  prepare(): Promise<{ v0: string; v1: string; v2: string }>;
  /** A copy of the trained state with v2's artifact damaged; returns the env a server on it needs. */
  damaged(v2: string, damage: (bytes: Buffer) => Buffer | undefined): Promise<Record<string, string>>;
  cleanup(): Promise<void>;
}

async function trainTwice(env: Record<string, string>): Promise<{ v0: string; v1: string; v2: string }> {
  const server = await startTestServer(env);
  try {
    const v0 = (await postJson(`${server.url}/setup`, fixture('setup.json'))).body.model_version as string;
    const v1 = (await trainFixtureProject(server.url)).version;
    const again = await sendWebhook(server.url, webhookFixture('start-training.json'));
    const v2 = (await waitForJob(server.url, again.body.job)).version as string;
    expect(new Set([v0, v1, v2]).size).toBe(3);
    return { v0, v1, v2 };
  } finally {
    await server.close();
  }
}

function embedded(): Deployment {
  const dirs: string[] = [];
  const template = makeTempDir('ls-ml-fallback-template-');
  dirs.push(template);
  return {
    name: 'embedded (SQLite + artifact files)',
    prepare: () => trainTwice({ MODEL_DIR: template }),
    async damaged(v2, damage) {
      const dir = makeTempDir('ls-ml-fallback-');
      dirs.push(dir);
      fs.cpSync(template, dir, { recursive: true });
      const file = path.join(dir, 'artifacts', PROJECT, `${v2}.bin`);
      const bytes = damage(fs.readFileSync(file));
      if (bytes) fs.writeFileSync(file, bytes);
      else fs.rmSync(file);
      return { MODEL_DIR: dir };
    },
    async cleanup() {
      for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function distributed(): Deployment {
  const client = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  client.on('error', () => {});
  const versionsKey = `${KEY_PREFIX}versions`;
  let snapshot: { versions: string; artifact: Buffer; key: string } | undefined;
  return {
    name: 'distributed (Redis)',
    async prepare() {
      await resetRedisDb(redisUrl);
      const trained = await trainTwice({ REDIS_URL: redisUrl });
      const key = `${KEY_PREFIX}artifact:${PROJECT}:${trained.v2}`;
      const [versions, artifact] = await Promise.all([client.hget(versionsKey, PROJECT), client.getBuffer(key)]);
      expect(versions && artifact).toBeTruthy();
      snapshot = { versions: versions!, artifact: artifact!, key };
      return trained;
    },
    async damaged(_v2, damage) {
      // Back to the trained state (v2 good and current), then damage v2's value in place.
      const { versions, artifact, key } = snapshot!;
      await client.hset(versionsKey, PROJECT, versions);
      const bytes = damage(artifact);
      if (bytes) await client.set(key, bytes);
      else await client.del(key);
      return { REDIS_URL: redisUrl };
    },
    async cleanup() {
      client.disconnect();
    },
  };
}

/** A logger that keeps error lines, so a test can count them. */
function errorLog(): { log: Logger; errors: Array<{ msg: string; version?: string }> } {
  const errors: Array<{ msg: string; version?: string }> = [];
  const log = pino({ level: 'error' }, { write: (line: string) => void errors.push(JSON.parse(line)) });
  return { log, errors };
}

const versionsOf = async (url: string) => (await getJson(`${url}/versions?project=${PROJECT}`)).body.projects[PROJECT];
const setupVersion = async (url: string) => (await postJson(`${url}/setup`, fixture('setup.json'))).body.model_version as string;

describe.each([embedded(), distributed()])('$name: a damaged newest artifact after a restart', (deployment) => {
  let v0: string;
  let v1: string;
  let v2: string;
  beforeAll(async () => {
    ({ v0, v1, v2 } = await deployment.prepare());
  }, 120_000);
  afterAll(() => deployment.cleanup());

  it.each(CORRUPTIONS)('$name: the previous version serves, the damaged one is marked bad, the next training serves', async ({ damage, reason }) => {
    const env = await deployment.damaged(v2, damage);
    const { log, errors } = errorLog();
    let server = await startTestServer(env, { log });
    try {
      // /predict first: after a restart Label Studio's interactive /predict may come before any /setup.
      expect(await predictChoice(server.url, TRAINED_ONLY_TEXT)).toEqual({ choice: 'Positive', version: v1 });
      expect(await setupVersion(server.url)).toBe(v1);
      const batch = await postJson(`${server.url}/predict`, fixture('predict-batch.json'));
      expect(batch.body.results.map((r: any) => r.model_version)).toEqual(Array(5).fill(v1));

      const listed = await versionsOf(server.url);
      expect(listed).toMatchObject({ current: v1, pinned: false });
      expect(listed.versions).toEqual([
        expect.objectContaining({ version: v2, status: 'bad', error: expect.stringMatching(reason) }),
        expect.objectContaining({ version: v1, status: 'ok' }),
        expect.objectContaining({ version: v0, status: 'ok' }),
      ]);
      const own = await getJson(`${server.url}/projects/${PROJECT}/versions`);
      expect(own.body).toEqual(listed);

      expect(errors).toHaveLength(1);
      expect(errors[0]!.version).toBe(v2);
      expect(errors[0]!.msg).toMatch(reason);

      expectJsonError(await putJson(`${server.url}/projects/${PROJECT}/model-version`, { version: v2 }), 409, 'version_bad', new RegExp(v2));
      expect(await setupVersion(server.url)).toBe(v1);

      // Another restart: the mark is stored, so v1 serves straight away and nothing is logged again.
      await server.close();
      server = await startTestServer(env, { log });
      expect(await setupVersion(server.url)).toBe(v1);
      expect((await predictChoice(server.url, TRAINED_ONLY_TEXT)).version).toBe(v1);
      expect(errors).toHaveLength(1);

      // A later training publishes a good version, which becomes current and serves.
      const started = await sendWebhook(server.url, webhookFixture('start-training.json'));
      const v3 = (await waitForJob(server.url, started.body.job)).version as string;
      expect([v0, v1, v2]).not.toContain(v3);
      expect(await versionsOf(server.url)).toMatchObject({ current: v3, pinned: false });
      expect(await setupVersion(server.url)).toBe(v3);
      expect(await predictChoice(server.url, TRAINED_ONLY_TEXT)).toEqual({ choice: 'Positive', version: v3 });
    } finally {
      await server.close();
    }
  }, 60_000);
});
