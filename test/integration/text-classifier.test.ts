/**
 * The built-in ONNX text classifier, tested through the test kit (src/testing/) as any model author would:
 * `createTestModel` trains and serves it in this process (real SQLite stores, real onnxruntime sessions,
 * the worker's fit code), and `startTestBackend` runs it end to end over HTTP: webhooks → training job in a
 * worker thread → new version served by /predict.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import TextClassifier from '../../models/text-classifier/index.js';
import type { FitContext, FitResult, TrainingAction } from '../../src/sdk/index.js';
import { createTestModel, labelStudio, startTestBackend, TestBackendError, type TestBackend, type TestExample, type TestPrediction } from '../../src/testing/index.js';

const SINGLE = `<View><Text name="text" value="$text"/><Choices name="topic" toName="text" choice="single">
<Choice value="Sports"/><Choice value="Cooking"/><Choice value="Finance"/></Choices></View>`;
const MULTIPLE = `<View><Text name="text" value="$text"/><Choices name="tags" toName="text" choice="multiple">
<Choice value="Urgent"/><Choice value="Billing"/><Choice value="Bug"/></Choices></View>`;
const NO_CHOICES = '<View><Image name="img" value="$image"/><RectangleLabels name="box" toName="img"><Label value="Car"/></RectangleLabels></View>';

const VOCAB: Record<string, string[]> = {
  Sports: ['match', 'goal', 'team', 'coach', 'league', 'score', 'stadium', 'player'],
  Cooking: ['recipe', 'oven', 'flour', 'sauce', 'bake', 'garlic', 'kitchen', 'simmer'],
  Finance: ['stock', 'market', 'bank', 'loan', 'interest', 'invest', 'budget', 'shares'],
};
const LABELS = Object.keys(VOCAB);
const FILLER = ['the', 'a', 'today', 'really', 'about', 'this', 'we', 'our'];

/** Deterministic texts: 4 topic words + 3 filler words, chosen by a small LCG. */
function makeText(label: string, seed: number): string {
  let x = seed * 2654435761 % 2 ** 32;
  const next = () => (x = (x * 1664525 + 1013904223) % 2 ** 32);
  const words = [];
  for (let i = 0; i < 4; i++) words.push(VOCAB[label]![next() % 8]!);
  for (let i = 0; i < 3; i++) words.push(FILLER[next() % 8]!);
  return words.sort(() => (next() % 2 ? 1 : -1)).join(' ');
}

const choicesRegion = (fromName: string, choices: string[]) => [{ from_name: fromName, to_name: 'text', type: 'choices', value: { choices } }];
const choicesOf = (p: TestPrediction) => (p.result[0]?.value as { choices: string[] } | undefined)?.choices;
const asTasks = (texts: string[]) => texts.map((text, i) => ({ id: i + 1, data: { text } }));

const HELD_OUT = Array.from({ length: 60 }, (_, i) => ({ label: LABELS[i % 3]!, text: makeText(LABELS[i % 3]!, 10_000 + i) }));

function expectAccurate(predictions: TestPrediction[], version: string): void {
  const correct = predictions.filter((p, i) => choicesOf(p)?.[0] === HELD_OUT[i]!.label).length;
  expect(correct / HELD_OUT.length).toBeGreaterThan(0.8);
  for (const p of predictions) {
    expect(p.model_version).toBe(version);
    expect(p.score).toBeGreaterThan(0);
    expect(p.score).toBeLessThanOrEqual(1);
  }
}

/** Trains as usual; once `corrupt` is set, publishes bytes that are no ONNX model, as a damaged store would hand them out. */
class CorruptibleClassifier extends TextClassifier {
  static corrupt = false;
  override async fit(event: TrainingAction, data: unknown, ctx: FitContext): Promise<FitResult> {
    return CorruptibleClassifier.corrupt ? { artifact: new Uint8Array([8, 1, 18, 4, 1, 2, 3]) } : super.fit(event, data, ctx);
  }
}

describe('text-classifier with createTestModel', () => {
  it('gives one honest empty prediction per task before training', async () => {
    const tm = await createTestModel(TextClassifier, { labelConfig: SINGLE });
    try {
      const results = await tm.predict(asTasks(['goal team', 'recipe oven']));
      expect(results).toEqual([
        { result: [], score: 0, model_version: 'TextClassifier-v0' },
        { result: [], score: 0, model_version: 'TextClassifier-v0' },
      ]);
    } finally {
      await tm.close();
    }
  });

  it('single choice: trains on examples and serves the new version with better-than-chance accuracy', async () => {
    const tm = await createTestModel(TextClassifier, { labelConfig: SINGLE });
    try {
      const examples: TestExample[] = Array.from({ length: 90 }, (_, i) => ({ data: { text: makeText(LABELS[(i + 1) % 3]!, i + 1) }, result: choicesRegion('topic', [LABELS[(i + 1) % 3]!]) }));
      const { version, metrics } = await tm.fit(examples);
      expect(version).toBe('TextClassifier-v1');
      expect(metrics.trainSize).toBeGreaterThan(0);
      expectAccurate(await tm.predict(asTasks(HELD_OUT.map((h) => h.text))), 'TextClassifier-v1');
    } finally {
      await tm.close();
    }
  });

  it('multiple choice: independent labels above the threshold', async () => {
    const tm = await createTestModel(TextClassifier, { labelConfig: MULTIPLE });
    try {
      const examples: TestExample[] = [];
      for (let i = 0; i < 60; i++) {
        const tags = [i % 2 ? 'Urgent' : null, i % 3 === 0 ? 'Billing' : null, i % 5 === 0 ? 'Bug' : null].filter((t): t is string => t !== null);
        if (tags.length === 0) continue;
        const words = [...(tags.includes('Urgent') ? ['asap', 'immediately', 'critical'] : ['whenever']), ...(tags.includes('Billing') ? ['invoice', 'charge', 'refund'] : []), ...(tags.includes('Bug') ? ['crash', 'error', 'broken'] : []), 'please', `ticket${i}`];
        examples.push({ data: { text: words.join(' ') }, result: choicesRegion('tags', tags) });
      }
      expect((await tm.fit(examples)).version).toBe('TextClassifier-v1');
      const [result] = await tm.predict(asTasks(['asap immediately critical invoice charge refund please']));
      expect(choicesOf(result!)?.sort()).toEqual(['Billing', 'Urgent']);
    } finally {
      await tm.close();
    }
  });

  it('a corrupt artifact is refused and the previous version keeps serving', async () => {
    const tm = await createTestModel(CorruptibleClassifier, { labelConfig: SINGLE });
    try {
      const examples: TestExample[] = Array.from({ length: 30 }, (_, i) => ({ data: { text: makeText(LABELS[i % 3]!, i) }, result: choicesRegion('topic', [LABELS[i % 3]!]) }));
      expect((await tm.fit(examples)).version).toBe('CorruptibleClassifier-v1');
      const [before] = await tm.predict(asTasks(['goal team coach']));
      CorruptibleClassifier.corrupt = true;
      // The version is recorded, but its setup() fails to load it, so the host keeps the one it serves.
      expect((await tm.fit(examples)).version).toBe('CorruptibleClassifier-v2');
      const [after] = await tm.predict(asTasks(['goal team coach']));
      expect(tm.modelVersion).toBe('CorruptibleClassifier-v1');
      expect(after!.model_version).toBe('CorruptibleClassifier-v1');
      expect(choicesOf(after!)).toEqual(choicesOf(before!));
    } finally {
      CorruptibleClassifier.corrupt = false;
      await tm.close();
    }
  });

  it('runs model selection again only once the examples have grown by half since it last ran', async () => {
    const tm = await createTestModel(TextClassifier, { labelConfig: SINGLE });
    const examples = (n: number): TestExample[] =>
      Array.from({ length: n }, (_, i) => ({ data: { text: makeText(LABELS[i % 3]!, i + 1) }, result: choicesRegion('topic', [LABELS[i % 3]!]) }));
    type Selection = { chosen: unknown; candidates?: unknown[]; reusedFrom?: string; selectedAt?: number };
    const selectionOf = (metrics: Record<string, unknown>) => metrics.selection as Selection;
    try {
      const first = selectionOf((await tm.fit(examples(100))).metrics);
      expect(first.candidates?.length).toBeGreaterThan(1);
      const second = await tm.fit(examples(140));
      expect(selectionOf(second.metrics)).toMatchObject({ chosen: first.chosen, reusedFrom: 'TextClassifier-v1', selectedAt: 100 });
      expect(selectionOf((await tm.fit(examples(149))).metrics)).toMatchObject({ reusedFrom: 'TextClassifier-v2', selectedAt: 100 });
      const again = selectionOf((await tm.fit(examples(150))).metrics);
      expect(again.reusedFrom).toBeUndefined();
      expect(again.candidates?.length).toBeGreaterThan(1);
    } finally {
      await tm.close();
    }
  });

  it('refuses a label config without a Choices control on a Text object', async () => {
    await expect(createTestModel(TextClassifier, { labelConfig: NO_CHOICES })).rejects.toThrow(/Choices/);
  });
});

describe('text-classifier over HTTP (startTestBackend: webhooks, training in worker threads)', () => {
  let backend: TestBackend;

  beforeAll(async () => {
    backend = await startTestBackend({ model: 'text-classifier' });
  });
  afterAll(async () => backend?.close());

  it('START_TRAINING with no annotations fails the job with a clear error, not a crash', async () => {
    await backend.setup(SINGLE, { projectId: 33 });
    const job = await backend.waitForJob(await backend.train(33));
    expect(job.status).toBe('failed');
    expect(job.error).toMatch(/no usable "topic" annotations/);
    expect((await fetch(`${backend.url}/health`)).status).toBe(200);
  });

  it('learns from webhook annotations and serves the new version to /predict and /setup', async () => {
    expect(await backend.setup(SINGLE, { projectId: 31 })).toEqual({ model_version: 'TextClassifier-v0' });
    const project = labelStudio.project({ id: 31, labelConfig: SINGLE });
    for (let i = 1; i <= 90; i++) {
      const label = LABELS[i % 3]!;
      const task = labelStudio.task({ id: i, data: { text: makeText(label, i) }, project: 31 });
      const annotation = labelStudio.annotation({ id: i, taskId: i, result: choicesRegion('topic', [label]) });
      expect(await backend.webhook(labelStudio.annotationCreated({ project, task, annotation }))).toMatchObject({ status: 'ok' });
    }
    const job = await backend.waitForJob(await backend.train(31));
    expect(job).toMatchObject({ status: 'completed', version: 'TextClassifier-v1' });

    expectAccurate(await backend.predict(asTasks(HELD_OUT.map((h) => h.text)), { projectId: 31 }), 'TextClassifier-v1');
    expect(await backend.setup(SINGLE, { projectId: 31 })).toEqual({ model_version: 'TextClassifier-v1' });
    const versions = (await (await fetch(`${backend.url}/projects/31/versions`)).json()) as { versions: Array<{ metrics: { trainSize: number } }> };
    expect(versions.versions[0]!.metrics.trainSize).toBeGreaterThan(0);
  });

  it('answers /setup with 422 and the reason for a label config without a Choices control on a Text object', async () => {
    const refused = await backend.setup(NO_CHOICES, { projectId: 34 }).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(TestBackendError);
    expect((refused as TestBackendError).status).toBe(422);
    expect((refused as TestBackendError).message).toMatch(/Choices/);
  });
});
