/**
 * Typed result regions: readers take values out of an annotation's `result` as Label Studio stores it
 * (extra fields, several controls, malformed entries from a careless sender); builders make regions that
 * a prediction returns as they are.
 */
import { describe, expect, it } from 'vitest';
import {
  choices,
  choicesOf,
  rectangle,
  rectanglesOf,
  span,
  spansOf,
  type ChoicesRegion,
  type Prediction,
  type Region,
  type TrainingExample,
} from '../../src/sdk/index.js';
import { PredictionSchema, finalizePredictions } from '../../src/sdk/model-response.js';

/** An annotation result as Label Studio sends it in a webhook (ids, origin, image size, …). */
const RESULT: Region[] = [
  { id: 'a1', from_name: 'sentiment', to_name: 'text', type: 'choices', origin: 'manual', value: { choices: ['Positive'] } },
  { id: 'a2', from_name: 'topics', to_name: 'text', type: 'choices', origin: 'manual', value: { choices: ['Sports', 'Finance'] } },
  { id: 'a3', from_name: 'ner', to_name: 'text', type: 'labels', origin: 'manual', value: { start: 0, end: 5, text: 'Paris', labels: ['City'] } },
  { id: 'a4', from_name: 'ner', to_name: 'text', type: 'labels', origin: 'manual', value: { start: 10, end: 14, text: 'Anna', labels: ['Person'] } },
  {
    id: 'a5',
    from_name: 'boxes',
    to_name: 'image',
    type: 'rectanglelabels',
    original_width: 800,
    original_height: 600,
    image_rotation: 0,
    value: { x: 10, y: 20.5, width: 30, height: 40, rotation: 0, rectanglelabels: ['Car'] },
  },
  { id: 'a6', from_name: 'notes', to_name: 'text', type: 'textarea', value: { text: ['looks fine'] } },
  { from_id: 'a3', to_id: 'a4', type: 'relation', direction: 'right', labels: [] },
];

describe('readers', () => {
  it('choicesOf reads the choices of one control only', () => {
    expect(choicesOf(RESULT, 'sentiment')).toEqual(['Positive']);
    expect(choicesOf(RESULT, 'topics')).toEqual(['Sports', 'Finance']);
    expect(choicesOf(RESULT, 'ner')).toEqual([]); // a labels region, not choices
    expect(choicesOf(RESULT, 'missing')).toEqual([]);
  });

  it('choicesOf joins several regions of the control (per-region choices), each choice once, in order', () => {
    const perRegion: Region[] = [
      { from_name: 'quality', to_name: 'text', type: 'choices', value: { choices: ['Good'] } },
      { from_name: 'quality', to_name: 'text', type: 'choices', value: { choices: ['Bad', 'Good'] } },
    ];
    expect(choicesOf(perRegion, 'quality')).toEqual(['Good', 'Bad']);
  });

  it('spansOf reads labeled spans in region order', () => {
    expect(spansOf(RESULT, 'ner')).toEqual([
      { start: 0, end: 5, text: 'Paris', labels: ['City'] },
      { start: 10, end: 14, text: 'Anna', labels: ['Person'] },
    ]);
    expect(spansOf(RESULT, 'sentiment')).toEqual([]);
  });

  it('rectanglesOf reads boxes with their labels and rotation', () => {
    expect(rectanglesOf(RESULT, 'boxes')).toEqual([{ x: 10, y: 20.5, width: 30, height: 40, rotation: 0, rectanglelabels: ['Car'] }]);
    const unrotated: Region[] = [{ from_name: 'boxes', to_name: 'image', type: 'rectanglelabels', value: { x: 1, y: 2, width: 3, height: 4, rectanglelabels: [] } }];
    expect(rectanglesOf(unrotated, 'boxes')).toEqual([{ x: 1, y: 2, width: 3, height: 4, rectanglelabels: [] }]);
  });

  it('skip malformed entries instead of throwing, and read nothing from a missing result', () => {
    const messy = [
      null,
      'choices',
      { from_name: 'sentiment', type: 'choices' },
      { from_name: 'sentiment', type: 'choices', value: null },
      { from_name: 'sentiment', type: 'choices', value: { choices: 'Positive' } },
      { from_name: 'sentiment', type: 'choices', value: { choices: ['Negative', 3, null, { a: 1 }] } },
      { from_name: 'ner', type: 'labels', value: { start: '0', end: 5, text: 'x', labels: ['City'] } },
      { from_name: 'ner', type: 'labels', value: { start: 0, end: Number.NaN, text: 'x', labels: ['City'] } },
      { from_name: 'ner', type: 'labels', value: { start: 0, end: 4, labels: ['City'] } },
      { from_name: 'ner', type: 'labels', value: { start: 0, end: 4, text: 'x' } },
      { from_name: 'boxes', type: 'rectanglelabels', value: { x: 1, y: 2, width: 3, rectanglelabels: ['Car'] } },
      { from_name: 'boxes', type: 'rectanglelabels', value: { x: 1, y: 2, width: 3, height: 4, rotation: 'none', rectanglelabels: ['Car', 7] } },
    ] as unknown as Region[];
    expect(choicesOf(messy, 'sentiment')).toEqual(['Negative']);
    expect(spansOf(messy, 'ner')).toEqual([{ start: 0, end: 4, text: '', labels: ['City'] }]);
    expect(rectanglesOf(messy, 'boxes')).toEqual([{ x: 1, y: 2, width: 3, height: 4, rectanglelabels: ['Car'] }]);
    for (const nothing of [null, undefined, {} as unknown as Region[]]) {
      expect(choicesOf(nothing, 'sentiment')).toEqual([]);
      expect(spansOf(nothing, 'ner')).toEqual([]);
      expect(rectanglesOf(nothing, 'boxes')).toEqual([]);
    }
  });

  it('read a training example without casts', () => {
    const example: TrainingExample = { taskId: 1, annotationId: 2, data: { text: 'Paris is nice' }, result: RESULT, groundTruth: false, updatedAt: null };
    const label: string | undefined = choicesOf(example.result, 'sentiment')[0];
    expect(label).toBe('Positive');
  });
});

describe('builders', () => {
  it('choices() makes a choices region, with a score only when given', () => {
    expect(choices('sentiment', 'text', ['Positive'])).toEqual({ from_name: 'sentiment', to_name: 'text', type: 'choices', value: { choices: ['Positive'] } });
    expect(JSON.stringify(choices('sentiment', 'text', ['Positive']))).toBe('{"from_name":"sentiment","to_name":"text","type":"choices","value":{"choices":["Positive"]}}');
    expect(choices('sentiment', 'text', ['A', 'B'], 0.75)).toEqual({ from_name: 'sentiment', to_name: 'text', type: 'choices', value: { choices: ['A', 'B'] }, score: 0.75 });
  });

  it('span() and rectangle() make labels and rectanglelabels regions', () => {
    expect(span('ner', 'text', { start: 0, end: 5, text: 'Paris', labels: ['City'] }, 0.9)).toEqual({
      from_name: 'ner',
      to_name: 'text',
      type: 'labels',
      value: { start: 0, end: 5, text: 'Paris', labels: ['City'] },
      score: 0.9,
    });
    expect(rectangle('boxes', 'image', { x: 10, y: 20, width: 30, height: 40, rectanglelabels: ['Car'] })).toEqual({
      from_name: 'boxes',
      to_name: 'image',
      type: 'rectanglelabels',
      value: { x: 10, y: 20, width: 30, height: 40, rectanglelabels: ['Car'] },
    });
    expect(rectangle('boxes', 'image', { x: 1, y: 2, width: 3, height: 4, rotation: 15, rectanglelabels: [] }).value.rotation).toBe(15);
  });

  it('copy their inputs, so reusing an array later does not change a returned region', () => {
    const labels = ['Positive'];
    const region = choices('sentiment', 'text', labels);
    labels.push('Negative');
    const spanLabels = ['City'];
    const spanRegion = span('ner', 'text', { start: 0, end: 1, text: 'P', labels: spanLabels });
    spanLabels.length = 0;
    expect(region.value.choices).toEqual(['Positive']);
    expect(spanRegion.value.labels).toEqual(['City']);
  });

  it('round-trip through the readers', () => {
    const result = [
      choices('sentiment', 'text', ['Negative']),
      span('ner', 'text', { start: 3, end: 7, text: 'Rome', labels: ['City'] }),
      rectangle('boxes', 'image', { x: 5, y: 6, width: 7, height: 8, rotation: 90, rectanglelabels: ['Bus'] }),
    ];
    expect(choicesOf(result, 'sentiment')).toEqual(['Negative']);
    expect(spansOf(result, 'ner')).toEqual([{ start: 3, end: 7, text: 'Rome', labels: ['City'] }]);
    expect(rectanglesOf(result, 'boxes')).toEqual([{ x: 5, y: 6, width: 7, height: 8, rotation: 90, rectanglelabels: ['Bus'] }]);
  });

  it('fit a prediction as it is: the schema accepts it and finalising keeps the regions', () => {
    const region: ChoicesRegion = choices('sentiment', 'text', ['Positive'], 0.8);
    const prediction: Prediction = { result: [region, { from_name: 'free', to_name: 'text', type: 'rating', value: { rating: 4 } }], score: 0.8 };
    expect(PredictionSchema.parse(prediction)).toEqual(prediction);
    expect(finalizePredictions([prediction], 'M-v1')).toEqual([{ model_version: 'M-v1', score: 0.8, result: prediction.result }]);
  });
});
