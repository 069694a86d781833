/**
 * The whole event pipeline through the real server (`startTestServer`: src/main.ts in this process), once
 * embedded (SQLite + in-process queue) and once distributed (REDIS_URL: Redis stores + BullMQ, embedded worker):
 * Label Studio-shaped webhooks in, `/projects/:id/stats`, `/jobs/:id` and the trained model's predictions out.
 *
 * Server policy for these tests: TRAIN_MIN_ANNOTATIONS=1000 (so annotation events only train when the
 * project payload lowers the threshold with `min_annotations_to_start_training`), TRAIN_EVERY_N_CHANGES=2.
 * Each test uses its own project id, so the tests of one server do not see each other's data.
 * The last describe runs the distributed server behind a proxy that delays every new Redis connection.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson, startTestServer } from '../../support/server.js';
import { startFakeLabelStudio, type FakeLabelStudio } from '../../support/fake-label-studio.js';
import { redisUrlForTest, resetRedisDb, startDelayingRedisProxy, type RedisProxy } from '../../support/redis.js';
import {
  annotationEvent,
  annotationsCreated,
  annotationsDeleted,
  at,
  Backend,
  labeledTask,
  startTraining,
  tasksDeleted,
  type AnnotationSpec,
} from './label-studio.js';

type Mode = 'embedded' | 'distributed';

const LS_TOKEN = 'right-token-5d1f0c9e7a';
const WRONG_TOKEN = 'wrong-token-b7e2a4c19f';
const V0 = 'KeywordChoices-v0';
const V1 = 'KeywordChoices-v1';
const V2 = 'KeywordChoices-v2';

const redisUrl = redisUrlForTest();

interface Running {
  backend: Backend;
  close(): Promise<void>;
}

async function start(mode: Mode, env: Record<string, string>, url = redisUrl): Promise<Running> {
  if (mode === 'distributed') await resetRedisDb(redisUrl);
  const server = await startTestServer({
    TRAIN_MIN_ANNOTATIONS: '1000',
    TRAIN_EVERY_N_CHANGES: '2',
    ...(mode === 'distributed' ? { REDIS_URL: url } : {}),
    ...env,
  });
  return {
    backend: new Backend(server.url),
    async close() {
      await server.close();
      if (mode === 'distributed') await resetRedisDb(redisUrl);
    },
  };
}

/** The stats numbers these tests look at. */
async function counts(backend: Backend, projectId: number) {
  const res = await backend.stats(projectId);
  expect(res.status, res.text).toBe(200);
  return { ...res.body.annotations, changed: res.body.changedSinceTraining, events: res.body.eventsReceived };
}

const ann = (id: number, task: number, text: string, choice: AnnotationSpec['choice'], minutes: number, extra: Partial<AnnotationSpec> = {}): AnnotationSpec => ({
  id,
  task,
  text,
  choice,
  updatedAt: at(minutes),
  ...extra,
});

describe.each<Mode>(['embedded', 'distributed'])('end-to-end pipeline (%s)', (mode) => {
  describe('with Label Studio credentials', () => {
    let ls: FakeLabelStudio;
    let run: Running;
    let backend: Backend;

    beforeAll(async () => {
      ls = await startFakeLabelStudio({
        token: LS_TOKEN,
        tasks: {
          // Labeled in Label Studio before the backend was connected: only a sync can find them.
          508: [labeledTask(508, ann(50801, 5080, 'quokka sunrise', 'Positive', 1)), labeledTask(508, ann(50802, 5081, 'wombat drizzle', 'Negative', 2))],
        },
      });
      run = await start(mode, { LABEL_STUDIO_URL: ls.url, LABEL_STUDIO_API_KEY: LS_TOKEN });
      backend = run.backend;
    });

    afterAll(async () => {
      await run?.close();
      await ls?.close();
    });

    it('upserts ANNOTATION_CREATED/UPDATED; duplicate and out-of-order deliveries change nothing', async () => {
      const p = 501;
      const created = ann(50101, 5010, 'lemon tart', 'Positive', 1);
      expect(await backend.send(annotationEvent('ANNOTATION_CREATED', p, created))).toEqual({ status: 'ok', job: null });
      expect(await counts(backend, p)).toMatchObject({ stored: 1, usable: 1, tasks: 1, changed: 1, events: 1 });

      await backend.send(annotationEvent('ANNOTATION_CREATED', p, created)); // delivered twice
      expect(await counts(backend, p)).toMatchObject({ stored: 1, changed: 1, events: 2 });

      await backend.send(annotationEvent('ANNOTATION_UPDATED', p, { ...created, choice: 'Negative', updatedAt: at(3) }));
      expect(await counts(backend, p)).toMatchObject({ stored: 1, usable: 1, changed: 2 });

      // An update made between the two, delivered late: older than what is stored.
      await backend.send(annotationEvent('ANNOTATION_UPDATED', p, { ...created, choice: 'Neutral', updatedAt: at(2) }));
      await backend.send(annotationEvent('ANNOTATION_UPDATED', p, { ...created, choice: 'Negative', updatedAt: at(3) })); // duplicate
      expect(await counts(backend, p)).toMatchObject({ stored: 1, usable: 1, tasks: 1, changed: 2, events: 5 });

      // A same-millisecond edit (microseconds differ only) with new content is a real change.
      await backend.send(annotationEvent('ANNOTATION_UPDATED', p, { ...created, choice: 'Neutral', updatedAt: at(3, 500) }));
      expect(await counts(backend, p)).toMatchObject({ stored: 1, changed: 3 });
    });

    it('stores ANNOTATIONS_CREATED lists; cancelled and empty results are stored but not usable', async () => {
      const p = 502;
      const bulk = annotationsCreated(p, [
        ann(50201, 5020, 'mango juice', 'Positive', 1),
        ann(50202, 5021, 'papaya bowl', 'Negative', 1, { cancelled: true }),
        ann(50203, 5022, 'guava jam', null, 1),
      ]);
      expect(await backend.send(bulk)).toEqual({ status: 'ok', job: null });
      expect(await counts(backend, p)).toMatchObject({ stored: 3, usable: 1, tasks: 1, changed: 3 });
      await backend.send(bulk); // duplicate delivery
      expect(await counts(backend, p)).toMatchObject({ stored: 3, usable: 1, tasks: 1, changed: 3 });
    });

    it('ANNOTATIONS_DELETED removes by id; a late ANNOTATION_UPDATED does not resurrect it', async () => {
      const p = 503;
      const doomed = ann(50301, 5030, 'kiwi smoothie', 'Neutral', 1);
      await backend.send(annotationEvent('ANNOTATION_CREATED', p, doomed));
      await backend.send(annotationEvent('ANNOTATION_CREATED', p, ann(50302, 5031, 'fig roll', 'Positive', 1)));
      expect(await counts(backend, p)).toMatchObject({ stored: 2, usable: 2, tasks: 2, changed: 2 });

      expect(await backend.send(annotationsDeleted(p, [50301]))).toEqual({ status: 'ok', job: null });
      expect(await counts(backend, p)).toMatchObject({ stored: 1, usable: 1, tasks: 1, changed: 3 });
      await backend.send(annotationsDeleted(p, [50301])); // duplicate
      expect(await counts(backend, p)).toMatchObject({ stored: 1, changed: 3 });

      await backend.send(annotationEvent('ANNOTATION_UPDATED', p, { ...doomed, choice: 'Negative', updatedAt: at(9) }));
      expect(await counts(backend, p)).toMatchObject({ stored: 1, usable: 1, tasks: 1, changed: 3 });
    });

    it("TASKS_DELETED removes every annotation of the tasks", async () => {
      const p = 504;
      await backend.send(
        annotationsCreated(p, [ann(50401, 5040, 'durian cake', 'Positive', 1), ann(50402, 5040, 'durian cake', 'Negative', 2), ann(50403, 5041, 'plum pie', 'Neutral', 1)]),
      );
      expect(await counts(backend, p)).toMatchObject({ stored: 3, usable: 3, tasks: 2, changed: 3 });
      expect((await backend.webhook(tasksDeleted(p, [5040]))).status).toBe(200);
      expect(await counts(backend, p)).toMatchObject({ stored: 1, usable: 1, tasks: 1, changed: 5 });
      await backend.send(tasksDeleted(p, [5040])); // duplicate
      expect(await counts(backend, p)).toMatchObject({ stored: 1, changed: 5 });
    });

    it('a late ANNOTATION_UPDATED for an annotation of a deleted task does not resurrect it', async () => {
      const p = 514;
      const a = ann(51401, 5140, 'durian cake', 'Positive', 1);
      await backend.send(annotationEvent('ANNOTATION_CREATED', p, a));
      await backend.send(tasksDeleted(p, [5140]));
      expect(await counts(backend, p)).toMatchObject({ stored: 0, usable: 0, tasks: 0 });
      await backend.send(annotationEvent('ANNOTATION_UPDATED', p, { ...a, updatedAt: at(5) }));
      expect(await counts(backend, p)).toMatchObject({ stored: 0, usable: 0, tasks: 0 });
    });

    it('trains on exactly the usable, newest annotations', async () => {
      const p = 505;
      expect((await backend.setup(p)).body).toEqual({ model_version: V0 });
      const lemon = ann(50501, 5050, 'lemon tart', 'Positive', 1);
      const kiwi = ann(50502, 5051, 'kiwi smoothie', 'Neutral', 1);
      await backend.send(annotationEvent('ANNOTATION_CREATED', p, lemon));
      await backend.send(annotationEvent('ANNOTATION_UPDATED', p, { ...lemon, choice: 'Negative', updatedAt: at(3) }));
      await backend.send(annotationEvent('ANNOTATION_UPDATED', p, { ...lemon, choice: 'Positive', updatedAt: at(2) })); // stale
      await backend.send(annotationEvent('ANNOTATION_CREATED', p, kiwi));
      await backend.send(annotationsDeleted(p, [kiwi.id]));
      await backend.send(annotationEvent('ANNOTATION_UPDATED', p, { ...kiwi, updatedAt: at(4) })); // after deletion
      await backend.send(
        annotationsCreated(p, [
          ann(50503, 5052, 'mango juice', 'Positive', 1, { cancelled: true }),
          ann(50504, 5053, 'papaya bowl', null, 1),
          ann(50505, 5054, 'durian cake', 'Positive', 1),
          ann(50506, 5055, 'walnut bread', 'Neutral', 1),
        ]),
      );
      await backend.send(tasksDeleted(p, [5054]));
      expect(await counts(backend, p)).toMatchObject({ stored: 4, usable: 2, tasks: 2 });

      const answer = await backend.send(startTraining(p));
      expect(answer.job).toEqual(expect.any(String));
      const job = await backend.finishedJob(answer.job!);
      expect(job, JSON.stringify(job)).toMatchObject({ status: 'completed', version: V1 });
      expect(job.result).toMatchObject({ examples: 2, version: V1 });

      await expect.poll(async () => (await backend.predict(p, ['lemon']))[0]!.modelVersion, { timeout: 10_000 }).toBe(V1);
      const predictions = await backend.predict(p, ['lemon', 'walnut', 'kiwi', 'mango', 'papaya', 'durian']);
      expect(predictions.map((x) => x.choice)).toEqual(['Negative', 'Neutral', undefined, undefined, undefined, undefined]);
      expect(predictions.every((x) => x.modelVersion === V1)).toBe(true);

      const stats = (await backend.stats(p)).body;
      expect(stats).toMatchObject({ servedVersion: V1, changedSinceTraining: 0, lastJob: { id: answer.job, status: 'completed', version: V1 } });
    });

    it('follows the training policy: the project threshold, then every N changes', async () => {
      const p = 506;
      await backend.setup(p);
      const c = (finished: number) => ({ min_annotations_to_start_training: 3, finished_task_number: finished, total_annotations_number: finished, task_number: 10 });
      const a1 = ann(50601, 5060, 'apple crumble', 'Positive', 1);
      const a2 = ann(50602, 5061, 'onion soup', 'Negative', 1);
      const a3 = ann(50603, 5062, 'rice cake', 'Neutral', 1);
      const a4 = ann(50604, 5063, 'cherry tart', 'Positive', 1);

      expect((await backend.webhook(annotationEvent('ANNOTATION_CREATED', p, a1, c(1)))).body).toEqual({ status: 'ok', job: null });
      expect((await backend.webhook(annotationEvent('ANNOTATION_CREATED', p, a2, c(2)))).body).toEqual({ status: 'ok', job: null });
      const below = (await backend.stats(p)).body;
      expect(below).toMatchObject({ labelStudio: { finished_task_number: 2, min_annotations_to_start_training: 3 }, changedSinceTraining: 2, lastJob: null, servedVersion: V0 });

      const crossing = await backend.webhook(annotationEvent('ANNOTATION_CREATED', p, a3, c(3)));
      expect(crossing.status).toBe(201);
      expect(crossing.body.job).toEqual(expect.any(String));
      const first = await backend.finishedJob(crossing.body.job!);
      expect(first, JSON.stringify(first)).toMatchObject({ status: "completed", version: V1, event: "ANNOTATION_CREATED" });
      await expect
        .poll(async () => (await backend.stats(p)).body, { timeout: 10_000 })
        .toMatchObject({ labelStudio: { finished_task_number: 3 }, servedVersion: V1, changedSinceTraining: 0, lastJob: { id: crossing.body.job, status: 'completed', version: V1 } });

      // One change since the training: below TRAIN_EVERY_N_CHANGES=2.
      expect((await backend.webhook(annotationEvent('ANNOTATION_CREATED', p, a4, c(4)))).body.job).toBeNull();
      expect((await backend.stats(p)).body.changedSinceTraining).toBe(1);
      const second = await backend.webhook(annotationEvent('ANNOTATION_UPDATED', p, { ...a4, choice: 'Neutral', updatedAt: at(5) }, c(4)));
      expect(second.body.job).toEqual(expect.any(String));
      expect(second.body.job).not.toBe(crossing.body.job);
      expect(await backend.finishedJob(second.body.job!)).toMatchObject({ status: 'completed', version: V2 });
      await expect.poll(async () => (await backend.stats(p)).body, { timeout: 10_000 }).toMatchObject({ servedVersion: V2, lastJob: { id: second.body.job } });
      expect((await backend.stats(p)).body.recentJobs.map((j: { id: string }) => j.id)).toEqual([second.body.job, crossing.body.job]);
    });

    it('exposes Label Studio counters and changes since training as Prometheus gauges', async () => {
      const p = 512;
      await backend.setup(p);
      const counters = { min_annotations_to_start_training: 100, finished_task_number: 3 };
      for (const [i, text] of ['fig jam', 'kiwi tea', 'plum pie'].entries()) {
        expect((await backend.send(annotationEvent('ANNOTATION_CREATED', p, ann(51201 + i, 5120 + i, text, 'Positive', 1), counters))).job).toBeNull();
      }
      const metrics = (await getJson(`${backend.url}/metrics`)).text;
      expect(metrics).toContain(`project_annotations_changed_since_training{project="${p}"} 3`);
      expect(metrics).toContain(`project_label_studio_counter{project="${p}",counter="finished_task_number"} 3`);
    });

    it('schedules START_TRAINING whatever the threshold', async () => {
      const p = 507;
      await backend.setup(p);
      const counters = { min_annotations_to_start_training: 100, finished_task_number: 1 };
      expect((await backend.send(annotationEvent('ANNOTATION_CREATED', p, ann(50701, 5070, 'pear cider', 'Positive', 1), counters))).job).toBeNull();
      const res = await backend.webhook(startTraining(p, counters));
      expect(res.status).toBe(201);
      expect(res.body.job).toEqual(expect.any(String));
      expect(await backend.finishedJob(res.body.job!)).toMatchObject({ status: 'completed', version: V1, event: 'START_TRAINING' });
    });

    it("fails a training that cannot succeed after one attempt, with the model's reason (NonRetryableError from the training thread)", async () => {
      const p = 515;
      await backend.setup(p);
      // No annotations here or in Label Studio: keyword-choices' fit throws NonRetryableError.
      const res = await backend.send(startTraining(p));
      const job = await backend.finishedJob(res.job!);
      expect(job, JSON.stringify(job)).toMatchObject({ status: 'failed', attempts: 1, version: null, error: 'no usable sentiment annotations to learn from' });
      expect((await backend.stats(p)).body).toMatchObject({ servedVersion: V0, lastJob: { id: res.job, status: 'failed' } });
    });

    it('START_TRAINING syncs labeled tasks from Label Studio that the backend never saw', async () => {
      const p = 508;
      await backend.setup(p);
      expect(await backend.predict(p, ['quokka', 'wombat'])).toEqual([
        { choice: undefined, modelVersion: V0 },
        { choice: undefined, modelVersion: V0 },
      ]);
      const res = await backend.send(startTraining(p));
      const job = await backend.finishedJob(res.job!);
      expect(job).toMatchObject({ status: 'completed', version: V1 });
      expect(job.result.sync).toMatchObject({ status: 'ok', tasks: 2, annotations: 2, changed: 2 });
      expect(ls.requests.some((r) => r.path === '/api/tasks' && r.query.project === String(p) && r.headers.authorization === `Token ${LS_TOKEN}`)).toBe(true);

      await expect.poll(async () => (await backend.predict(p, ['quokka', 'wombat'])).map((x) => x.choice), { timeout: 10_000 }).toEqual(['Positive', 'Negative']);
      expect((await backend.stats(p)).body.annotations).toEqual({ stored: 2, usable: 2, tasks: 2 });
    });
  });

  describe('with a wrong Label Studio token', () => {
    let ls: FakeLabelStudio;
    let run: Running;

    beforeAll(async () => {
      ls = await startFakeLabelStudio({ token: LS_TOKEN, tasks: { 509: [labeledTask(509, ann(50901, 5090, 'quokka sunrise', 'Positive', 1))] } });
      run = await start(mode, { LABEL_STUDIO_URL: ls.url, LABEL_STUDIO_API_KEY: WRONG_TOKEN });
    });

    afterAll(async () => {
      await run?.close();
      await ls?.close();
    });

    it('still trains on the stored annotations and records the failed sync without the token', async () => {
      const p = 509;
      const { backend } = run;
      await backend.setup(p);
      await backend.send(annotationEvent('ANNOTATION_CREATED', p, ann(50902, 5091, 'hedgehog picnic', 'Negative', 1)));
      const res = await backend.send(startTraining(p));
      const job = await backend.finishedJob(res.job!);
      expect(job).toMatchObject({ status: 'completed', version: V1 });
      expect(job.result.sync).toMatchObject({ status: 'failed', error: expect.any(String) });
      expect(job.result.sync.error).toMatch(/401|refused|token/i);
      expect(JSON.stringify(job)).not.toContain(WRONG_TOKEN);
      expect((await backend.job(res.job!)).text).not.toContain(WRONG_TOKEN);
      expect((await backend.stats(p)).text).not.toContain(WRONG_TOKEN);
      expect(ls.requests.some((r) => r.path === '/api/tasks')).toBe(true);

      await expect.poll(async () => (await backend.predict(p, ['hedgehog', 'quokka'])).map((x) => x.choice), { timeout: 10_000 }).toEqual(['Negative', undefined]);
    });
  });
});

describe('end-to-end pipeline (distributed) over a slow Redis connection', () => {
  let proxy: RedisProxy;
  let run: Running;

  beforeAll(async () => {
    // Every new Redis connection takes 0.5 s to open, including the training thread's own store connection.
    proxy = await startDelayingRedisProxy(redisUrl, 500);
    run = await start('distributed', { TRAIN_ATTEMPTS: '1' }, proxy.url);
  });

  afterAll(async () => {
    await run?.close();
    await proxy?.close();
  });

  it("a fresh training thread waits for its Redis connection instead of failing the first job", async () => {
    const p = 510;
    const { backend } = run;
    // The API's own connections open slowly too: it answers 503 until then, which is fine.
    await expect.poll(async () => (await backend.setup(p)).status, { timeout: 10_000 }).toBe(200);
    await backend.send(annotationEvent('ANNOTATION_CREATED', p, ann(51001, 5100, 'lychee tea', 'Positive', 1)));
    const res = await backend.send(startTraining(p));
    const job = await backend.finishedJob(res.job!, 30_000);
    expect(job, JSON.stringify(job)).toMatchObject({ status: 'completed', version: V1, error: null });
  });
});
