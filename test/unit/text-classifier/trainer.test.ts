import { beforeAll, describe, expect, it } from 'vitest';
import { generateSynthetic, PRESETS, type SyntheticDataset } from '../../../bench/accuracy/synthetic.js';
import { featurizeTexts, type SparseRows } from '../../../models/text-classifier/lib/featurizer.js';
import { multipleChoiceMetrics, singleChoiceMetrics } from '../../../models/text-classifier/lib/metrics.js';
import { createRandom, shuffleInPlace } from '../../../models/shared/random.js';
import { applyTfidf } from '../../../models/text-classifier/lib/tfidf.js';
import { encodeTargets, fitTextClassifier, splitTrainValidation } from '../../../models/text-classifier/lib/trainer.js';
import { scoreCsr } from './helpers.js';

const BITS = 14;

async function featurized(ds: SyntheticDataset): Promise<SparseRows> {
  return featurizeTexts(ds.texts, { bits: BITS });
}

describe('single choice (softmax regression)', () => {
  const ds = generateSynthetic(PRESETS.threeClass(1500, 21));
  let x: SparseRows;
  beforeAll(async () => {
    x = await featurized(ds);
  });

  it('learns a 3-class problem far above chance (held-out accuracy and macro-F1 > 0.85)', () => {
    const { metrics } = fitTextClassifier(x, ds.targets as number[], { mode: 'single', classes: 3, seed: 1 });
    expect(metrics.accuracy).toBeGreaterThan(0.85);
    expect(metrics.macroF1).toBeGreaterThan(0.85);
    expect(metrics.validationSize).toBeGreaterThan(200);
    expect(metrics.trainSize + metrics.validationSize).toBe(1500);
    expect(metrics.fittedSize).toBe(1500); // refit on everything by default
  });

  it('is deterministic for a seed, and the seed matters', () => {
    const options = { mode: 'single' as const, classes: 3, seed: 5, epochs: 3 };
    const a = fitTextClassifier(x, ds.targets as number[], options);
    const b = fitTextClassifier(x, ds.targets as number[], options);
    const c = fitTextClassifier(x, ds.targets as number[], { ...options, seed: 6 });
    expect(Buffer.from(a.W.buffer).equals(Buffer.from(b.W.buffer))).toBe(true);
    expect(Array.from(a.b)).toEqual(Array.from(b.b));
    expect(a.metrics).toEqual(b.metrics);
    expect(Buffer.from(a.W.buffer).equals(Buffer.from(c.W.buffer))).toBe(false);
  });

  it('gives a label that never occurs in training a low probability everywhere', () => {
    const result = fitTextClassifier(x, ds.targets as number[], { mode: 'single', classes: 4, seed: 1 });
    const probs = scoreCsr(applyTfidf(x, result.idf), result.W, result.b, 'single');
    let maxUnseen = 0;
    for (let i = 0; i < x.rows; i++) maxUnseen = Math.max(maxUnseen, probs[i * 4 + 3]!);
    expect(maxUnseen).toBeLessThan(0.05);
    expect(result.metrics.labelCounts[3]).toBe(0);
  });

  it('keeps the validation-split model when refit is off', () => {
    const { metrics } = fitTextClassifier(x, ds.targets as number[], { mode: 'single', classes: 3, refit: false, epochs: 2 });
    expect(metrics.refit).toBe(false);
    expect(metrics.fittedSize).toBe(metrics.trainSize);
  });

  it('trains without a validation split on tiny data and says so', () => {
    const tiny = { ...x, rows: 6, indptr: x.indptr.subarray(0, 7) };
    const { metrics } = fitTextClassifier(tiny, (ds.targets as number[]).slice(0, 6), { mode: 'single', classes: 3 });
    expect(metrics.validationSize).toBe(0);
    expect(metrics.accuracy).toBeNull();
    expect(metrics.fittedSize).toBe(6);
  });

  it('rejects inconsistent inputs', () => {
    expect(() => fitTextClassifier(x, [0, 1], { mode: 'single', classes: 3 })).toThrow(/rows/);
    const bad = [...(ds.targets as number[])];
    bad[7] = 3;
    expect(() => fitTextClassifier(x, bad, { mode: 'single', classes: 3 })).toThrow(/targets\[7\]/);
    expect(() => fitTextClassifier(x, ds.targets as number[], { mode: 'single', classes: 3, epochs: 0 })).toThrow(/epochs/);
    expect(() => fitTextClassifier(x, ds.targets as number[], { mode: 'single', classes: 3, l2: 1, learningRate: 1 })).toThrow(/learningRate × l2/);
  });
});

describe('lazy L2 scaling', () => {
  // 0.05: the scale shrinks a lot; 0.9: it drops below 1e-6, so W is folded mid-training.
  it.each([0.05, 0.9])('matches plain SGD that shrinks every weight at every step (λ = %f)', async (l2) => {
    const ds = generateSynthetic(PRESETS.threeClass(40, 3));
    const counts = await featurizeTexts(ds.texts, { bits: 8 });
    const epochs = 2;
    const lr0 = 0.8;
    const lazy = fitTextClassifier(counts, ds.targets as number[], {
      mode: 'single', classes: 3, seed: 9, epochs, l2, learningRate: lr0, validationFraction: 0, idf: false,
    });

    // Reference: same features, order and step sizes; the L2 shrink applied eagerly to all of W.
    const x = applyTfidf(counts, new Float32Array(counts.cols).fill(1));
    const W = new Float64Array(counts.cols * 3);
    const b = new Float64Array(3);
    const random = createRandom(9);
    const order = Int32Array.from({ length: x.rows }, (_, i) => i);
    const total = x.rows * epochs;
    let step = 0;
    for (let e = 0; e < epochs; e++) {
      shuffleInPlace(order, random);
      for (const row of order) {
        const lr = (lr0 * (total - step++)) / total;
        const p = scoreCsr({ ...x, rows: 1, indptr: Int32Array.of(0, x.indptr[row + 1]! - x.indptr[row]!), indices: x.indices.subarray(x.indptr[row]!), values: x.values.subarray(x.indptr[row]!) }, Float32Array.from(W), Float32Array.from(b), 'single');
        const g = Array.from(p, (v, c) => v - (c === (ds.targets as number[])[row] ? 1 : 0));
        for (let j = 0; j < W.length; j++) W[j] = W[j]! * (1 - lr * l2);
        for (let c = 0; c < 3; c++) b[c] = b[c]! - lr * g[c]!;
        for (let k = x.indptr[row]!; k < x.indptr[row + 1]!; k++) {
          for (let c = 0; c < 3; c++) W[x.indices[k]! * 3 + c] = W[x.indices[k]! * 3 + c]! - lr * g[c]! * x.values[k]!;
        }
      }
    }
    let maxDiff = 0;
    for (let j = 0; j < W.length; j++) maxDiff = Math.max(maxDiff, Math.abs(W[j]! - lazy.W[j]!));
    expect(maxDiff).toBeLessThan(1e-5);
    expect(Array.from(lazy.b)).toEqual(Array.from(b).map((v) => expect.closeTo(v, 5)));
  });
});

describe('multiple choice (one sigmoid per label)', () => {
  const ds = generateSynthetic(PRESETS.multiLabel(1500, 22));
  let x: SparseRows;
  beforeAll(async () => {
    x = await featurized(ds);
  });

  it('learns multi-hot targets: micro-F1 and macro-F1 well above a constant guess', () => {
    const { metrics } = fitTextClassifier(x, ds.targets as number[][], { mode: 'multiple', classes: 4, seed: 1 });
    // The best constant guess is "every label": F1 = 2p / (1 + p) with p the share of positive decisions.
    const p = (ds.targets as number[][]).reduce((s, t) => s + t.length, 0) / (ds.texts.length * 4);
    const constantF1 = (2 * p) / (1 + p);
    expect(constantF1).toBeLessThan(0.6);
    expect(metrics.microF1).toBeGreaterThan(constantF1 + 0.12);
    expect(metrics.macroF1).toBeGreaterThan(constantF1 + 0.12);
    expect(metrics.hammingAccuracy).toBeGreaterThan(0.8);
    expect(metrics.threshold).toBe(0.5);
  });

  it('scores a label that no text carries close to 0', () => {
    const result = fitTextClassifier(x, ds.targets as number[][], { mode: 'multiple', classes: 5, seed: 1 });
    const probs = scoreCsr(applyTfidf(x, result.idf), result.W, result.b, 'multiple');
    let maxUnseen = 0;
    for (let i = 0; i < x.rows; i++) maxUnseen = Math.max(maxUnseen, probs[i * 5 + 4]!);
    expect(maxUnseen).toBeLessThan(0.05);
  });
});

describe('train/validation split', () => {
  it('is stratified, deterministic and leaves every class in training', () => {
    const labels = [...Array(50).fill(0), ...Array(30).fill(1), ...Array(2).fill(2)] as number[];
    const encoded = encodeTargets(labels, 'single', 3);
    const a = splitTrainValidation(encoded, labels.length, 3, 0.2, createRandom(4));
    const b = splitTrainValidation(encoded, labels.length, 3, 0.2, createRandom(4));
    expect(a).toEqual(b);
    const count = (rows: Int32Array, c: number) => Array.from(rows).filter((r) => labels[r] === c).length;
    expect([count(a.validation, 0), count(a.validation, 1), count(a.validation, 2)]).toEqual([10, 6, 0]);
    expect(count(a.train, 2)).toBe(2);
    expect(new Set([...a.train, ...a.validation]).size).toBe(labels.length);
  });
});

describe('metrics', () => {
  it('computes accuracy and macro-F1 over the labels present', () => {
    // predictions 0, 1, 1 for truth 0, 1, 0; label 2 never occurs and is not averaged in
    const probs = [0.9, 0.1, 0, 0.2, 0.8, 0, 0.4, 0.6, 0];
    const m = singleChoiceMetrics(probs, [0, 1, 0], 3);
    expect(m.accuracy).toBeCloseTo(2 / 3);
    expect(m.macroF1).toBeCloseTo(2 / 3); // F1 = 2/3 for both labels 0 and 1
  });

  it('computes exact-match accuracy, micro/macro-F1 and Hamming accuracy at the threshold', () => {
    const probs = [0.9, 0.6, 0.1, 0.2];
    const truth = [1, 0, 0, 0];
    const m = multipleChoiceMetrics(probs, truth, 2, 0.5);
    // row 0 predicts {0, 1} vs {0}; row 1 predicts {} vs {}
    expect(m.accuracy).toBe(0.5);
    expect(m.hammingAccuracy).toBe(0.75);
    expect(m.microF1).toBeCloseTo(2 / 3); // tp 1, fp 1, fn 0
    expect(m.macroF1).toBeCloseTo((1 + 0) / 2);
  });
});
