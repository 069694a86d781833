/**
 * Tests for model.ts with ls-ml-backend's test kit:
 * - createTestModel builds the model for a label config as the backend does (no HTTP): predict on tasks,
 *   fit on annotated examples; a fit that returns an artifact publishes a new version, served from then on.
 * - startTestBackend starts the real backend on a free port and talks to it as Label Studio does.
 */
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { choices } from 'ls-ml-backend';
import { createTestModel, labelStudio, startTestBackend, type TestBackend, type TestModel } from 'ls-ml-backend/testing';
import TextClassifier from './model.js';

const LABEL_CONFIG = `
<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text" choice="single">
    <Choice value="Positive"/>
    <Choice value="Negative"/>
  </Choices>
</View>`;

/** Annotated texts as Label Studio stores them: the task's data and the annotation's result. */
const EXAMPLES = [
  ['I love it, great product', 'Positive'],
  ['great service, very happy', 'Positive'],
  ['happy with this, love the design', 'Positive'],
  ['terrible, it broke after a day', 'Negative'],
  ['awful support and a terrible manual', 'Negative'],
  ['broke again, very disappointed', 'Negative'],
].map(([text, label]) => ({ data: { text }, result: [choices('sentiment', 'text', [label!])] }));

describe('TextClassifier', () => {
  let tm: TestModel<TextClassifier> | undefined;
  afterEach(async () => {
    await tm?.close();
    tm = undefined;
  });

  it('says nothing before its first training', async () => {
    tm = await createTestModel(TextClassifier, { labelConfig: LABEL_CONFIG });
    const predictions = await tm.predict([{ data: { text: 'great' } }, { data: { text: 'awful' } }]);
    expect(predictions).toHaveLength(2); // always one prediction per task
    expect(predictions[0]).toMatchObject({ result: [], score: 0, model_version: 'TextClassifier-v0' });
  });

  it('learns from annotations and serves the new version', async () => {
    tm = await createTestModel(TextClassifier, { labelConfig: LABEL_CONFIG });
    const { version, metrics } = await tm.fit(EXAMPLES);
    expect(version).toBe('TextClassifier-v1');
    expect(metrics).toMatchObject({ examples: 6, labels: 2 });

    const [positive, negative] = await tm.predict([{ data: { text: 'I love this, great' } }, { data: { text: 'it broke, terrible' } }]);
    expect(positive).toMatchObject({ model_version: 'TextClassifier-v1', result: [{ from_name: 'sentiment', to_name: 'text', value: { choices: ['Positive'] } }] });
    expect(negative!.result[0]).toMatchObject({ value: { choices: ['Negative'] } });
    expect(positive!.score).toBeGreaterThan(0.5);
  });

  it('refuses to train without annotations, without retrying', async () => {
    tm = await createTestModel(TextClassifier, { labelConfig: LABEL_CONFIG });
    await expect(tm.fit([])).rejects.toThrow(/no annotated texts/);
  });
});

describe('the backend, end to end', () => {
  let backend: TestBackend | undefined;
  afterEach(async () => {
    await backend?.close();
    backend = undefined;
  });

  it('trains on annotations Label Studio sends and predicts with the new version', { timeout: 60_000 }, async () => {
    // By path, as `npm start` runs it: training then happens in worker threads, as in production.
    backend = await startTestBackend({ model: fileURLToPath(new URL('./model.ts', import.meta.url)) });
    expect(await backend.setup(LABEL_CONFIG)).toEqual({ model_version: 'TextClassifier-v0' });

    const project = labelStudio.project({ id: 1, labelConfig: LABEL_CONFIG });
    for (const example of EXAMPLES) {
      const task = labelStudio.task({ data: example.data });
      const annotation = labelStudio.annotation({ taskId: task.id, result: example.result });
      await backend.webhook(labelStudio.annotationCreated({ project, task, annotation }));
    }
    const job = await backend.waitForJob(await backend.train(1), 50_000);
    expect(job).toMatchObject({ status: 'completed', version: 'TextClassifier-v1' });

    const [prediction] = await backend.predict([{ data: { text: 'love it, great' } }]);
    expect(prediction).toMatchObject({ model_version: 'TextClassifier-v1', result: [{ value: { choices: ['Positive'] } }] });
  });
});
