/**
 * Training jobs keep no secret of the webhook that triggered them. Label Studio's webhook `project` carries
 * the project's invite `token` and `task_data_login`/`task_data_password` (planted in the fixtures); after
 * the jobs ran, none of them may be found anywhere at rest: every Redis key of the server's database (BullMQ
 * keeps each job's data in a hash, up to 1,000 finished jobs) and every file under MODEL_DIR (SQLite, its
 * WAL, artifacts). The model persists the `data` its `fit` got in its per-project state, as a model author
 * might, so the embedded mode is checked on what a model really receives, and that `data` must still be
 * useful: the action, the project's id, label config and counters, the annotation and task ids.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { Model, type FitContext, type FitResult, type Json, type Prediction, type Task, type TrainingAction } from '../../../src/sdk/index.js';
import { FIXTURE_SECRETS, PROJECT_ID, webhookFixture } from '../../fixtures/index.js';
import { redisUrlForTest, resetRedisDb } from '../../support/redis.js';
import { startTestServer } from '../../support/server.js';
import { Backend, LABEL_CONFIG } from './label-studio.js';

const SECRETS = [FIXTURE_SECRETS.projectToken, FIXTURE_SECRETS.taskDataPassword, 'fake-task-data-login'];
const redisUrl = redisUrlForTest();

const fitData: unknown[] = [];

class RecordingModel extends Model {
  override predict(tasks: Task[]): Prediction[] {
    return tasks.map(() => ({ result: [], score: 0 }));
  }

  override async fit(_event: TrainingAction, data: unknown, ctx: FitContext): Promise<FitResult> {
    fitData.push(data);
    await this.set(`fit-data-${ctx.jobId}`, data as Json);
    return { artifact: new TextEncoder().encode(`trained on ${ctx.examples.length}`), metrics: {} };
  }
}

/** Every value stored in the database, whatever its type, as one string. */
async function dumpRedis(url: string): Promise<string> {
  const client = new Redis(url, { maxRetriesPerRequest: 1 });
  const parts: string[] = [];
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        const type = await client.type(key);
        const value =
          type === 'string' ? await client.get(key)
          : type === 'hash' ? await client.hgetall(key)
          : type === 'list' ? await client.lrange(key, 0, -1)
          : type === 'set' ? await client.smembers(key)
          : type === 'zset' ? await client.zrange(key, '0', '-1')
          : type === 'stream' ? await client.xrange(key, '-', '+')
          : `<${type}>`;
        parts.push(`${key} ${JSON.stringify(value)}`);
      }
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
  return parts.join('\n');
}

/** Every file under `dir`, bytes as latin1 so any ASCII secret shows up as itself. */
function dumpFiles(dir: string): string {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => fs.readFileSync(path.join(entry.parentPath, entry.name)).toString('latin1'))
    .join('\n');
}

describe.each(['embedded', 'distributed'] as const)('training jobs at rest (%s)', (mode) => {
  it('hold none of the webhook secrets, and fit() still gets the ids, the action and the label config', async () => {
    fitData.length = 0;
    if (mode === 'distributed') await resetRedisDb(redisUrl);
    const server = await startTestServer(
      { TRAIN_MIN_ANNOTATIONS: '1', TRAIN_EVERY_N_CHANGES: '1', ...(mode === 'distributed' ? { REDIS_URL: redisUrl } : {}) },
      { ModelClass: RecordingModel },
    );
    try {
      const backend = new Backend(server.url);
      expect((await backend.setup(PROJECT_ID)).status).toBe(200);
      const jobs: string[] = [];
      for (const name of ['annotation-created.json', 'annotations-created.json', 'start-training.json']) {
        const event = webhookFixture(name);
        expect(JSON.stringify(event.project)).toContain(FIXTURE_SECRETS.projectToken);
        const { job } = await backend.send(event);
        expect(job, name).toEqual(expect.any(String));
        // One at a time: a waiting job would take the newer payload and the older one would never be seen.
        expect(await backend.finishedJob(job!)).toMatchObject({ status: 'completed' });
        jobs.push(job!);
      }

      expect(fitData).toHaveLength(3);
      const [single, bulk, start] = fitData as [Record<string, any>, Record<string, any>, Record<string, any>];
      const project = { id: PROJECT_ID, title: 'Sentiment', label_config: LABEL_CONFIG, created_at: '2026-05-01T09:00:13.000000Z' };
      expect(single).toEqual({
        action: 'ANNOTATION_CREATED',
        project: expect.objectContaining({ ...project, finished_task_number: 1, total_annotations_number: 1 }),
        annotation: { id: 17, task: 101 },
        task: { id: 101 },
      });
      expect(bulk).toMatchObject({ action: 'ANNOTATIONS_CREATED', project: { id: PROJECT_ID, finished_task_number: 4 } });
      expect(bulk.annotation).toEqual(expect.arrayContaining([expect.objectContaining({ id: expect.any(Number), task: expect.any(Number) })]));
      expect(start).toEqual({ action: 'START_TRAINING', project: expect.objectContaining({ ...project, finished_task_number: 3 }) });
      for (const data of fitData) expect(Object.keys((data as { project: object }).project).sort()).not.toContain('token');

      const atRest = dumpFiles(server.modelDir) + (mode === 'distributed' ? await dumpRedis(redisUrl) : '');
      // The scan does see what was stored: the data the model kept, with its counters.
      expect(atRest).toContain(`fit-data-${jobs[2]}`);
      expect(atRest).toContain('finished_task_number');
      for (const secret of SECRETS) {
        const where = atRest.split('\n').filter((line) => line.includes(secret)).map((line) => line.slice(0, 120));
        expect(where, `${secret} is stored`).toEqual([]);
      }
    } finally {
      await server.close();
    }
  });
});
