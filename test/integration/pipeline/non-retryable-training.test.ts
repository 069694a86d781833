/**
 * Trainings that retrying cannot help fail at once, with the reason on the job record, in both modes
 * (SQLite + in-process queue; Redis + BullMQ). The built-in text classifier trains in a worker thread, so
 * the "non-retryable" verdict has to cross the thread boundary: its `fit()` throwing NonRetryableError (no
 * usable annotations), and its `setup()` refusing the stored label config when the training builds it.
 * TRAIN_ATTEMPTS is 3 and the first retry would start after 1 s, so a second attempt would show.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../support/server.js';
import { redisUrlForTest, resetRedisDb } from '../../support/redis.js';
import { Backend, startTraining } from './label-studio.js';

type Mode = 'embedded' | 'distributed';

const redisUrl = redisUrlForTest();

/** A config the text classifier refuses: no Choices control on a Text object. */
const IMAGE_BOXES = '<View><Image name="img" value="$image"/><RectangleLabels name="box" toName="img"><Label value="Car"/></RectangleLabels></View>';

describe.each<Mode>(['embedded', 'distributed'])('trainings that retrying cannot help (%s)', (mode) => {
  let server: TestServer;
  let backend: Backend;

  beforeAll(async () => {
    if (mode === 'distributed') await resetRedisDb(redisUrl);
    server = await startTestServer({
      MODEL: 'text-classifier',
      TRAIN_ATTEMPTS: '3',
      TRAIN_MIN_ANNOTATIONS: '1000',
      ...(mode === 'distributed' ? { REDIS_URL: redisUrl } : {}),
    });
    backend = new Backend(server.url);
  });

  afterAll(async () => {
    await server?.close();
    if (mode === 'distributed') await resetRedisDb(redisUrl);
  });

  /** Waits for the job to end, then a little longer, so that a retry would have shown up in its record. */
  async function settledJob(jobId: string): Promise<Record<string, unknown>> {
    await backend.finishedJob(jobId);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    return (await backend.job(jobId)).body;
  }

  it("fit() without usable annotations: failed after one attempt, with the model's message", async () => {
    const p = 601;
    expect((await backend.setup(p)).status).toBe(200);
    const { job } = await backend.send(startTraining(p));
    const record = await settledJob(job!);
    expect(record, JSON.stringify(record)).toMatchObject({ status: 'failed', attempts: 1, version: null });
    expect(record.error).toMatch(/^no usable "sentiment" annotations yet \(0 stored examples\)/);
  });

  it('setup() refusing the stored label config during the training: failed after one attempt, with the reason', async () => {
    const p = 602;
    // /setup answers 422 but keeps the config Label Studio sent; the training then builds the model on it.
    const refused = await backend.setup(p, { schema: IMAGE_BOXES });
    expect(refused.status).toBe(422);
    const { job } = await backend.send(startTraining(p));
    const record = await settledJob(job!);
    expect(record, JSON.stringify(record)).toMatchObject({ status: 'failed', attempts: 1, version: null });
    expect(record.error).toMatch(/^model setup failed for project 602: .*Choices/);
  });
});
