import { describe, expect, it } from 'vitest';
import {
  ModelResponse,
  PredictionSchema,
  TaskPredictionSchema,
  finalizePredictions,
  type TaskPrediction,
} from '../../src/sdk/model-response.js';

/** Fixture of the reference tests/test_response.py: versioned, unversioned, and a nested list. */
const fixture = (): TaskPrediction[] => [
  { model_version: '0.1', score: 0.1, result: [{}] },
  { score: 0.1, result: [{}] },
  [
    { model_version: 'prediction_1', score: 0.1, result: [{}] },
    { score: 0.1, result: [{}] },
  ],
];

describe('ModelResponse (reference tests/test_response.py)', () => {
  it('test_has_model_version', () => {
    expect(new ModelResponse(fixture()).hasModelVersion()).toBe(false);
    expect(new ModelResponse(fixture(), '').hasModelVersion()).toBe(false);
    expect(new ModelResponse(fixture(), '1.0').hasModelVersion()).toBe(true);
  });

  it('test_update_predictions_version', () => {
    const response = new ModelResponse(fixture(), '1.0');
    response.updatePredictionsVersion();
    const versions = response.toJSON().predictions.flat().map((p) => p.model_version);
    expect(versions).toEqual(['0.1', '1.0', 'prediction_1', '1.0']);
  });

  it('updatePredictionsVersion leaves predictions alone while the response has no version', () => {
    const response = new ModelResponse(fixture());
    response.updatePredictionsVersion();
    expect(response.toJSON().predictions.flat().map((p) => p.model_version)).toEqual(['0.1', null, 'prediction_1', null]);
  });

  it('test_set_version', () => {
    const response = new ModelResponse(fixture());
    response.setVersion('2.0');
    expect(response.hasModelVersion()).toBe(true);
    expect(response.model_version).toBe('2.0');
    expect(response.toJSON().predictions.flat().map((p) => p.model_version)).toEqual(['0.1', '2.0', 'prediction_1', '2.0']);
  });

  it('test_serialize', () => {
    const response = new ModelResponse(fixture(), '1.0');
    const before = {
      model_version: '1.0',
      predictions: [
        { model_version: '0.1', score: 0.1, result: [{}] },
        { model_version: null, score: 0.1, result: [{}] },
        [
          { model_version: 'prediction_1', score: 0.1, result: [{}] },
          { model_version: null, score: 0.1, result: [{}] },
        ],
      ],
    };
    expect(response.toJSON()).toEqual(before);
    // Key order as pydantic's model_dump: model_version, score, result.
    expect(JSON.stringify(response)).toBe(JSON.stringify(before));

    response.updatePredictionsVersion();
    const after = JSON.parse(JSON.stringify(before)) as typeof before;
    after.predictions[1] = { model_version: '1.0', score: 0.1, result: [{}] };
    after.predictions[2] = [
      { model_version: 'prediction_1', score: 0.1, result: [{}] },
      { model_version: '1.0', score: 0.1, result: [{}] },
    ];
    expect(JSON.stringify(response)).toBe(JSON.stringify(after));
  });

  it('does not mutate the predictions it was given', () => {
    const predictions = fixture();
    new ModelResponse(predictions).setVersion('3.0');
    expect(predictions).toEqual(fixture());
  });
});

describe('finalizePredictions', () => {
  it('returns [] when the model returned nothing', () => {
    expect(finalizePredictions(null, '1.0')).toEqual([]);
    expect(finalizePredictions(undefined, '1.0')).toEqual([]);
  });

  it('fills missing model_version with the served version and score with 0 for a bare list', () => {
    const region = { from_name: 'sentiment', to_name: 'text', type: 'choices', value: { choices: ['Positive'] } };
    const output: TaskPrediction[] = [
      { result: [region] },
      { result: [], model_version: 'mine', score: 0.7 },
      [{ result: [region], model_version: null }, { result: [], model_version: '' }],
    ];
    const finalized = finalizePredictions(output, '1.0');
    expect(finalized).toEqual([
      { model_version: '1.0', score: 0, result: [region] },
      { model_version: 'mine', score: 0.7, result: [] },
      [
        { model_version: '1.0', score: 0, result: [region] },
        { model_version: '1.0', score: 0, result: [] },
      ],
    ]);
    // The model's own objects are untouched.
    expect(output[0]).toEqual({ result: [region] });
  });

  it('uses the response version when the ModelResponse has one, else the served version', () => {
    const versioned = finalizePredictions(new ModelResponse(fixture(), 'resp-1'), 'served');
    expect(versioned.flat().map((p) => p.model_version)).toEqual(['0.1', 'resp-1', 'prediction_1', 'resp-1']);

    const unversioned = finalizePredictions(new ModelResponse([{ result: [] }]), 'served');
    expect(unversioned).toEqual([{ model_version: 'served', score: 0, result: [] }]);
  });

  it('keeps extra prediction and region fields', () => {
    const [prediction] = finalizePredictions([{ result: [{ id: 'r1', origin: 'prediction' }], cluster: 3 }], 'v');
    expect(prediction).toEqual({ model_version: 'v', score: 0, result: [{ id: 'r1', origin: 'prediction' }], cluster: 3 });
  });
});

describe('prediction schemas', () => {
  it('accept predictions and per-task lists, keeping unknown region fields', () => {
    const parsed = TaskPredictionSchema.parse([{ result: [{ from_name: 'a', extra: 1 }], score: 0.5 }, { result: [] }]);
    expect(parsed).toEqual([{ result: [{ from_name: 'a', extra: 1 }], score: 0.5 }, { result: [] }]);
    expect(PredictionSchema.parse({ result: [], model_version: null })).toEqual({ result: [], model_version: null });
  });

  it('reject a missing result, non-object regions, and non-numeric scores', () => {
    expect(PredictionSchema.safeParse({ score: 1 }).success).toBe(false);
    expect(PredictionSchema.safeParse({ result: ['region'] }).success).toBe(false);
    expect(PredictionSchema.safeParse({ result: [], score: '0.9' }).success).toBe(false);
    expect(PredictionSchema.safeParse({ result: [], model_version: 3 }).success).toBe(false);
    expect(TaskPredictionSchema.safeParse([{ result: [] }, 'x']).success).toBe(false);
  });
});
