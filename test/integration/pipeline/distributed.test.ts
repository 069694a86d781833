/**
 * Real processes: `node --import tsx src/cli/index.ts serve|worker` (test/support/processes.ts) sharing this
 * file's Redis database, each with its own MODEL_DIR (as if on other machines). MODEL is
 * ./slow-model.ts: keyword-choices whose fit blocks SLOW_FIT_MS first, so jobs can be interrupted mid-run.
 * TRAIN_LOCK_MS=2000 keeps BullMQ's stalled-job recovery within a few seconds (TEST_TRAIN_LOCK_MS=15000 with
 * --testTimeout 90000 measures the takeover at the default lock instead).
 *
 * - an API (TRAIN_EMBEDDED_WORKER=false) with worker processes: training elsewhere, serving here; two
 *   workers never overlap on a project; SIGKILL mid-job → another worker finishes it; SIGTERM → graceful;
 * - an API whose Redis is unreachable (a port nothing listens on, then a redis-server of our own);
 * - embedded mode (no Redis) across restarts: pending and interrupted trainings run after the restart.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BULL_PREFIX } from '../../../src/pipeline/bull-queue.js';
import { request } from '../../support/server.js';
import {
  freePort,
  killAllProcesses,
  spawnCli,
  startApiProcess,
  startRedisServer,
  startWorkerProcess,
  waitForHealth,
  type ApiProcess,
  type CliProcess,
  type LogLine,
  type RedisServerProcess,
} from '../../support/processes.js';
import { redisUrlForTest } from '../../support/redis.js';
import { annotationEvent, at, Backend, startTraining, type AnnotationSpec } from './label-studio.js';

const SLOW_MODEL = fileURLToPath(new URL('./slow-model.ts', import.meta.url));
const V0 = 'SlowKeywordChoices-v0';
const V1 = 'SlowKeywordChoices-v1';

const LOCK_MS = Number(process.env.TEST_TRAIN_LOCK_MS ?? 2_000);

const redisUrl = redisUrlForTest();
const dirs: string[] = [];

function tempDir(label: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `ls-ml-dist-${label}-`));
  dirs.push(dir);
  return dir;
}

/** Environment shared by every process of the distributed tests. */
function distributedEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    REDIS_URL: redisUrl,
    MODEL: SLOW_MODEL,
    SLOW_FIT_MS: '0',
    TRAIN_DEBOUNCE_MS: '100',
    TRAIN_MIN_ANNOTATIONS: '1000',
    TRAIN_LOCK_MS: String(LOCK_MS),
    TRAIN_CONCURRENCY: '1',
    // Slow fits would space follow-up runs by seconds; these tests are about processes, not the cost bound.
    TRAIN_SPACING_FACTOR: '0',
    ...extra,
  };
}

const annotation = (project: number, id: number, text: string, choice: AnnotationSpec['choice']): AnnotationSpec => ({
  id,
  task: id * 10,
  text,
  choice,
  updatedAt: at(1),
});

/** Stores two labeled annotations for `project` (below the threshold, so nothing trains yet). */
async function seed(backend: Backend, project: number): Promise<void> {
  expect((await backend.setup(project)).status).toBe(200);
  expect((await backend.send(annotationEvent('ANNOTATION_CREATED', project, annotation(project, project * 100 + 1, 'otter lagoon', 'Positive')))).job).toBeNull();
  expect((await backend.send(annotationEvent('ANNOTATION_CREATED', project, annotation(project, project * 100 + 2, 'gravel storm', 'Negative')))).job).toBeNull();
}

/** BullMQ's view of the shared training queue (same name and prefix as src/pipeline/bull-queue.ts). */
async function withTrainingQueue<T>(use: (queue: Queue) => Promise<T>): Promise<T> {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  connection.on('error', () => {});
  const queue = new Queue('training', { connection, prefix: BULL_PREFIX });
  try {
    return await use(queue);
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

/** Waits until no training job is waiting, delayed or running (twice in a row: follow-ups appear on completion). */
async function trainingQueueIdle(timeoutMs = 20_000): Promise<void> {
  await withTrainingQueue(async (queue) => {
    const deadline = Date.now() + timeoutMs;
    let quiet = 0;
    while (quiet < 2) {
      if (Date.now() > deadline) throw new Error(`training queue still busy after ${timeoutMs} ms: ${JSON.stringify(await queue.getJobCounts())}`);
      const counts = await queue.getJobCounts('active', 'waiting', 'delayed', 'prioritized');
      quiet = Object.values(counts).every((n) => n === 0) ? quiet + 1 : 0;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  });
}

const logFor = (msg: string, jobId: string) => (line: LogLine) => line.msg === msg && String(line.jobId) === jobId;

afterAll(async () => {
  await killAllProcesses();
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

describe('distributed processes sharing Redis', () => {
  let api: ApiProcess;
  let backend: Backend;

  beforeAll(async () => {
    api = await startApiProcess(distributedEnv({ MODEL_DIR: tempDir('api'), TRAIN_EMBEDDED_WORKER: 'false' }), 'api');
    backend = new Backend(api.url);
  });

  afterAll(async () => {
    await api?.stop('SIGTERM').catch(() => undefined);
  });

  // Workers belong to one test; the API lives for the whole describe. Jobs a test leaves behind (a
  // redundant follow-up run, say) must not land in the next test's workers: drop them with the workers.
  const workers: CliProcess[] = [];
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop('SIGKILL').catch(() => undefined)));
    await withTrainingQueue((queue) => queue.obliterate({ force: true }));
  });

  const worker = async (name: string, extra: Record<string, string> = {}) => {
    const w = await startWorkerProcess(distributedEnv({ MODEL_DIR: tempDir(name), ...extra }), name);
    workers.push(w);
    return w;
  };

  it('a worker process with its own MODEL_DIR trains, and the API serves the new version', async () => {
    const p = 601;
    await seed(backend, p);
    expect(await backend.predict(p, ['otter'])).toEqual([{ choice: undefined, modelVersion: V0 }]);
    const w = await worker('worker-a');

    const res = await backend.send(startTraining(p));
    expect(res.job).toEqual(expect.any(String));
    const started = Date.now();
    await expect.poll(async () => (await backend.predict(p, ['otter', 'gravel'])).map((x) => `${x.choice}@${x.modelVersion}`), { timeout: 10_000 }).toEqual([
      `Positive@${V1}`,
      `Negative@${V1}`,
    ]);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await backend.finishedJob(res.job!)).toMatchObject({ status: 'completed', version: V1 });
    expect((await backend.stats(p)).body).toMatchObject({ servedVersion: V1, lastJob: { id: res.job, status: 'completed', version: V1 } });
    // The worker trained it; the API (TRAIN_EMBEDDED_WORKER=false) did not.
    expect(w.logs().some(logFor('training finished', res.job!))).toBe(true);
    expect(api.logs().some((l) => l.msg === 'training started' || l.msg === 'training finished')).toBe(false);
    expect(await w.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  });

  it('two worker processes never train one project at the same time, and the last webhook is trained', async () => {
    const p = 607;
    expect((await backend.setup(p)).status).toBe(200);
    const env = { SLOW_FIT_MS: '1500', TRAIN_CONCURRENCY: '2' };
    const [w1, w2] = await Promise.all([worker('worker-b1', env), worker('worker-b2', env)]);
    const trainingLogs = () =>
      [...w1.logs(), ...w2.logs()].filter((l) => String(l.projectId) === String(p) && ['training started', 'slow fit: sleeping', 'training finished'].includes(String(l.msg)));
    // Every annotation event asks for a training (threshold 1, every change).
    let n = 0;
    const wave = () =>
      Promise.all(
        Array.from({ length: 10 }, () => {
          n++;
          const counters = { min_annotations_to_start_training: 1, finished_task_number: n };
          return backend.send(annotationEvent('ANNOTATION_CREATED', p, annotation(p, p * 100 + n, `word${n} otter`, 'Positive'), counters));
        }),
      );
    await wave();
    // A training is running in one worker; the other is idle while two more waves arrive.
    await expect.poll(() => trainingLogs().some((l) => l.msg === 'slow fit: sleeping'), { timeout: 15_000 }).toBe(true);
    await wave();
    await wave();
    expect(trainingLogs().filter((l) => l.msg === 'training finished'), 'the waves must arrive during the first training').toHaveLength(0);
    await trainingQueueIdle();

    const runs = new Map<string, { start: number; end: number; examples: unknown; version: unknown }>();
    for (const l of trainingLogs()) {
      const key = `${String(l.jobId)}/${String(l.pid)}`;
      const run = runs.get(key) ?? { start: NaN, end: NaN, examples: undefined, version: undefined };
      if (l.msg === 'training started') Object.assign(run, { start: Date.parse(String(l.time)), examples: l.examples });
      if (l.msg === 'training finished') Object.assign(run, { end: Date.parse(String(l.time)), version: l.version });
      runs.set(key, run);
    }
    const intervals = [...runs.values()].sort((a, b) => a.start - b.start);
    // The first training plus one follow-up (two if wave 1 itself was split by the debounce).
    expect(intervals.length).toBeGreaterThanOrEqual(2);
    expect(intervals.length).toBeLessThanOrEqual(3);
    for (const [i, run] of intervals.entries()) {
      expect(run.end, `training ${i} did not finish`).toBeGreaterThanOrEqual(run.start);
      if (i > 0) expect(run.start, `training ${i} started before training ${i - 1} finished`).toBeGreaterThanOrEqual(intervals[i - 1]!.end);
    }
    const last = intervals.at(-1)!;
    expect(last.examples).toBe(30);
    await expect
      .poll(async () => (await backend.stats(p)).body, { timeout: 10_000 })
      .toMatchObject({ servedVersion: last.version, changedSinceTraining: 0, annotations: { usable: 30 } });
  });

  it('a job whose worker is SIGKILLed mid-training is taken over by an idle worker within TRAIN_LOCK_MS + 1 s', async () => {
    const p = 602;
    await seed(backend, p);
    const doomed = await worker('worker-doomed', { SLOW_FIT_MS: '20000' });
    const res = await backend.send(startTraining(p));
    const jobId = res.job!;
    await doomed.waitForLog(logFor('slow fit: sleeping', jobId), 15_000);
    // Idle beside it: the only job is active in the doomed worker.
    const rescuer = await worker('worker-rescuer', { SLOW_FIT_MS: '200' });
    expect((await backend.job(jobId)).body.status).toBe('active');
    const killedAt = Date.now();
    expect(await doomed.stop('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });

    const job = await backend.finishedJob(jobId, 25_000);
    expect(job, JSON.stringify(job)).toMatchObject({ status: 'completed', version: V1 });
    expect(rescuer.logs().some(logFor('training finished', jobId))).toBe(true);
    // README: the job moves on between 3/4 × TRAIN_LOCK_MS and TRAIN_LOCK_MS + 1 s after the worker died.
    // startedAt is when the rescuer took it; the upper bound allows 3 s more for a loaded 2-core machine.
    const takeoverMs = Date.parse(job.startedAt) - killedAt;
    console.log(`SIGKILLed worker's job taken over after ${takeoverMs} ms (TRAIN_LOCK_MS=${LOCK_MS})`);
    expect(takeoverMs).toBeGreaterThanOrEqual(LOCK_MS * 0.75 - 100);
    expect(takeoverMs).toBeLessThan(LOCK_MS + 1_000 + 3_000);
    await expect.poll(async () => (await backend.predict(p, ['otter']))[0], { timeout: 10_000 }).toEqual({ choice: 'Positive', modelVersion: V1 });
  });

  it('SIGTERM during a job lets the job finish, then the worker exits 0', async () => {
    const p = 603;
    await seed(backend, p);
    const w = await worker('worker-graceful', { SLOW_FIT_MS: '2500' });
    const res = await backend.send(startTraining(p));
    const jobId = res.job!;
    await w.waitForLog(logFor('slow fit: sleeping', jobId), 15_000);
    w.child.kill('SIGTERM');
    const exit = await w.waitForExit(20_000);
    expect(exit, w.output().slice(-2000)).toEqual({ code: 0, signal: null });
    // Completed, and by this worker: the API does not train and no other worker is running.
    const job = (await backend.job(jobId)).body;
    expect(job).toMatchObject({ status: 'completed', version: V1 });
  });
});

describe('an API process when Redis is unreachable', () => {
  let redis: RedisServerProcess | undefined;

  afterEach(async () => {
    await killAllProcesses();
    await redis?.kill();
    redis = undefined;
  });

  it('answers /webhook 503 JSON within 1 s, keeps /health 200, and recovers when Redis returns', async () => {
    const redisPort = await freePort();
    const httpPort = await freePort();
    const api = spawnCli(['serve'], distributedEnv({ REDIS_URL: `redis://127.0.0.1:${redisPort}`, MODEL_DIR: tempDir('outage'), PORT: String(httpPort) }), 'api-outage');
    const url = `http://127.0.0.1:${httpPort}`;
    await waitForHealth(url, 30_000);
    const backend = new Backend(url);
    const event = annotationEvent('ANNOTATION_CREATED', 604, annotation(604, 60401, 'otter lagoon', 'Positive'));

    for (let i = 0; i < 3; i++) {
      const res = await backend.webhook(event);
      expect(res.status).toBe(503);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(res.body).toMatchObject({ error: 'store_unavailable' });
      expect(res.ms).toBeLessThan(1_000);
    }
    const health = await request(`${url}/health`);
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'UP' });

    redis = await startRedisServer(redisPort);
    await expect.poll(async () => (await backend.webhook(event)).status, { timeout: 15_000, interval: 200 }).toBe(201);

    // Redis dies under a running API: fast 503s again, then recovery again.
    await redis.kill();
    const during = await backend.webhook(event);
    expect(during.status).toBe(503);
    expect(during.body).toMatchObject({ error: 'store_unavailable' });
    expect(during.ms).toBeLessThan(1_000);
    expect((await request(`${url}/health`)).status).toBe(200);
    redis = await startRedisServer(redisPort);
    await expect.poll(async () => (await backend.webhook(event)).status, { timeout: 15_000, interval: 200 }).toBe(201);
    expect(api.exit).toBeUndefined();

    // Not only storage: the API's embedded training worker is back too.
    await seed(backend, 604);
    const training = await backend.send(startTraining(604));
    expect(await backend.finishedJob(training.job!, 20_000)).toMatchObject({ status: 'completed', version: V1 });
  });

  it('an API started while Redis is down still shuts down cleanly on SIGTERM', async () => {
    const httpPort = await freePort();
    const api = spawnCli(['serve'], distributedEnv({ REDIS_URL: `redis://127.0.0.1:${await freePort()}`, MODEL_DIR: tempDir('outage2'), PORT: String(httpPort) }), 'api-outage-2');
    await waitForHealth(`http://127.0.0.1:${httpPort}`, 30_000);
    api.child.kill('SIGTERM');
    expect(await api.waitForExit(15_000)).toEqual({ code: 0, signal: null });
  });
});

describe('embedded mode across a restart', () => {
  afterEach(async () => {
    await killAllProcesses();
  });

  it('reschedules a training that was pending when the server stopped, and the version bumps', async () => {
    const modelDir = tempDir('embedded');
    const env = { MODEL_DIR: modelDir, MODEL: SLOW_MODEL, SLOW_FIT_MS: '0', TRAIN_MIN_ANNOTATIONS: '1000' };
    const first = await startApiProcess({ ...env, TRAIN_DEBOUNCE_MS: '60000' }, 'embedded-1');
    const p = 605;
    const before = new Backend(first.url);
    await seed(before, p);
    const res = await before.send(startTraining(p));
    const jobId = res.job!;
    expect((await before.job(jobId)).body.status).toBe('delayed');
    expect(await first.stop('SIGTERM')).toEqual({ code: 0, signal: null });

    const second = await startApiProcess({ ...env, TRAIN_DEBOUNCE_MS: '100' }, 'embedded-2');
    const after = new Backend(second.url);
    await expect.poll(async () => (await after.stats(p)).body.servedVersion, { timeout: 15_000 }).toBe(V1);
    // The version is stored by the training, then the job is marked completed: two steps, in that order.
    await expect.poll(async () => (await after.stats(p)).body.lastJob, { timeout: 5_000 }).toMatchObject({ status: 'completed', version: V1 });
    expect((await after.predict(p, ['otter']))[0]).toEqual({ choice: 'Positive', modelVersion: V1 });
    // The interrupted job is not left looking pending forever.
    expect(['completed', 'failed']).toContain((await after.job(jobId)).body.status);
  });

  it('runs a training again after the server was SIGKILLed in the middle of it', async () => {
    const modelDir = tempDir('embedded-kill');
    const env = { MODEL_DIR: modelDir, MODEL: SLOW_MODEL, TRAIN_MIN_ANNOTATIONS: '1000', TRAIN_DEBOUNCE_MS: '100' };
    const first = await startApiProcess({ ...env, SLOW_FIT_MS: '30000' }, 'embedded-kill-1');
    const p = 606;
    const before = new Backend(first.url);
    await seed(before, p);
    const jobId = (await before.send(startTraining(p))).job!;
    await first.waitForLog(logFor('slow fit: sleeping', jobId), 15_000);
    expect((await before.job(jobId)).body.status).toBe('active');
    expect(await first.stop('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });

    const second = await startApiProcess({ ...env, SLOW_FIT_MS: '0' }, 'embedded-kill-2');
    const after = new Backend(second.url);
    await expect.poll(async () => (await after.stats(p)).body.servedVersion, { timeout: 15_000 }).toBe(V1);
    await expect.poll(async () => (await after.stats(p)).body.lastJob, { timeout: 5_000 }).toMatchObject({ status: 'completed', version: V1 });
    expect((await after.job(jobId)).body.status).not.toBe('active');
  });
});
