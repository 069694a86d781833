/**
 * Every webhook Label Studio sends to the ML backend (docs/protocol.md, Webhook), in its real shape: the status and
 * body Label Studio sees, answered well inside its 1 s timeout, the stores it updates, and training
 * started by START_TRAINING running to a new version served by /setup and /predict.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, PROJECT_ID, webhookFixture, webhookFixtureNames } from '../../fixtures/index.js';
import { getJson, makeTempDir, postJson, startTestServer, type TestServer } from '../../support/server.js';
import { LABEL_STUDIO_TIMEOUT_MS, predictChoice, sendWebhook, TRAINED_ONLY_TEXT, waitForJob } from './helpers.js';

const TRAINS = { status: 201, body: { status: 'ok', job: null } };
const STORES = { status: 200, body: { status: 'ok', job: null } };
const UNKNOWN = { status: 200, body: { status: 'Unknown event' } };

/** In the order Label Studio would send them for the fixtures' story (README in test/fixtures). */
const EXPECTED: Array<[file: string, expected: { status: number; body: unknown }]> = [
  ['project-created.json', UNKNOWN],
  ['tasks-created.json', UNKNOWN],
  // Annotation events are training actions (201) but the policy waits for 10 finished tasks: no job yet.
  ['annotation-created.json', TRAINS],
  ['annotation-updated.json', TRAINS],
  ['annotations-created.json', TRAINS],
  ['annotations-deleted.json', TRAINS],
  ['tasks-deleted.json', STORES],
  ['project-updated.json', STORES],
  ['label-link-created.json', UNKNOWN],
  ['annotation-created-docs-2021.json', TRAINS],
  ['project-deleted.json', UNKNOWN],
];

describe('webhook conformance', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
    expect((await postJson(`${server.url}/setup`, fixture('setup.json'))).status).toBe(200);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('covers every webhook fixture (this table and the training tests below)', () => {
    expect([...EXPECTED.map(([f]) => f), 'start-training.json'].sort()).toEqual(webhookFixtureNames());
  });

  it.each(EXPECTED)('%s → the status and body Label Studio expects, within its 1 s timeout', async (file, expected) => {
    const res = await sendWebhook(server.url, webhookFixture(file));
    expect(res.status, res.text).toBe(expected.status);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.body).toStrictEqual(expected.body);
    expect(res.ms).toBeLessThan(LABEL_STUDIO_TIMEOUT_MS);
  });

  it('after the story, the project stats hold the two remaining annotations and Label Studio’s counters', async () => {
    const res = await getJson(`${server.url}/projects/${PROJECT_ID}/stats`);
    expect(res.status, res.text).toBe(200);
    expect(res.body.annotations).toEqual({ stored: 2, usable: 2, tasks: 2 });
    // Counters of the last event with a project carrying them (PROJECT_UPDATED).
    const last = webhookFixture('project-updated.json').project;
    expect(res.body.labelStudio).toMatchObject({
      task_number: last.task_number,
      finished_task_number: last.finished_task_number,
      total_annotations_number: last.total_annotations_number,
      num_tasks_with_annotations: last.num_tasks_with_annotations,
      useful_annotation_number: last.useful_annotation_number,
      ground_truth_number: 0,
      skipped_annotations_number: 0,
      total_predictions_number: last.total_predictions_number,
    });
    // Events with project 12: everything but PROJECT_CREATED/DELETED (project 13), the unknown actions and the docs example.
    expect(res.body.eventsReceived).toBe(6);
  });

  it('stores the docs’ older-shape event (no task object, no counters) under its own project', async () => {
    const res = await getJson(`${server.url}/projects/2/stats`);
    expect(res.status, res.text).toBe(200);
    expect(res.body.annotations).toEqual({ stored: 1, usable: 1, tasks: 1 });
    // None of the eight counters (the docs put them beside `action`, the example has none at all);
    // only the project's own training threshold.
    expect(res.body.labelStudio).toEqual({ min_annotations_to_start_training: 10 });
  });

  it('accepts ANNOTATION_DELETED (docs’ singular name) as well as the plural', async () => {
    const body = { ...webhookFixture('annotations-deleted.json'), action: 'ANNOTATION_DELETED', annotations: [{ id: 18 }] };
    const res = await sendWebhook(server.url, body);
    expect(res.status, res.text).toBe(201);
    expect(res.body).toStrictEqual({ status: 'ok', job: null });
    const stats = await getJson(`${server.url}/projects/${PROJECT_ID}/stats`);
    expect(stats.body.annotations).toEqual({ stored: 1, usable: 1, tasks: 1 });
  });
});

describe('annotation events update the project stats step by step', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  const stats = async () => {
    const res = await getJson(`${server.url}/projects/${PROJECT_ID}/stats`);
    expect(res.status, res.text).toBe(200);
    return res.body;
  };

  it('has no stats before any event or setup (404 JSON)', async () => {
    const res = await getJson(`${server.url}/projects/${PROJECT_ID}/stats`);
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ error: 'not_found' });
  });

  it.each([
    ['annotation-created.json', { stored: 1, usable: 1, tasks: 1 }, 1],
    ['annotation-updated.json', { stored: 2, usable: 2, tasks: 2 }, 2],
    ['annotations-created.json', { stored: 4, usable: 4, tasks: 4 }, 4],
    ['annotations-deleted.json', { stored: 3, usable: 3, tasks: 3 }, 3],
    ['tasks-deleted.json', { stored: 2, usable: 2, tasks: 2 }, 2],
  ])('%s → annotations %o, finished_task_number %i', async (file, annotations, finished) => {
    const res = await sendWebhook(server.url, webhookFixture(file));
    expect(res.status, res.text).toBeLessThan(300);
    const s = await stats();
    expect(s.annotations).toEqual(annotations);
    expect(s.labelStudio.finished_task_number).toBe(finished);
    expect(s.labelStudio.task_number).toBe(6);
    expect(s.labelStudioUpdatedAt).toEqual(expect.any(String));
  });

  it('counts every annotation write since the last training', async () => {
    // 1 created + 1 updated + 2 bulk + 1 deleted + 1 removed with its task.
    expect((await stats()).changedSinceTraining).toBe(6);
  });

  it('re-sending the same ANNOTATION_UPDATED changes nothing (idempotent, no double count)', async () => {
    const before = await stats();
    expect((await sendWebhook(server.url, webhookFixture('annotation-updated.json'))).status).toBe(201);
    const after = await stats();
    expect(after.annotations).toEqual(before.annotations);
    expect(after.changedSinceTraining).toBe(before.changedSinceTraining);
    expect(after.eventsReceived).toBe(before.eventsReceived + 1);
  });
});

describe('START_TRAINING', () => {
  let server: TestServer;
  let initialVersion: string;
  beforeAll(async () => {
    server = await startTestServer();
    const setup = await postJson(`${server.url}/setup`, fixture('setup.json'));
    expect(setup.status).toBe(200);
    initialVersion = setup.body.model_version;
  });
  afterAll(async () => {
    await server?.close();
  });

  it('is answered at once with a job that reaches `completed` and publishes a new version', async () => {
    expect((await predictChoice(server.url, TRAINED_ONLY_TEXT)).choice).toBeNull();
    for (const file of ['annotation-created.json', 'annotation-updated.json']) {
      expect((await sendWebhook(server.url, webhookFixture(file))).status).toBe(201);
    }
    const res = await sendWebhook(server.url, webhookFixture('start-training.json'));
    expect(res.status, res.text).toBe(201);
    expect(res.body).toStrictEqual({ status: 'ok', job: expect.any(String) });
    expect(res.ms).toBeLessThan(LABEL_STUDIO_TIMEOUT_MS);
    const jobId = res.body.job as string;

    // Training never runs inside the request: right after the answer the job has not finished.
    const early = await getJson(`${server.url}/jobs/${jobId}`);
    expect(early.status).toBe(200);
    expect(early.body.status).not.toBe('completed');

    const job = await waitForJob(server.url, jobId);
    expect(job).toMatchObject({ id: jobId, projectId: String(PROJECT_ID), event: 'START_TRAINING', error: null, progress: 1 });
    expect(job.version).toEqual(expect.any(String));
    expect(job.version).not.toBe(initialVersion);
    expect(job.result).toMatchObject({ examples: 2, version: job.version });

    const versions = await getJson(`${server.url}/versions`);
    expect(versions.body.versions).toEqual(expect.arrayContaining([initialVersion, job.version]));
    expect(versions.body.projects[String(PROJECT_ID)].current).toBe(job.version);

    // The serving instance is swapped in the background; it must happen promptly.
    await expect.poll(async () => (await postJson(`${server.url}/setup`, fixture('setup.json'))).body.model_version, { timeout: 5_000 }).toBe(job.version);
    const predicted = await predictChoice(server.url, TRAINED_ONLY_TEXT);
    expect(predicted).toEqual({ choice: 'Positive', version: job.version });
    const batch = await postJson(`${server.url}/predict`, fixture('predict-batch.json'));
    expect(batch.body.results.map((r: any) => r.model_version)).toEqual(Array(5).fill(job.version));

    const stats = await getJson(`${server.url}/projects/${PROJECT_ID}/stats`);
    expect(stats.body).toMatchObject({ servedVersion: job.version, changedSinceTraining: 0, lastJob: { id: jobId, status: 'completed' } });
  });

  it('unknown job ids are a 404 JSON', async () => {
    const res = await getJson(`${server.url}/jobs/no-such-job`);
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ error: 'not_found', message: expect.stringContaining('no-such-job') });
  });
});

describe('webhooks with a model whose setup() is slow (loading weights)', () => {
  const SLOW_MODEL = fileURLToPath(new URL('../../fixtures/models/slow-setup-keywords.ts', import.meta.url));
  const SETUP_MS = 1_500;
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ MODEL: SLOW_MODEL });
    const setup = await postJson(`${server.url}/setup`, { ...fixture('setup.json'), extra_params: { setupDelayMs: SETUP_MS } });
    expect(setup.status, setup.text).toBe(200);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('PROJECT_UPDATED with a new label config is still answered within Label Studio’s 1 s', async () => {
    // Label Studio sends PROJECT_UPDATED for every settings change, without waiting more than 1 s.
    const event = webhookFixture('project-updated.json');
    event.project.label_config = event.project.label_config.replace('<Choice value="Neutral"/>', '<Choice value="Neutral"/><Choice value="Mixed"/>');
    const res = await sendWebhook(server.url, event);
    expect(res.status, res.text).toBe(200);
    expect(res.ms).toBeLessThan(LABEL_STUDIO_TIMEOUT_MS);
  });

  it('PROJECT_UPDATED with an unchanged config (a title edit) after a restart is answered within 1 s', async () => {
    const modelDir = makeTempDir('ls-ml-slow-');
    try {
      const first = await startTestServer({ MODEL: SLOW_MODEL, MODEL_DIR: modelDir });
      const setup = await postJson(`${first.url}/setup`, { ...fixture('setup.json'), extra_params: { setupDelayMs: SETUP_MS } });
      expect(setup.status).toBe(200);
      await first.close();
      const second = await startTestServer({ MODEL: SLOW_MODEL, MODEL_DIR: modelDir });
      try {
        const event = webhookFixture('project-updated.json'); // same label config as /setup's, new title
        const res = await sendWebhook(second.url, event);
        expect(res.status, res.text).toBe(200);
        expect(res.ms).toBeLessThan(LABEL_STUDIO_TIMEOUT_MS);
      } finally {
        await second.close();
      }
    } finally {
      fs.rmSync(modelDir, { recursive: true, force: true });
    }
  });

  it('annotation events are answered within 1 s too (they never build the model)', async () => {
    const res = await sendWebhook(server.url, webhookFixture('annotation-created.json'));
    expect(res.status, res.text).toBe(201);
    expect(res.ms).toBeLessThan(LABEL_STUDIO_TIMEOUT_MS);
  });
});
