import { describe, expect, it } from 'vitest';
import BuiltIn from '../../models/built-in/index.js';
import { createTestModel } from '../../src/testing/index.js';

const TEXT = '<Text name="text" value="$text"/>';
const CHOICES = '<Choices name="topic" toName="text"><Choice value="A"/><Choice value="B"/></Choices>';
const LABELS = '<Labels name="ner" toName="text"><Label value="Person"/></Labels>';
const view = (...tags: string[]) => `<View>${TEXT}${tags.join('')}</View>`;

async function servedBy(labelConfig: string, extraParams?: string): Promise<string> {
  const tm = await createTestModel(BuiltIn, { labelConfig, ...(extraParams ? { extraParams } : {}) });
  try {
    return tm.model.modelName;
  } finally {
    await tm.close();
  }
}

describe('the built-in model picks a model per project by its label config', () => {
  it('Labels on Text → span tagger; Choices on Text → text classifier', async () => {
    expect(await servedBy(view(LABELS))).toBe('SpanTagger');
    expect(await servedBy(view(CHOICES))).toBe('TextClassifier');
  });

  it('a config with both goes to the classifier unless extra_params names the Labels control', async () => {
    expect(await servedBy(view(CHOICES, LABELS))).toBe('TextClassifier');
    expect(await servedBy(view(CHOICES, LABELS), '{"control": "ner"}')).toBe('SpanTagger');
    expect(await servedBy(view(LABELS, CHOICES), '{"control": "topic"}')).toBe('TextClassifier');
  });

  it('an empty config is accepted (nothing to predict yet) and a config with neither is refused', async () => {
    expect(await servedBy('')).toBe('TextClassifier');
    await expect(servedBy('<View><Image name="img" value="$image"/><RectangleLabels name="box" toName="img"><Label value="Car"/></RectangleLabels></View>')).rejects.toThrow(/Choices/);
  });

  it('stamps its own version on predictions, whichever model serves', async () => {
    const tm = await createTestModel(BuiltIn, { labelConfig: view(LABELS) });
    try {
      expect(await tm.predict([{ data: { text: 'Anna Smith paid 10' } }])).toEqual([{ result: [], score: 0, model_version: 'BuiltIn-v0' }]);
    } finally {
      await tm.close();
    }
  });
});
