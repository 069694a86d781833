/**
 * One path for version changes: whether a training returns an artifact or the model calls
 * `bumpModelVersion()` inside `fit`, and whether an operator pins or unpins, the new version is announced
 * once and this process serves it by the time the job reads as completed (or the PUT answers).
 * In distributed mode the training runs in a worker process and the API process hears it on the feed.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { killAllProcesses, startApiProcess, startWorkerProcess } from '../../support/processes.js';
import { redisUrlForTest } from '../../support/redis.js';
import { makeTempDir, putJson, startTestServer, type TestServer } from '../../support/server.js';
import { annotationEvent, at, Backend, startTraining } from './label-studio.js';

const BUMPING_MODEL = fileURLToPath(new URL('../../fixtures/models/bumping-model.ts', import.meta.url));

describe('a fit() that bumps the version itself (embedded)', () => {
  let server: TestServer;
  let backend: Backend;

  beforeAll(async () => {
    server = await startTestServer({ MODEL: BUMPING_MODEL, TRAIN_MIN_ANNOTATIONS: '1000' });
    backend = new Backend(server.url);
  });
  afterAll(() => server?.close());

  it('is served here before the job completes, and /setup and predictions agree', async () => {
    expect((await backend.setup(7)).body.model_version).toBe('BumpingModel-v0');
    await backend.send(annotationEvent('ANNOTATION_CREATED', 7, { id: 71, task: 710, text: 'otter', choice: 'Positive', updatedAt: at(1) }));
    const { job } = await backend.send(startTraining(7));
    const finished = await backend.finishedJob(job!);
    expect(finished.status).toBe('completed');
    expect(finished.version).toBe('BumpingModel-v1');
    // No polling: the job completed only after this process swapped to the new instance.
    expect((await backend.setup(7)).body.model_version).toBe('BumpingModel-v1');
    const [prediction] = await backend.predict(7, ['anything']);
    expect(prediction!.modelVersion).toBe('BumpingModel-v1');
  });

  it('a pin and an unpin answer after this process serves the version they name', async () => {
    const pinned = await putJson(`${server.url}/projects/7/model-version`, { version: 'BumpingModel-v0' });
    expect(pinned.status).toBe(200);
    expect(pinned.body.current).toBe('BumpingModel-v0');
    expect((await backend.setup(7)).body.model_version).toBe('BumpingModel-v0');
    const unpinned = await putJson(`${server.url}/projects/7/model-version`, { version: null });
    expect(unpinned.body.current).toBe('BumpingModel-v1');
    const [prediction] = await backend.predict(7, ['anything']);
    expect(prediction!.modelVersion).toBe('BumpingModel-v1');
  });
});

describe('a fit() that bumps the version itself (distributed: API process + worker process)', () => {
  const redisUrl = redisUrlForTest();
  const dirs: string[] = [];
  afterAll(async () => {
    await killAllProcesses();
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reaches the API process, which serves it to /setup and /predict', async () => {
    const env = (name: string) => {
      const dir = makeTempDir(`ls-ml-announce-${name}-`);
      dirs.push(dir);
      return { REDIS_URL: redisUrl, MODEL: BUMPING_MODEL, MODEL_DIR: dir, TRAIN_DEBOUNCE_MS: '50', TRAIN_MIN_ANNOTATIONS: '1000' };
    };
    const api = await startApiProcess({ ...env('api'), TRAIN_EMBEDDED_WORKER: 'false' }, 'api');
    await startWorkerProcess(env('worker'), 'worker');
    const backend = new Backend(api.url);
    expect((await backend.setup(8)).body.model_version).toBe('BumpingModel-v0');
    // The API builds and caches the v0 instance, so only an announcement can move it.
    expect((await backend.predict(8, ['anything']))[0]!.modelVersion).toBe('BumpingModel-v0');
    await backend.send(annotationEvent('ANNOTATION_CREATED', 8, { id: 81, task: 810, text: 'otter', choice: 'Positive', updatedAt: at(1) }));
    const { job } = await backend.send(startTraining(8));
    expect(await backend.finishedJob(job!)).toMatchObject({ status: 'completed', version: 'BumpingModel-v1' });
    // Another process published it: the feed reaches the API within moments, not at its next restart.
    await expect.poll(async () => (await backend.predict(8, ['anything']))[0]!.modelVersion, { timeout: 5_000 }).toBe('BumpingModel-v1');
    expect((await backend.setup(8)).body.model_version).toBe('BumpingModel-v1');
  });
});
