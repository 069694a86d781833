/**
 * The test kit (src/testing/, `ls-ml-backend/testing`) against real models: `createTestModel` builds, serves
 * and trains an instance through the runtime (SQLite stores, version publishing, the worker's fit code);
 * `startTestBackend` runs the real server and calls it with Label Studio-shaped bodies, with the model given
 * by name (trained in worker threads) and as a class (trained in the server's process).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import KeywordChoices from '../../models/keyword-choices/index.js';
import { Model, type FitContext, type FitResult, type Prediction, type PredictOutput, type Task, type TrainingAction } from '../../src/sdk/index.js';
import { createTestModel, labelStudio, startTestBackend, TestBackendError, type TestBackend, type TestModel } from '../../src/testing/index.js';

const CONFIG = `<View><Text name="text" value="$text"/><Choices name="sentiment" toName="text" choice="single">
<Choice value="Positive"/><Choice value="Negative"/></Choices></View>`;

const sentiment = (choice: string) => [{ from_name: 'sentiment', to_name: 'text', type: 'choices', value: { choices: [choice] } }];
const EXAMPLES = [
  { data: { text: 'sunny beach holiday' }, result: sentiment('Positive') },
  { data: { text: 'sunny warm afternoon' }, result: sentiment('Positive') },
  { data: { text: 'broken cracked screen' }, result: sentiment('Negative') },
  { data: { text: 'cracked and broken lid' }, result: sentiment('Negative') },
];
/** Neither choice name occurs in these, so only a trained model classifies them. */
const UNSEEN = [{ data: { text: 'a sunny day' } }, { data: { text: 'it arrived cracked' } }, { data: { text: 'nothing to say' } }];

const choiceOf = (p: { result: Array<Record<string, unknown>> }) => (p.result[0]?.value as { choices?: string[] } | undefined)?.choices?.[0];

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const resource of open.splice(0)) await resource.close();
});
async function track<T extends { close(): Promise<void> }>(resource: Promise<T>): Promise<T> {
  const value = await resource;
  open.push(value);
  return value;
}

/** Records what `fit` receives; publishes a one-byte artifact. */
class RecordingModel extends Model {
  static calls: Array<{ event: TrainingAction; data: unknown; ctx: FitContext }> = [];
  override predict(tasks: Task[]): PredictOutput {
    return tasks.map(() => ({ result: [] }));
  }
  override fit(event: TrainingAction, data: unknown, ctx: FitContext): FitResult | Promise<FitResult> {
    ctx.progress(2); // out of range on purpose: clamped, not thrown
    RecordingModel.calls.push({ event, data, ctx });
    return { artifact: new Uint8Array([1]), metrics: { seen: ctx.examples.length } };
  }
}

describe('createTestModel', () => {
  it('predicts before training, trains like the worker, then serves the new version', async () => {
    const tm = await track(createTestModel(KeywordChoices, { labelConfig: CONFIG }));
    expect(tm.model).toBeInstanceOf(KeywordChoices);
    const before = await tm.predict(UNSEEN);
    expect(before).toEqual(UNSEEN.map(() => ({ model_version: 'KeywordChoices-v0', score: 0, result: [] })));

    const untrained = tm.model;
    const { version, metrics } = await tm.fit(EXAMPLES);
    expect(version).toBe('KeywordChoices-v1');
    expect(metrics).toEqual({ examples: 4, choices: 2 });
    expect(tm.modelVersion).toBe('KeywordChoices-v1');
    expect(tm.model).not.toBe(untrained);

    const after = await tm.predict(UNSEEN);
    expect(after.map(choiceOf)).toEqual(['Positive', 'Negative', undefined]);
    expect(after.every((p) => p.model_version === 'KeywordChoices-v1')).toBe(true);
    expect(after[0]!.score).toBeGreaterThan(0);
  });

  it('hands fit the examples, event and payload the worker would, and drops what the worker drops', async () => {
    RecordingModel.calls = [];
    const tm = await track(createTestModel(RecordingModel, { labelConfig: CONFIG, projectId: 7 }));
    await tm.fit([...EXAMPLES.slice(0, 2), { data: { text: 'skipped' }, result: [], taskId: 99 }]);
    const [call] = RecordingModel.calls;
    expect(call!.event).toBe('START_TRAINING');
    // The queue's allowlist: the project's id and counters, never its invite token or task-data password.
    expect(call!.data).toMatchObject({ action: 'START_TRAINING', project: { id: 7 } });
    expect(JSON.stringify(call!.data)).not.toContain('token');
    expect(call!.ctx.examples).toEqual([
      { taskId: 1, annotationId: 1, data: EXAMPLES[0]!.data, result: EXAMPLES[0]!.result, groundTruth: false, updatedAt: null },
      { taskId: 2, annotationId: 2, data: EXAMPLES[1]!.data, result: EXAMPLES[1]!.result, groundTruth: false, updatedAt: null },
    ]);
    expect(call!.ctx.jobId).toMatch(/\S/);
    expect(call!.ctx.signal.aborted).toBe(false);

    const project = labelStudio.project({ id: 7, labelConfig: CONFIG });
    const task = labelStudio.task({ id: 5, data: { text: 'x' }, project: 7 });
    const annotation = labelStudio.annotation({ id: 8, taskId: 5, result: sentiment('Positive') });
    const { version } = await tm.fit(EXAMPLES, { data: labelStudio.annotationCreated({ project, task, annotation }) });
    expect(version).toBe('RecordingModel-v2');
    expect(RecordingModel.calls[1]!.event).toBe('ANNOTATION_CREATED');
    expect(RecordingModel.calls[1]!.data).toMatchObject({ action: 'ANNOTATION_CREATED', annotation: { id: 8, task: 5 }, task: { id: 5 } });
  });

  it("reports a fit that cannot learn as the model's error and keeps the version", async () => {
    const tm = await track(createTestModel(KeywordChoices, { labelConfig: CONFIG }));
    await expect(tm.fit([{ data: { text: 'x' }, result: [] }])).rejects.toThrow(/no usable sentiment annotations/);
    expect(tm.modelVersion).toBe('KeywordChoices-v0');
    await expect(tm.fit([{ data: { text: 'x' } } as never])).rejects.toThrow(/examples\[0\]\.result must be a list/);
  });

  it('a fit that bumps the version itself is served at that version', async () => {
    class Bumping extends RecordingModel {
      override async fit(): Promise<FitResult> {
        await this.bumpModelVersion();
        return {};
      }
    }
    const tm = await track(createTestModel(Bumping, { labelConfig: CONFIG }));
    expect((await tm.fit(EXAMPLES)).version).toBe('Bumping-v1');
    expect(tm.modelVersion).toBe('Bumping-v1');
    expect((await tm.predict([{ data: {} }]))[0]!.model_version).toBe('Bumping-v1');
  });

  it('passes extra params, and fails with the model setup error for a config the model refuses', async () => {
    const tm = await track(createTestModel(KeywordChoices, { labelConfig: CONFIG, extraParams: { keywords: { Negative: ['meh'] } } }));
    expect((await tm.predict([{ data: { text: 'meh' } }])).map(choiceOf)).toEqual(['Negative']);

    class Picky extends RecordingModel {
      override setup() {
        throw new Error('needs an Image');
      }
    }
    await expect(createTestModel(Picky, { labelConfig: CONFIG })).rejects.toThrow(/needs an Image/);
    await expect(createTestModel(KeywordChoices, { labelConfig: '<View><Text' })).rejects.toThrow(/label config/i);
  });

  it('refuses a predict that does not answer one item per task, and anything after close()', async () => {
    class TwoForOne extends RecordingModel {
      override predict(tasks: Task[]): Prediction[] {
        return [...tasks, ...tasks].map(() => ({ result: [] }));
      }
    }
    const tm: TestModel = await createTestModel(TwoForOne, { labelConfig: CONFIG });
    await expect(tm.predict([{ data: {} }])).rejects.toThrow(/returned 2 results for 1 tasks/);
    await tm.close();
    await tm.close();
    await expect(tm.predict([{ data: {} }])).rejects.toThrow(/closed/);
  });

  it('a task answered with several predictions keeps the first as its item and the rest as alternatives', async () => {
    class Several extends RecordingModel {
      override predict(tasks: Task[]) {
        return tasks.map(() => [{ result: [], score: 0.9 }, { result: [], score: 0.1, model_version: 'other' }]);
      }
    }
    const tm = await track(createTestModel(Several, { labelConfig: CONFIG }));
    const [only] = await tm.predict([{ data: {} }]);
    expect(only).toEqual({ result: [], score: 0.9, model_version: 'Several-v0', alternatives: [{ result: [], score: 0.1, model_version: 'other' }] });
  });
});

describe.each([
  ['by name, training in worker threads', 'keyword-choices'],
  ['as a class, training in the server process', KeywordChoices],
] as const)('startTestBackend with the model given %s', (_label, model) => {
  it('setup → annotation webhooks → train → job completed → predictions from the new version', async () => {
    const backend = await track(startTestBackend({ model }));
    expect(await backend.setup(CONFIG, { projectId: 4 })).toEqual({ model_version: 'KeywordChoices-v0' });
    expect((await backend.predict(UNSEEN, { projectId: 4 })).map(choiceOf)).toEqual([undefined, undefined, undefined]);

    const project = labelStudio.project({ id: 4, labelConfig: CONFIG });
    for (const [i, example] of EXAMPLES.entries()) {
      const task = labelStudio.task({ id: 100 + i, data: example.data, project: 4 });
      const annotation = labelStudio.annotation({ id: 200 + i, taskId: task.id, result: example.result });
      // Annotation events are stored; with the project's counters at 0 they do not start a training.
      expect(await backend.webhook(labelStudio.annotationCreated({ project, task, annotation }))).toEqual({ status: 'ok', job: null });
    }
    const job = await backend.waitForJob(await backend.train(4));
    expect(job).toMatchObject({ status: 'completed', version: 'KeywordChoices-v1', error: null });

    const predictions = await backend.predict(UNSEEN, { projectId: 4 });
    expect(predictions.map(choiceOf)).toEqual(['Positive', 'Negative', undefined]);
    expect(predictions.every((p) => p.model_version === 'KeywordChoices-v1')).toBe(true);
    expect(await backend.setup(CONFIG, { projectId: 4 })).toEqual({ model_version: 'KeywordChoices-v1' });
    expect(await backend.webhook({ action: 'LABEL_LINK_CREATED', project: { id: 4 } })).toEqual({ status: 'Unknown event' });
  });
});

describe('startTestBackend', () => {
  let backend: TestBackend;

  it('sends credentials where Label Studio does: basic auth on setup, predict and Start Training, none on events', async () => {
    backend = await track(startTestBackend({ model: KeywordChoices, env: { BASIC_AUTH_USER: 'ls', BASIC_AUTH_PASS: 'pw-4b1d' } }));
    await backend.setup(CONFIG);
    const project = labelStudio.project({ id: 1, labelConfig: CONFIG });
    const task = labelStudio.task({ data: EXAMPLES[0]!.data });
    const annotation = labelStudio.annotation({ taskId: task.id, result: EXAMPLES[0]!.result });
    // Accepted without credentials only because an authenticated /setup registered this project's uid.
    await backend.webhook(labelStudio.annotationCreated({ project, task, annotation }));
    const job = await backend.waitForJob(await backend.train());
    expect(job.status).toBe('completed');
    expect((await backend.predict([{ data: { text: 'sunny' } }]))[0]!.model_version).toBe('KeywordChoices-v1');

    const res = await fetch(`${backend.url}/setup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(401);
  });

  it("throws the backend's JSON error for a refused call, and a clear error for a project never set up", async () => {
    backend = await track(startTestBackend({ model: 'keyword-choices' }));
    const refused = await backend.setup('<View><Text', { projectId: 2 }).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(TestBackendError);
    expect(refused).toMatchObject({ status: 400, body: { error: expect.any(String) } });
    await expect(backend.predict([{ data: {} }], { projectId: 3 })).rejects.toThrow(/project 3 is not set up/);
    await expect(backend.train(3)).rejects.toThrow(/project 3 is not set up/);
  });

  it('removes its temp MODEL_DIR on close, and a failed fit shows on the job', async () => {
    const own = await startTestBackend({ model: KeywordChoices });
    await own.setup('<View><Image name="img" value="$image"/></View>');
    const job = await own.waitForJob(await own.train());
    expect(job).toMatchObject({ status: 'failed', attempts: 1 });
    expect(job.error).toMatch(/needs a Choices control on a Text object/);
    expect(fs.existsSync(path.join(own.modelDir, 'state.db'))).toBe(true);
    await own.close();
    expect(fs.existsSync(own.modelDir)).toBe(false);
  });
});
