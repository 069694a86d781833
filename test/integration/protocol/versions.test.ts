/**
 * Model versions beside the protocol (docs/protocol.md, Versions): `GET /versions` as Label Studio's picker calls it
 * (no query), narrowed with `?project=`, and pinning with `PUT /projects/:id/model-version`, which /setup
 * and /predict must then report (else Label Studio re-predicts or mixes versions).
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, PROJECT_ID, webhookFixture } from '../../fixtures/index.js';
import { getJson, postJson, putJson, startTestServer, type TestServer } from '../../support/server.js';
import { expectJsonError, predictChoice, sendWebhook, trainFixtureProject, TRAINED_ONLY_TEXT } from './helpers.js';

let server: TestServer;
let v0: string;
let v1: string;
const OTHER_PROJECT = '21';

beforeAll(async () => {
  server = await startTestServer();
  const other = await postJson(`${server.url}/setup`, { ...fixture('setup.json'), project: `${OTHER_PROJECT}.1777700000` });
  expect(other.status).toBe(200);
  v0 = other.body.model_version;
  v1 = (await trainFixtureProject(server.url)).version;
});
afterAll(async () => {
  await server?.close();
});

const setupVersion = async () => (await postJson(`${server.url}/setup`, fixture('setup.json'))).body.model_version as string;

describe('GET /versions', () => {
  it('with no query (what Label Studio sends) lists the versions of every project', async () => {
    const res = await getJson(`${server.url}/versions`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(Array.isArray(res.body.versions)).toBe(true);
    expect([...res.body.versions].sort()).toEqual([v0, v1].sort());
    expect(Object.keys(res.body.projects).sort()).toEqual([String(PROJECT_ID), OTHER_PROJECT]);
    expect(res.body.projects[OTHER_PROJECT]).toMatchObject({ current: v0, pinned: false });
    expect(res.body.projects[String(PROJECT_ID)]).toMatchObject({ current: v1, pinned: false });
    expect(res.body.projects[String(PROJECT_ID)].versions.map((v: any) => v.version)).toEqual([v1, v0]);
  });

  it('?project=<id> narrows to that project', async () => {
    const res = await getJson(`${server.url}/versions?project=${OTHER_PROJECT}`);
    expect(res.status).toBe(200);
    expect(Object.keys(res.body.projects)).toEqual([OTHER_PROJECT]);
    expect(res.body.versions).toEqual([v0]);
  });

  it('?project=<unknown id> is an empty list, not an error', async () => {
    const res = await getJson(`${server.url}/versions?project=999`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ versions: [], projects: {} });
  });

  it('GET /projects/:id/versions shows the trained version with its artifact and job', async () => {
    const res = await getJson(`${server.url}/projects/${PROJECT_ID}/versions`);
    expect(res.status).toBe(200);
    expect(res.body.versions[0]).toMatchObject({ version: v1, artifact: { bytes: expect.any(Number), sha256: expect.stringMatching(/^[0-9a-f]{64}$/) } });
    expect(res.body.versions[0].jobId).toEqual(expect.any(String));
  });
});

describe('PUT /projects/:id/model-version', () => {
  it('pins an older version: /setup and predictions report it, and the older model answers', async () => {
    expect(await setupVersion()).toBe(v1);
    const res = await putJson(`${server.url}/projects/${PROJECT_ID}/model-version`, { version: v0 });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ current: v0, pinned: true });

    expect(await setupVersion()).toBe(v0);
    // v0 has no artifact: the trained-only text gets no prediction.
    expect(await predictChoice(server.url, TRAINED_ONLY_TEXT)).toEqual({ choice: null, version: v0 });
    const batch = await postJson(`${server.url}/predict`, fixture('predict-batch.json'));
    expect(batch.body.results.map((r: any) => r.model_version)).toEqual(Array(5).fill(v0));
    const listed = await getJson(`${server.url}/versions?project=${PROJECT_ID}`);
    expect(listed.body.projects[String(PROJECT_ID)]).toMatchObject({ current: v0, pinned: true });
  });

  it('{version: null} unpins: the newest version is served again', async () => {
    const res = await putJson(`${server.url}/projects/${PROJECT_ID}/model-version`, { version: null });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ current: v1, pinned: false });
    expect(await setupVersion()).toBe(v1);
    expect(await predictChoice(server.url, TRAINED_ONLY_TEXT)).toEqual({ choice: 'Positive', version: v1 });
  });

  it('an unknown version is a 404 JSON and changes nothing', async () => {
    const res = await putJson(`${server.url}/projects/${PROJECT_ID}/model-version`, { version: 'KeywordChoices-v99' });
    expectJsonError(res, 404, 'not_found', /KeywordChoices-v99/);
    expect(await setupVersion()).toBe(v1);
  });

  it.each([
    ['a missing version', {}],
    ['a number', { version: 3 }],
    ['an empty string', { version: '' }],
  ])('%s is a 400 naming `version`', async (_label, body) => {
    const res = await putJson(`${server.url}/projects/${PROJECT_ID}/model-version`, body);
    expectJsonError(res, 400, 'invalid_request', /\bversion\b/);
  });
});

describe('pinning with a model whose setup() takes time (e.g. loading ONNX weights)', () => {
  const SLOW_MODEL = fileURLToPath(new URL('../../fixtures/models/slow-setup-keywords.ts', import.meta.url));
  let slow: TestServer;
  let trained: string;
  let initial: string;
  beforeAll(async () => {
    slow = await startTestServer({ MODEL: SLOW_MODEL });
    initial = (await postJson(`${slow.url}/setup`, fixture('setup.json'))).body.model_version;
    trained = (await trainFixtureProject(slow.url)).version;
    // Let the post-training swap finish (it takes one setup()).
    for (let i = 0; i < 100 && (await postJson(`${slow.url}/setup`, fixture('setup.json'))).body.model_version !== trained; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  });
  afterAll(async () => {
    await slow?.close();
  });

  it('the /setup right after PUT reports the version the PUT answered (read-after-write)', async () => {
    // Label Studio may call /setup at any moment; once the PUT has answered `current: X`, this process
    // must not keep reporting (and predicting with) the previous version while it rebuilds the model.
    expect((await postJson(`${slow.url}/setup`, fixture('setup.json'))).body.model_version).toBe(trained);
    const pin = await putJson(`${slow.url}/projects/${PROJECT_ID}/model-version`, { version: initial });
    expect(pin.body).toMatchObject({ current: initial, pinned: true });
    const setup = await postJson(`${slow.url}/setup`, fixture('setup.json'));
    const predicted = await predictChoice(slow.url, TRAINED_ONLY_TEXT);
    expect({ setup: setup.body.model_version, predict: predicted.version }).toEqual({ setup: initial, predict: initial });
  });
});

describe('reads never create a project', () => {
  const UNKNOWN = '987654';
  const listedProjects = async () => Object.keys((await getJson(`${server.url}/versions`)).body.projects).sort();

  it('GET /projects/<unknown>/versions is a 404 naming the project, and /versions still does not list it', async () => {
    const before = await listedProjects();
    for (let i = 0; i < 2; i++) expectJsonError(await getJson(`${server.url}/projects/${UNKNOWN}/versions`), 404, 'not_found', new RegExp(UNKNOWN));
    expect(await listedProjects()).toEqual(before);
    expect(before).not.toContain(UNKNOWN);
  });

  it('GET /projects/:id/stats of a project known only from its events reports the initial version without creating versions', async () => {
    const event = webhookFixture('annotation-created.json');
    event.project.id = 555;
    expect((await sendWebhook(server.url, event)).status).toBe(201);
    const stats = await getJson(`${server.url}/projects/555/stats`);
    expect(stats.status, stats.text).toBe(200);
    expect(stats.body.servedVersion).toBe(v0);
    expect(await listedProjects()).not.toContain('555');
    expectJsonError(await getJson(`${server.url}/projects/555/versions`), 404, 'not_found', /555/);
  });

  it('PUT /projects/<unknown>/model-version is a 404 and creates nothing', async () => {
    for (const version of [null, v0]) {
      expectJsonError(await putJson(`${server.url}/projects/${UNKNOWN}/model-version`, { version }), 404, 'not_found', new RegExp(UNKNOWN));
    }
    expect(await listedProjects()).not.toContain(UNKNOWN);
  });
});
