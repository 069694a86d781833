/**
 * `findTag`: the control/object pair a model serves, or undefined when the config has none, so a model can
 * accept a config it has nothing to do with instead of catching an exception (`firstTagOccurrence`).
 */
import { describe, expect, it } from 'vitest';
import { LabelInterface, Model, type ModelInit } from '../../src/sdk/index.js';
import { createLogger } from '../../src/logger.js';

const CONFIG = `<View>
  <Image name="photo" value="$image_url"/>
  <Choices name="photo_class" toName="photo"><Choice value="Cat"/><Choice value="Dog"/></Choices>
  <RectangleLabels name="boxes" toName="photo"><Label value="Car"/></RectangleLabels>
  <Text name="caption" value="$caption"/>
  <Choices name="caption_sentiment" toName="caption"><Choice value="Positive"/></Choices>
  <Choices name="orphan" toName="gone"><Choice value="X"/></Choices>
</View>`;

const li = new LabelInterface(CONFIG);

describe('LabelInterface.findTag', () => {
  it('returns the first matching pair in document order, types compared case-insensitively', () => {
    expect(li.findTag('Choices', 'Text')).toEqual({ fromName: 'caption_sentiment', toName: 'caption', value: 'caption' });
    expect(li.findTag('choices', 'IMAGE')).toEqual({ fromName: 'photo_class', toName: 'photo', value: 'image_url' });
    expect(li.findTag(['Labels', 'RectangleLabels'], 'Image')?.fromName).toBe('boxes');
  });

  it('applies name and toName filters', () => {
    expect(li.findTag('Choices', ['Image', 'Text'], { nameFilter: (n) => n !== 'photo_class' })?.fromName).toBe('caption_sentiment');
    expect(li.findTag('Choices', ['Image', 'Text'], { toNameFilter: (n) => n === 'caption' })?.toName).toBe('caption');
  });

  it('returns undefined, never throws, when nothing matches', () => {
    expect(li.findTag('Labels', 'Text')).toBeUndefined();
    expect(li.findTag('Choices', 'Audio')).toBeUndefined();
    expect(li.findTag('Choices', 'Image', { nameFilter: () => false })).toBeUndefined();
    // A control whose toName names no object tag does not match.
    expect(new LabelInterface('<View><Choices name="c" toName="gone"/></View>').findTag('Choices', 'Text')).toBeUndefined();
    expect(new LabelInterface('').findTag('Choices', 'Text')).toBeUndefined();
  });

  it('agrees with firstTagOccurrence, which throws where findTag returns undefined', () => {
    for (const [control, object] of [['Choices', 'Text'], ['Choices', 'Image'], ['RectangleLabels', 'Image']] as const) {
      expect(li.findTag(control, object)).toEqual(li.firstTagOccurrence(control, object));
    }
    expect(() => li.firstTagOccurrence('Labels', 'Text')).toThrow(/<labels> control tag pointing at an <text> object/);
  });
});

describe('Model.findTag', () => {
  class Probe extends Model {
    override predict() {
      return [];
    }
  }
  const init = (labelConfig: string): ModelInit => ({
    projectId: '1',
    labelConfig,
    labelInterface: new LabelInterface(labelConfig),
    extraParams: null,
    modelVersion: 'Probe-v0',
    // Model's constructor only keeps the services; findTag never calls them.
    services: { log: createLogger('silent') } as ModelInit['services'],
  });

  it("is the model's label interface's findTag", () => {
    expect(new Probe(init(CONFIG)).findTag('Choices', 'Text')).toEqual({ fromName: 'caption_sentiment', toName: 'caption', value: 'caption' });
    expect(new Probe(init(CONFIG)).findTag('Choices', 'Text', { nameFilter: (n) => n === 'nope' })).toBeUndefined();
    expect(new Probe(init('<View></View>')).findTag('Choices', 'Text')).toBeUndefined();
  });
});
