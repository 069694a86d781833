/**
 * Artifacts move lazily in distributed mode: an API process (TRAIN_EMBEDDED_WORKER=false) and a second
 * process that trains (it never serves a request), sharing this file's Redis database. Redis MONITOR counts
 * who reads which artifact key: the announcement of a new version carries ids only, and the API process
 * reads the artifact when it next serves the project, unless it served it recently (prefetch).
 */
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { KEY_PREFIX } from '../../../src/store/redis/connection.js';
import { redisUrlForTest, resetRedisDb } from '../../support/redis.js';
import { startTestServer, type TestServer } from '../../support/server.js';
import { annotationEvent, at, Backend, startTraining, type AnnotationSpec } from './label-studio.js';

const redisUrl = redisUrlForTest();

interface Command {
  source: string;
  args: string[];
}

const open: Array<{ close(): Promise<void> | void }> = [];
afterEach(async () => {
  for (const item of open.splice(0).reverse()) await item.close();
  await resetRedisDb(redisUrl);
});

/** Every command Redis runs, with the client address that sent it. */
async function monitorRedis(): Promise<Command[]> {
  const commands: Command[] = [];
  const client = new Redis(redisUrl);
  const monitor = await client.monitor();
  monitor.on('monitor', (_time: string, args: string[], source: string) => commands.push({ source, args }));
  open.push({ close: () => void monitor.disconnect() }, { close: () => void client.disconnect() });
  return commands;
}

async function start(env: Record<string, string>): Promise<TestServer> {
  const server = await startTestServer({ REDIS_URL: redisUrl, TRAIN_SPACING_FACTOR: '0', ...env });
  open.push(server);
  return server;
}

/** An API process that does not train, and a process that trains and serves nothing. */
async function apiAndTrainer(apiEnv: Record<string, string> = {}): Promise<Backend> {
  const api = await start({ TRAIN_EMBEDDED_WORKER: 'false', ...apiEnv });
  await start({ TRAIN_EMBEDDED_WORKER: 'true' });
  return new Backend(api.url);
}

const spec = (id: number, text: string, choice: AnnotationSpec['choice']): AnnotationSpec => ({ id, task: id * 10, text, choice, updatedAt: at(1) });

/** Stores two annotations through the API, then trains (elsewhere) and waits for the published version. */
async function train(backend: Backend, project: number, round: number): Promise<string> {
  await backend.send(annotationEvent('ANNOTATION_CREATED', project, spec(project * 100 + round * 2, `otter lagoon ${round}`, 'Positive')));
  await backend.send(annotationEvent('ANNOTATION_CREATED', project, spec(project * 100 + round * 2 + 1, `gravel storm ${round}`, 'Negative')));
  const { job } = await backend.send(startTraining(project));
  const record = await backend.finishedJob(job!);
  expect(record.status).toBe('completed');
  return record.version as string;
}

/**
 * Reads of one version's artifact. The training process reads the version it trains from (a model's setup
 * loads the served artifact), never the one it has just written, so every read of a freshly published
 * version comes from the API process.
 */
const artifactGets = (commands: Command[], project: number, version: string): Command[] =>
  commands.filter((c) => c.args[0]?.toLowerCase() === 'get' && c.args[1] === `${KEY_PREFIX}artifact:${project}:${version}`);

const settle = (ms = 400) => new Promise((resolve) => setTimeout(resolve, ms));

describe('artifacts in distributed mode', () => {
  it('an API process that never served a project reads none of its artifacts until it serves it, on a connection of their own', async () => {
    const commands = await monitorRedis();
    const backend = await apiAndTrainer();
    expect((await backend.setup(1)).status).toBe(200); // registered and built here, but not served
    const v1 = await train(backend, 1, 1);
    await settle();
    expect(artifactGets(commands, 1, v1), 'artifact reads before any request served the project').toEqual([]);

    const [prediction] = await backend.predict(1, ['otter lagoon']);
    expect(prediction!.modelVersion).toBe(v1);
    const gets = artifactGets(commands, 1, v1);
    expect(gets).toHaveLength(1);

    // The webhook's annotation writes went out on another connection than the artifact read.
    const annotationWriters = new Set(commands.filter((c) => c.args.includes(`${KEY_PREFIX}ann:1`) && c.args[0]?.toLowerCase() === 'evalsha').map((c) => c.source));
    expect(annotationWriters.size).toBeGreaterThan(0);
    expect(annotationWriters.has(gets[0]!.source)).toBe(false);
  });

  it('prefetches a new version for a project served within MODEL_PREFETCH_MS, and only for that one', async () => {
    const commands = await monitorRedis();
    const backend = await apiAndTrainer({ MODEL_PREFETCH_MS: '60000' });
    await backend.setup(1);
    await backend.setup(2);
    await backend.predict(1, ['otter lagoon']); // project 1 is served; project 2 only registered
    const v1 = await train(backend, 1, 1);
    const other = await train(backend, 2, 1);
    await expect.poll(() => artifactGets(commands, 1, v1).length, { timeout: 5_000 }).toBe(1);
    await settle();
    expect(artifactGets(commands, 1, v1)).toHaveLength(1);
    expect(artifactGets(commands, 2, other)).toEqual([]);
  });

  it('does not rebuild a project unloaded for idleness when a new version of it is announced', async () => {
    const commands = await monitorRedis();
    const backend = await apiAndTrainer({ MODEL_PREFETCH_MS: '60000', MODEL_IDLE_UNLOAD_MS: '300' });
    await backend.setup(1);
    await backend.predict(1, ['otter lagoon']);
    await settle(800); // unloaded
    const v1 = await train(backend, 1, 1);
    await settle();
    expect(artifactGets(commands, 1, v1)).toEqual([]);
    expect((await backend.predict(1, ['otter lagoon']))[0]!.modelVersion).toBe(v1);
    expect(artifactGets(commands, 1, v1)).toHaveLength(1);
  });
});
