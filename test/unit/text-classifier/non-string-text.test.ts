/**
 * The text classifier reads only strings (and numbers, booleans) as text: an object in the `<Text>` field,
 * however deep, neither breaks training nor prediction. Real training and onnxruntime sessions; the host's
 * side (state, artifacts) is a plain in-memory `ModelServices`, as the SDK allows for tests.
 */
import { afterAll, describe, expect, it } from 'vitest';
import TextClassifier from '../../../models/text-classifier/index.js';
import { createLogger } from '../../../src/logger.js';
import { LabelInterface, type FitContext, type Model, type TrainingExample } from '../../../src/sdk/index.js';
import type { ModelServices } from '../../../src/sdk/model.js';

const CONFIG = `<View><Text name="text" value="$text"/><Choices name="mood" toName="text" choice="single">
<Choice value="Happy"/><Choice value="Sad"/></Choices></View>`;

/** Far deeper than `JSON.stringify` can go without overflowing the stack. */
function deepObject(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: 'great' };
  for (let i = 0; i < levels; i++) value = { nested: value };
  return value;
}

function build(artifact?: Uint8Array): TextClassifier {
  const state = new Map<string, unknown>();
  const services: ModelServices = {
    log: createLogger('silent'),
    getState: async (key) => state.get(key) as never,
    setState: async (key, value) => void state.set(key, value),
    bumpVersion: async () => 'TextClassifier-v1',
    loadArtifact: async () => artifact,
    getLocalPath: async (url) => url,
    preloadTaskData: async (data) => data,
  };
  return new TextClassifier({
    projectId: '1',
    labelConfig: CONFIG,
    labelInterface: new LabelInterface(CONFIG),
    extraParams: null,
    modelVersion: artifact ? 'TextClassifier-v1' : 'TextClassifier-v0',
    services,
  });
}

const example = (id: number, text: unknown, mood: string): TrainingExample => ({
  taskId: id,
  annotationId: id,
  data: { text },
  result: [{ from_name: 'mood', to_name: 'text', type: 'choices', value: { choices: [mood] } }],
  groundTruth: false,
  updatedAt: null,
});

const fitContext = (examples: TrainingExample[]): FitContext => ({
  examples,
  jobId: 'test',
  progress: () => {},
  log: createLogger('silent'),
  signal: new AbortController().signal,
});

describe('text classifier with non-string text', () => {
  const models: Model[] = [];
  afterAll(async () => {
    for (const model of models) await model.dispose();
  });

  it('trains past an example whose text is a 100,000-level object and predicts for one without throwing', async () => {
    const untrained = build();
    models.push(untrained);
    await untrained.setup();
    const examples = [
      ...['great day', 'lovely and great', 'so great', 'happy great times'].map((t, i) => example(i + 1, t, 'Happy')),
      ...['awful day', 'sad and awful', 'so awful', 'terrible awful times'].map((t, i) => example(i + 11, t, 'Sad')),
      example(21, deepObject(100_000), 'Happy'),
    ];
    const { artifact } = await untrained.fit('START_TRAINING', null, fitContext(examples));
    expect(artifact).toBeInstanceOf(Uint8Array);

    const trained = build(artifact);
    models.push(trained);
    await trained.setup();
    const predictions = await trained.predict([
      { id: 1, data: { text: deepObject(100_000) } },
      { id: 2, data: { text: 'great great' } },
      { id: 3, data: { text: 7 } },
    ]);
    expect(predictions).toHaveLength(3);
    expect(predictions[1]!.result[0]!.value).toEqual({ choices: ['Happy'] });
  });
});
