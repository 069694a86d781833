/**
 * The operator endpoints through real servers (`startTestServer`: src/main.ts in this process), embedded
 * (SQLite + in-process queue) and distributed (Redis + BullMQ): `GET /jobs`, `GET /projects` and the
 * `nextTraining` part of the stats, `GET /ready`, the queue metrics in `/metrics`, and (Redis only) the
 * bull-board dashboard at `/admin/queues` behind basic auth.
 *
 * Server policy here: TRAIN_MIN_ANNOTATIONS=2, TRAIN_EVERY_N_CHANGES=3, a 300 ms debounce (so two quick
 * Start Training clicks fold into one job). Each test uses its own project ids.
 */
import os from 'node:os';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { liveWorkers, WorkerHeartbeat } from '../../src/pipeline/worker-heartbeat.js';
import { startRedisServer, type RedisServerProcess } from '../support/processes.js';
import { redisUrlForTest, resetRedisDb } from '../support/redis.js';
import { basicAuthHeader, getJson, postJson, startTestServer, type TestServer } from '../support/server.js';
import { annotationEvent, at, Backend, CREATED_TS, LABEL_CONFIG, startTraining, type AnnotationSpec } from './pipeline/label-studio.js';

type Mode = 'embedded' | 'distributed';

const redisUrl = redisUrlForTest();
const POLICY_ENV = { TRAIN_MIN_ANNOTATIONS: '2', TRAIN_EVERY_N_CHANGES: '3', TRAIN_DEBOUNCE_MS: '300' };
const HEALTH_BODY = JSON.stringify({ status: 'UP', model_class: 'KeywordChoices' });

const spec = (id: number, text = `otter lagoon ${id}`): AnnotationSpec => ({ id, task: id * 10, text, choice: id % 2 ? 'Positive' : 'Negative', updatedAt: at(1) });

/** One stored annotation (below the threshold: nothing trains), so a training has something to fit. */
async function seed(backend: Backend, project: number): Promise<void> {
  expect((await backend.setup(project)).status).toBe(200);
  expect((await backend.send(annotationEvent('ANNOTATION_CREATED', project, spec(project * 100 + 1), { finished_task_number: 1 }))).job).toBeNull();
}

/** Samples of one metric from Prometheus text, keyed by their label set (`{status="failed"}`, or '' without labels). */
function samples(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`).exec(line);
    if (m) out.set(m[1] ?? '', Number(m[2]));
  }
  return out;
}

async function metric(url: string, name: string, labels = ''): Promise<number | undefined> {
  const res = await getJson(`${url}/metrics`);
  expect(res.status).toBe(200);
  return samples(res.text, name).get(labels);
}

describe.each<Mode>(['embedded', 'distributed'])('operator endpoints: %s', (mode) => {
  let server: TestServer;
  let backend: Backend;

  beforeAll(async () => {
    if (mode === 'distributed') await resetRedisDb(redisUrl);
    server = await startTestServer({ ...POLICY_ENV, ...(mode === 'distributed' ? { REDIS_URL: redisUrl } : {}) });
    backend = new Backend(server.url);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('GET /jobs lists trainings newest first with `<project>.<n>` ids, filtered by project and status, limited', async () => {
    await seed(backend, 101);
    await seed(backend, 102);
    const first = (await backend.send(startTraining(101))).job!;
    expect((await backend.finishedJob(first)).status).toBe('completed');
    const second = (await backend.send(startTraining(102))).job!;
    expect((await backend.finishedJob(second)).status).toBe('completed');
    expect(first).toMatch(/^101\.\d+$/);
    expect(second).toMatch(/^102\.\d+$/);

    const all = await getJson(`${server.url}/jobs`);
    expect(all.status).toBe(200);
    const ids: string[] = all.body.jobs.map((j: { id: string }) => j.id);
    expect(ids.indexOf(second)).toBeGreaterThanOrEqual(0);
    expect(ids.indexOf(second)).toBeLessThan(ids.indexOf(first));
    expect((await getJson(`${server.url}/jobs?limit=1`)).body.jobs.map((j: { id: string }) => j.id)).toEqual([ids[0]]);

    const mine = await getJson(`${server.url}/jobs?project=101`);
    expect(mine.body.jobs).toHaveLength(1);
    expect(mine.body.jobs[0]).toMatchObject({ id: first, projectId: '101', status: 'completed', event: 'START_TRAINING', error: null });
    expect(mine.body.jobs[0].version).toBe('KeywordChoices-v1');
    expect(mine.body.jobs[0].durationMs).toBeGreaterThanOrEqual(0);
    expect((await getJson(`${server.url}/jobs?project=101&status=completed`)).body.jobs.map((j: { id: string }) => j.id)).toEqual([first]);
    expect((await getJson(`${server.url}/jobs?project=101&status=failed`)).body).toEqual({ jobs: [] });
    expect((await getJson(`${server.url}/jobs?project=999`)).body).toEqual({ jobs: [] });
  });

  it('shows a Start Training folded into a newer one as `superseded` (distributed), or gives it the same job (embedded)', async () => {
    await seed(backend, 103);
    const older = (await backend.send(startTraining(103))).job!;
    const newer = (await backend.send(startTraining(103))).job!;
    expect((await backend.finishedJob(newer)).status).toBe('completed');
    const listed = (await getJson(`${server.url}/jobs?project=103`)).body.jobs.map((j: { id: string; status: string; supersededBy?: string }) => [j.id, j.status, j.supersededBy]);
    if (mode === 'embedded') {
      expect(newer).toBe(older);
      expect(listed).toEqual([[older, 'completed', undefined]]);
    } else {
      expect(newer).not.toBe(older);
      expect(listed).toEqual([
        [newer, 'completed', undefined],
        [older, 'superseded', newer],
      ]);
      expect((await backend.job(older)).body).toMatchObject({ id: older, status: 'superseded', supersededBy: newer });
      expect((await getJson(`${server.url}/jobs?project=103&status=superseded`)).body.jobs.map((j: { id: string }) => j.id)).toEqual([older]);
    }
  });

  it('answers bad /jobs query parameters with 400 naming the parameter', async () => {
    const cases: Array<[string, string]> = [
      ['limit=0', 'limit'],
      ['limit=1001', 'limit'],
      ['limit=ten', 'limit'],
      ['limit=2.5', 'limit'],
      ['status=done', 'status'],
      ['project=a.b', 'project'],
      ['project=1&project=2', 'project'],
      ['staus=failed', ''],
    ];
    for (const [query, field] of cases) {
      const res = await getJson(`${server.url}/jobs?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.error, query).toBe('invalid_request');
      expect(res.body.message, query).toEqual(expect.any(String));
      if (field) expect(res.body.details.map((d: { path: string[] }) => d.path.join('.')), query).toContain(field);
      else expect(JSON.stringify(res.body.details), query).toContain('staus');
    }
  });

  it("GET /projects lists every project seen, with the threshold in force and the changes until the next training", async () => {
    expect((await backend.setup(104)).status).toBe(200); // set up, no event yet
    expect((await backend.setup(105)).status).toBe(200);
    const event = (n: number, counters: Record<string, number>) => backend.send(annotationEvent('ANNOTATION_CREATED', 105, spec(10_500 + n), counters));

    expect((await event(1, { finished_task_number: 1 })).job).toBeNull();
    let stats = (await backend.stats(105)).body;
    expect(stats.nextTraining).toEqual({
      threshold: { value: 2, source: 'TRAIN_MIN_ANNOTATIONS' },
      finishedTasks: 1,
      everyNChanges: 3,
      changesSinceRequest: 1,
      changesUntilTraining: 2,
    });
    expect((await event(2, { finished_task_number: 2 })).job).toBeNull();
    expect((await backend.stats(105)).body.nextTraining.changesUntilTraining).toBe(1);
    // The one more change it announced trains.
    const job = (await event(3, { finished_task_number: 3 })).job;
    expect(job).toMatch(/^105\.\d+$/);
    stats = (await backend.stats(105)).body;
    expect(stats.nextTraining).toMatchObject({ finishedTasks: 3, changesSinceRequest: 0, changesUntilTraining: 3 });

    // Label Studio's own threshold wins when it sends one.
    await backend.send(annotationEvent('ANNOTATION_CREATED', 106, spec(10_601), { finished_task_number: 1, min_annotations_to_start_training: 5 }));
    expect((await backend.stats(106)).body.nextTraining).toMatchObject({ threshold: { value: 5, source: 'label_studio' }, changesUntilTraining: 4 });

    const res = await getJson(`${server.url}/projects`);
    expect(res.status).toBe(200);
    const byId = new Map<string, any>(res.body.projects.map((p: { projectId: string }) => [p.projectId, p]));
    for (const id of ['104', '105', '106']) expect(byId.has(id), id).toBe(true);
    expect(byId.get('104')).toMatchObject({ projectId: '104', servedVersion: 'KeywordChoices-v0', nextTraining: { threshold: { value: 2, source: 'TRAIN_MIN_ANNOTATIONS' }, changesUntilTraining: 3 } });
    expect(byId.get('106').nextTraining).toEqual((await backend.stats(106)).body.nextTraining);
    const order = res.body.projects.map((p: { projectId: string }) => Number(p.projectId));
    expect(order).toEqual([...order].sort((a: number, b: number) => a - b));
    await backend.finishedJob(job!);
  });

  it('/metrics reports queue counts, training durations, seconds since each project last trained and live workers', async () => {
    await seed(backend, 107);
    const job = (await backend.send(startTraining(107))).job!;
    expect((await backend.finishedJob(job)).status).toBe('completed');
    // Distributed: the duration arrives through BullMQ's event stream, a moment after the job completes.
    await expect.poll(() => metric(server.url, 'training_duration_seconds_count', '{outcome="completed"}'), { timeout: 5_000 }).toBeGreaterThanOrEqual(1);
    const text = (await getJson(`${server.url}/metrics`)).text;
    const jobs = samples(text, 'training_jobs');
    expect(jobs.get('{status="completed"}')).toBeGreaterThanOrEqual(1);
    for (const status of ['waiting', 'delayed', 'active', 'failed']) expect(jobs.has(`{status="${status}"}`), status).toBe(true);
    expect(jobs.get('{status="failed"}'), JSON.stringify((await getJson(`${server.url}/jobs?status=failed`)).body)).toBe(0);
    expect(samples(text, 'training_workers').get('')).toBe(1);
    const since = samples(text, 'project_seconds_since_last_training').get('{project="107"}');
    expect(since).toBeGreaterThanOrEqual(0);
    expect(since).toBeLessThan(60);
    expect(samples(text, 'training_duration_seconds_bucket').get('{le="+Inf",outcome="completed"}')).toBeGreaterThanOrEqual(1);
    // A project that never trained has no such series.
    expect(samples(text, 'project_seconds_since_last_training').has('{project="104"}')).toBe(false);
  });

  it('GET /ready is 200 {"status":"ready"} with a worker running, and /health keeps its bytes', async () => {
    await expect.poll(async () => (await getJson(`${server.url}/ready`)).text, { timeout: 5_000 }).toBe('{"status":"ready"}');
    const ready = await getJson(`${server.url}/ready`);
    expect(ready.status).toBe(200);
    expect(ready.headers.get('content-type')).toMatch(/^application\/json/);
    const health = await getJson(`${server.url}/health`);
    expect(health.status).toBe(200);
    expect(health.text).toBe(HEALTH_BODY);
  });

  it(mode === 'embedded' ? 'has no queue dashboard (the queue is not BullMQ)' : 'serves the queue dashboard without auth when none is configured', async () => {
    const res = await getJson(`${server.url}/admin/queues`);
    expect(res.status).toBe(mode === 'embedded' ? 404 : 200);
  });
});

describe('embedded mode without its worker', () => {
  it('is not ready: nothing could run a training', async () => {
    const server = await startTestServer({ TRAIN_EMBEDDED_WORKER: 'false' });
    try {
      const res = await getJson(`${server.url}/ready`);
      expect(res.status).toBe(503);
      expect(res.body).toEqual({ status: 'not_ready', reason: expect.stringContaining('TRAIN_EMBEDDED_WORKER=false') });
      expect((await getJson(`${server.url}/health`)).text).toBe(HEALTH_BODY);
    } finally {
      await server.close();
    }
  });
});

describe('distributed API-only process (TRAIN_EMBEDDED_WORKER=false)', () => {
  const open: TestServer[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
  });

  it('is ready only while a worker heartbeats; a job waits `delayed` meanwhile and its training shows in this API\'s metrics', async () => {
    await resetRedisDb(redisUrl);
    const api = await startTestServer({ ...POLICY_ENV, REDIS_URL: redisUrl, TRAIN_EMBEDDED_WORKER: 'false' });
    open.push(api);
    const backend = new Backend(api.url);
    const notReady = await getJson(`${api.url}/ready`);
    expect(notReady.status).toBe(503);
    expect(notReady.body).toEqual({ status: 'not_ready', reason: expect.stringContaining('worker heartbeat') });
    expect((await getJson(`${api.url}/health`)).text).toBe(HEALTH_BODY);

    await seed(backend, 201);
    const job = (await backend.send(startTraining(201))).job!;
    await new Promise((resolve) => setTimeout(resolve, 600)); // past the debounce: still nobody to run it
    const [listed] = (await getJson(`${api.url}/jobs?project=201`)).body.jobs;
    expect(listed).toMatchObject({ id: job, status: 'delayed' });
    const before = (await getJson(`${api.url}/metrics`)).text;
    expect(samples(before, 'training_workers').get('')).toBe(0);
    expect(samples(before, 'training_jobs').get('{status="delayed"}')).toBe(1);

    // Another process (here: a second server with the embedded worker) starts consuming the queue.
    const worker = await startTestServer({ ...POLICY_ENV, REDIS_URL: redisUrl });
    open.push(worker);
    await expect.poll(async () => (await getJson(`${api.url}/ready`)).status, { timeout: 5_000 }).toBe(200);
    expect((await backend.finishedJob(job)).status).toBe('completed');
    await expect.poll(() => metric(api.url, 'training_duration_seconds_count', '{outcome="completed"}'), { timeout: 5_000 }).toBe(1);
    expect(await metric(api.url, 'training_workers')).toBe(1);

    // A worker that stops cleanly leaves at once.
    await worker.close();
    const gone = await getJson(`${api.url}/ready`);
    expect(gone.status).toBe(503);
    expect(gone.body.reason).toContain('worker heartbeat');
  });

  it('forgets a worker that died without a word once its heartbeat expires', async () => {
    await resetRedisDb(redisUrl);
    const reader = new Redis(redisUrl);
    const dying = new Redis(redisUrl);
    const log = createLogger('silent');
    const heartbeat = new WorkerHeartbeat(dying, { id: 'dead-1', host: os.hostname(), pid: 1, concurrency: 1, startedAt: new Date().toISOString() }, log, 100);
    try {
      await heartbeat.start();
      expect((await liveWorkers(reader)).map((w) => w.id)).toEqual(['dead-1']);
      dying.disconnect(); // no more beats, no goodbye
      await expect.poll(async () => (await liveWorkers(reader)).length, { timeout: 3_000 }).toBe(0);
      expect(await reader.smembers('lsml:workers')).toEqual([]);
    } finally {
      await heartbeat.stop();
      reader.disconnect();
    }
  });
});

describe('distributed process whose Redis goes away', () => {
  let redis: RedisServerProcess | undefined;
  afterAll(async () => {
    await redis?.kill();
  });

  it('turns /ready to 503 naming Redis, while /health still answers Label Studio', async () => {
    redis = await startRedisServer();
    const server = await startTestServer({ REDIS_URL: redis.url });
    try {
      await expect.poll(async () => (await getJson(`${server.url}/ready`)).status, { timeout: 5_000 }).toBe(200);
      await redis.kill();
      const started = Date.now();
      const res = await getJson(`${server.url}/ready`);
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(res.status).toBe(503);
      expect(res.body).toEqual({ status: 'not_ready', reason: expect.stringMatching(/^Redis unreachable|readiness check failed/) });
      const health = await getJson(`${server.url}/health`);
      expect(health.status).toBe(200);
      expect(health.text).toBe(HEALTH_BODY);
      // The rest of a scrape still answers.
      const metrics = await getJson(`${server.url}/metrics`);
      expect(metrics.status).toBe(200);
      expect(metrics.text).toContain('process_cpu_seconds_total');
    } finally {
      await server.close();
    }
  });
});

describe('queue dashboard and operator endpoints behind basic auth (distributed)', () => {
  const USER = 'operator';
  const PASS = 'dashboard-pass-4c1e9b';
  const auth = basicAuthHeader(USER, PASS);
  let server: TestServer;

  beforeAll(async () => {
    await resetRedisDb(redisUrl);
    server = await startTestServer({ ...POLICY_ENV, REDIS_URL: redisUrl, BASIC_AUTH_USER: USER, BASIC_AUTH_PASS: PASS });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('refuses the dashboard, its API, /jobs and /projects without credentials; /ready stays open for probes', async () => {
    for (const path of ['/admin/queues', '/admin/queues/api/queues', '/jobs', '/projects', '/projects/1/stats']) {
      const res = await getJson(`${server.url}${path}`);
      expect(res.status, path).toBe(401);
      expect(res.body.error, path).toBe('unauthorized');
      expect((await getJson(`${server.url}${path}`, basicAuthHeader(USER, 'wrong'))).status, path).toBe(401);
    }
    await expect.poll(async () => (await getJson(`${server.url}/ready`)).status, { timeout: 5_000 }).toBe(200);
  });

  it('lists the training queue and a finished training in the dashboard page and its API', async () => {
    const project = 301;
    expect((await postJson(`${server.url}/setup`, { project: `${project}.${CREATED_TS}`, schema: LABEL_CONFIG }, auth)).status).toBe(200);
    await postJson(`${server.url}/webhook`, annotationEvent('ANNOTATION_CREATED', project, spec(30_101), { finished_task_number: 1 }), auth);
    const started = await postJson(`${server.url}/webhook`, startTraining(project), auth);
    expect(started.status).toBe(201);
    const job: string = started.body.job;
    await expect.poll(async () => (await getJson(`${server.url}/jobs/${job}`, auth)).body.status, { timeout: 20_000 }).toBe('completed');

    const page = await getJson(`${server.url}/admin/queues`, auth);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(page.text).toContain('/admin/queues');
    // Its scripts and styles come from this server, behind the same auth.
    const assets = [...page.text.matchAll(/(?:src|href)="(static\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]!);
    expect(assets.length).toBeGreaterThan(0);
    for (const asset of assets) {
      expect((await getJson(`${server.url}/admin/queues/${asset}`, auth)).status, asset).toBe(200);
      expect((await getJson(`${server.url}/admin/queues/${asset}`)).status, asset).toBe(401);
    }

    const api = await getJson(`${server.url}/admin/queues/api/queues?activeQueue=training&status=completed&page=1&jobsPerPage=10`, auth);
    expect(api.status).toBe(200);
    const queue = api.body.queues.find((q: { name: string }) => q.name === 'training');
    expect(queue, JSON.stringify(api.body).slice(0, 500)).toBeDefined();
    expect(queue.counts.completed).toBeGreaterThanOrEqual(1);
    expect(queue.jobs.map((j: { id: string }) => j.id)).toContain(job);

    // The same job through our own listing, with credentials.
    const listed = await getJson(`${server.url}/jobs?project=${project}`, auth);
    expect(listed.body.jobs[0]).toMatchObject({ id: job, status: 'completed' });
  });
});
