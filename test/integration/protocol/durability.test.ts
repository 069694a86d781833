/**
 * State survives a restart (embedded mode: SQLite + artifact files under MODEL_DIR): the registered project,
 * the trained version and its artifact, annotations, stats, job records and pins.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, PROJECT_ID, webhookFixture } from '../../fixtures/index.js';
import { getJson, makeTempDir, postJson, putJson, startTestServer, type TestServer } from '../../support/server.js';
import { predictChoice, sendWebhook, trainFixtureProject, TRAINED_ONLY_TEXT, waitForJob } from './helpers.js';

describe('restart on the same MODEL_DIR', () => {
  const modelDir = makeTempDir('ls-ml-durable-');
  let server: TestServer | undefined;
  let trained: { jobId: string; version: string };
  let initial: string;

  beforeAll(async () => {
    const first = await startTestServer({ MODEL_DIR: modelDir });
    try {
      initial = (await postJson(`${first.url}/setup`, fixture('setup.json'))).body.model_version;
      trained = await trainFixtureProject(first.url);
      expect(trained.version).not.toBe(initial);
    } finally {
      await first.close();
    }
    expect(fs.existsSync(modelDir)).toBe(true); // a caller-chosen MODEL_DIR is kept by close()
    server = await startTestServer({ MODEL_DIR: modelDir });
  });
  afterAll(async () => {
    await server?.close();
    fs.rmSync(modelDir, { recursive: true, force: true });
  });

  it('a /predict before any /setup in the new process also serves the trained version', async () => {
    // First test of the file on purpose: after a backend restart, Label Studio's interactive /predict
    // (no /health or /setup before it) can be the first call; this one has no label_config either.
    const body = { ...fixture('predict-single-dict.json'), label_config: undefined };
    body.tasks.data.text = TRAINED_ONLY_TEXT;
    const res = await postJson(`${server!.url}/predict`, body);
    expect(res.status, res.text).toBe(200);
    expect(res.body.results[0].model_version).toBe(trained.version);
    expect(res.body.results[0].result[0]?.value?.choices).toEqual(['Positive']);
  });

  it('/setup reports the trained version straight away', async () => {
    const res = await postJson(`${server!.url}/setup`, fixture('setup.json'));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ model_version: trained.version });
  });

  it('predictions come from the trained artifact and carry its version', async () => {
    expect(await predictChoice(server!.url, TRAINED_ONLY_TEXT)).toEqual({ choice: 'Positive', version: trained.version });
    const batch = await postJson(`${server!.url}/predict`, fixture('predict-batch.json'));
    expect(batch.body.results.map((r: any) => r.model_version)).toEqual(Array(5).fill(trained.version));
  });

  it('versions, the job record, annotations and stats are still there', async () => {
    const versions = await getJson(`${server!.url}/versions?project=${PROJECT_ID}`);
    expect(versions.body.projects[String(PROJECT_ID)]).toMatchObject({ current: trained.version, pinned: false });
    expect(versions.body.projects[String(PROJECT_ID)].versions.map((v: any) => v.version)).toEqual([trained.version, initial]);
    const job = await getJson(`${server!.url}/jobs/${trained.jobId}`);
    expect(job.status).toBe(200);
    expect(job.body).toMatchObject({ status: 'completed', version: trained.version });
    const stats = await getJson(`${server!.url}/projects/${PROJECT_ID}/stats`);
    expect(stats.body).toMatchObject({ annotations: { stored: 2, usable: 2, tasks: 2 }, servedVersion: trained.version, lastJob: { id: trained.jobId } });
    expect(stats.body.labelStudio.finished_task_number).toBe(3);
  });

  it('training again continues the numbering (a new version, never a reused name or job id)', async () => {
    const res = await sendWebhook(server!.url, webhookFixture('start-training.json'));
    expect(res.status, res.text).toBe(201);
    expect(res.body.job).not.toBe(trained.jobId);
    const job = await waitForJob(server!.url, res.body.job);
    expect([initial, trained.version]).not.toContain(job.version);
    const versions = await getJson(`${server!.url}/projects/${PROJECT_ID}/versions`);
    expect(versions.body.versions.map((v: any) => v.version)).toEqual([job.version, trained.version, initial]);
  });

  it('a pin survives the next restart', async () => {
    const pin = await putJson(`${server!.url}/projects/${PROJECT_ID}/model-version`, { version: trained.version });
    expect(pin.status).toBe(200);
    await server!.close();
    server = await startTestServer({ MODEL_DIR: modelDir });
    expect((await postJson(`${server.url}/setup`, fixture('setup.json'))).body.model_version).toBe(trained.version);
    expect(await predictChoice(server.url, TRAINED_ONLY_TEXT)).toEqual({ choice: 'Positive', version: trained.version });
    const versions = await getJson(`${server.url}/versions?project=${PROJECT_ID}`);
    expect(versions.body.projects[String(PROJECT_ID)]).toMatchObject({ current: trained.version, pinned: true });
  });
});
