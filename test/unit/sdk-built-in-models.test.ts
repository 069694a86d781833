/**
 * The built-in models read `extra_params` through the SDK's parsed value, so the JSON text Label Studio's
 * form sends works as well as an object; and a fit that cannot succeed throws NonRetryableError. Built with
 * the test kit (real factory and stores, no HTTP).
 */
import { describe, expect, it } from 'vitest';
import KeywordChoices from '../../models/keyword-choices/index.js';
import TextClassifier from '../../models/text-classifier/index.js';
import { isNonRetryableError } from '../../src/sdk/errors.js';
import { choices, choicesOf } from '../../src/sdk/index.js';
import { createTestModel, type TestExample } from '../../src/testing/index.js';

const TWO_CONTROLS = `<View><Text name="text" value="$text"/>
<Choices name="topic" toName="text"><Choice value="Sports"/><Choice value="Cooking"/></Choices>
<Choices name="tone" toName="text"><Choice value="Calm"/><Choice value="Angry"/></Choices></View>`;

const TONE_EXAMPLES: TestExample[] = Array.from({ length: 24 }, (_, i) => {
  const angry = i % 2 === 0;
  return { data: { text: angry ? `furious outraged shouting ${i}` : `peaceful quiet relaxed ${i}` }, result: [choices('tone', 'text', [angry ? 'Angry' : 'Calm'])] };
});

describe('text-classifier and extra_params', () => {
  it('trains and predicts the control named by extra_params sent as JSON text', async () => {
    const tm = await createTestModel(TextClassifier, { labelConfig: TWO_CONTROLS, extraParams: '{"control": "tone"}' });
    try {
      expect((await tm.fit(TONE_EXAMPLES)).version).toBe('TextClassifier-v1');
      const [prediction] = await tm.predict([{ data: { text: 'furious shouting' } }]);
      expect(prediction!.result).toEqual([choices('tone', 'text', ['Angry'])]);
    } finally {
      await tm.close();
    }
  });

  it('serves the first Choices control without extra_params, and a fit with none of its annotations fails for good', async () => {
    const tm = await createTestModel(TextClassifier, { labelConfig: TWO_CONTROLS });
    try {
      const err = await tm.fit(TONE_EXAMPLES).catch((e: unknown) => e);
      expect(isNonRetryableError(err)).toBe(true);
      expect((err as Error).message).toMatch(/^no usable "topic" annotations yet \(24 stored examples\)/);
    } finally {
      await tm.close();
    }
  });

  it('refuses a config where the named control is not Choices on Text', async () => {
    await expect(createTestModel(TextClassifier, { labelConfig: TWO_CONTROLS, extraParams: '{"control": "nope"}' })).rejects.toThrow(
      /extra_params names control "nope"/,
    );
  });
});

describe('keyword-choices and extra_params', () => {
  const CONFIG = '<View><Text name="text" value="$text"/><Choices name="sentiment" toName="text"><Choice value="Positive"/><Choice value="Negative"/></Choices></View>';

  it('uses keywords sent as JSON text', async () => {
    const tm = await createTestModel(KeywordChoices, { labelConfig: CONFIG, extraParams: '{"keywords": {"Negative": ["meh"]}}' });
    try {
      const [prediction] = await tm.predict([{ data: { text: 'meh, I guess' } }]);
      expect(choicesOf(prediction!.result, 'sentiment')).toEqual(['Negative']);
    } finally {
      await tm.close();
    }
  });

  it('fails for good without a Choices control on a Text object', async () => {
    const tm = await createTestModel(KeywordChoices, { labelConfig: '<View><Image name="img" value="$image"/></View>' });
    try {
      const err = await tm.fit([{ data: { text: 'x' }, result: [] }]).catch((e: unknown) => e);
      expect(isNonRetryableError(err)).toBe(true);
      expect((err as Error).message).toBe('this model needs a Choices control on a Text object');
    } finally {
      await tm.close();
    }
  });
});
