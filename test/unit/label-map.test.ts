import { describe, expect, it } from 'vitest';
import { LabelConfigError, LabelInterface } from '../../src/sdk/label-config.js';
import { buildLabelMap } from '../../src/sdk/label-map.js';

/** An image config whose `label` control holds the given <Label> tags. */
const imageConfig = (labels: string) => `
  <View>
    <Image name="image" value="$image"/>
    <RectangleLabels name="label" toName="image">${labels}</RectangleLabels>
  </View>`;

// The seven cases of the reference backend's tests/test_build_label_map.py.
const referenceCases: { name: string; labels: string; modelLabels: string[]; expected: Record<string, string> }[] = [
  { name: 'empty labels', labels: '', modelLabels: ['car', 'airplane'], expected: {} },
  {
    name: 'predicted_values, plus a plain label matched case-insensitively',
    labels: '<Label value="Car" predicted_values="car,truck"/><Label value="Airplane"/>',
    modelLabels: ['car', 'truck', 'airplane'],
    expected: { car: 'Car', truck: 'Car', airplane: 'Airplane' },
  },
  {
    name: 'plain values matched case-insensitively',
    labels: '<Label value="Car"/><Label value="Airplane"/>',
    modelLabels: ['car', 'airplane'],
    expected: { car: 'Car', airplane: 'Airplane' },
  },
  {
    name: 'partial: unmatched model label and unused config label',
    labels: '<Label value="Car"/><Label value="Plane" predicted_values="airplane"/><Label value="Flower"/>',
    modelLabels: ['car', 'airplane', 'bicycle'],
    expected: { car: 'Car', airplane: 'Plane' },
  },
  {
    name: 'mixed predicted_values and plain labels',
    labels: '<Label value="Car"/><Label value="Plane" predicted_values="airplane"/><Label value="Bicycle"/>',
    modelLabels: ['car', 'airplane', 'bicycle'],
    expected: { car: 'Car', airplane: 'Plane', bicycle: 'Bicycle' },
  },
  {
    name: 'label with a space matched exactly',
    labels: '<Label value="Car"/><Label value="Bicycle space"/>',
    modelLabels: ['car', 'Bicycle space'],
    expected: { car: 'Car', 'Bicycle space': 'Bicycle space' },
  },
  {
    name: 'predicted_values naming a class the model lacks',
    labels: '<Label value="Car"/><Label value="Airplane" predicted_values="jet"/>',
    modelLabels: ['car', 'airplane'],
    expected: { car: 'Car' },
  },
];

describe('buildLabelMap: reference cases', () => {
  for (const c of referenceCases) {
    it(c.name, () => {
      const li = new LabelInterface(imageConfig(c.labels));
      expect(buildLabelMap(li, 'label', c.modelLabels)).toEqual(c.expected);
      // The method is the same implementation.
      expect(li.buildLabelMap('label', c.modelLabels)).toEqual(c.expected);
    });
  }
});

describe('buildLabelMap: explicit semantics', () => {
  it('trims predicted_values entries, ignores empty ones, and keeps model-label order', () => {
    const li = new LabelInterface(imageConfig('<Label value="Car" predicted_values=" truck , ,car "/><Label value="Bus"/>'));
    const map = li.buildLabelMap('label', ['bus', 'car', 'truck', '']);
    expect(map).toEqual({ bus: 'Bus', car: 'Car', truck: 'Car' });
    expect(Object.keys(map)).toEqual(['bus', 'car', 'truck']);
  });

  it('matches predicted_values case-sensitively', () => {
    const li = new LabelInterface(imageConfig('<Label value="Car" predicted_values="Automobile"/>'));
    expect(li.buildLabelMap('label', ['automobile', 'Automobile'])).toEqual({ Automobile: 'Car' });
  });

  it('prefers predicted_values, then exact, then case-insensitive; earlier labels win ties', () => {
    const li = new LabelInterface(
      imageConfig(
        '<Label value="dog"/><Label value="DOG"/><Label value="Canine" predicted_values="Dog"/>' +
          '<Label value="Cat"/><Label value="cat"/><Label value="Bird" predicted_values="parrot"/><Label value="Fowl" predicted_values="parrot"/>' +
          '<Label value="Truck"/><Label value="Lorry" predicted_values="Truck"/>',
      ),
    );
    expect(li.buildLabelMap('label', ['Dog', 'dog', 'DoG', 'cat', 'CAT', 'parrot', 'Truck'])).toEqual({
      Dog: 'Canine',
      dog: 'dog',
      DoG: 'dog',
      cat: 'cat',
      CAT: 'Cat',
      parrot: 'Bird',
      Truck: 'Lorry',
    });
  });

  it('maps onto the alias when a label has one', () => {
    const li = new LabelInterface(imageConfig('<Label value="Motor vehicle" alias="vehicle" predicted_values="car"/>'));
    expect(li.buildLabelMap('label', ['car'])).toEqual({ car: 'vehicle' });
  });

  it('works for Choices and throws LabelConfigError for an unknown control', () => {
    const li = new LabelInterface(
      '<View><Text name="t" value="$t"/><Choices name="s" toName="t"><Choice value="Positive"/></Choices></View>',
    );
    expect(li.buildLabelMap('s', ['POSITIVE', 'negative'])).toEqual({ POSITIVE: 'Positive' });
    expect(() => li.buildLabelMap('label', ['x'])).toThrow(LabelConfigError);
  });

  it('treats a model class named __proto__ as data', () => {
    const li = new LabelInterface(imageConfig('<Label value="Proto" predicted_values="__proto__"/>'));
    const map = li.buildLabelMap('label', ['__proto__']);
    expect(Object.getPrototypeOf(map)).toBe(Object.prototype);
    expect(Object.keys(map)).toEqual(['__proto__']);
    expect(JSON.stringify(map)).toBe('{"__proto__":"Proto"}');
  });
});
