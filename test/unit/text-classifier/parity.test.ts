/**
 * Train/serve parity: the features the trainer sees (ORT featurizer → counts → tfidf.ts) must be
 * exactly what the serving graph scores.
 */
import { describe, expect, it } from 'vitest';
import { generateSynthetic, PRESETS } from '../../../bench/accuracy/synthetic.js';
import { createFeaturizer, featurizeTexts, planBatches } from '../../../models/text-classifier/lib/featurizer.js';
import { encodeArtifact, loadClassifier } from '../../../models/text-classifier/lib/artifact.js';
import { weighBlocks } from '../../../models/text-classifier/lib/blocks.js';
import { buildTextClassifierGraph, featureColumns, NAMES, type CharNgrams, type ClassifierMode, type NgramOrder } from '../../../models/text-classifier/lib/graph.js';
import { applyTfidf, computeIdf } from '../../../models/text-classifier/lib/tfidf.js';
import { bucketOf, maxAbsDiff, randomFloats, rowMap, runModel, scoreCsr, TRICKY_TEXTS } from './helpers.js';

const BITS = 14;
const C = 4;
const TEXTS = [...TRICKY_TEXTS, ...generateSynthetic(PRESETS.threeClass(60, 5)).texts];
const LABELS = ['a', 'b', 'c', 'd'];

function randomModel(seed: number) {
  const rows = 2 ** BITS;
  // idf like a real one: positive, 0 for "never seen" buckets
  const idf = randomFloats(rows, seed, 3).map((v, j) => (j % 7 === 0 ? 0 : 1 + Math.abs(v)));
  return { W: randomFloats(rows * C, seed + 1, 3), b: randomFloats(C, seed + 2), idf };
}

describe.each([
  ['single', 2],
  ['multiple', 2],
  ['single', 3],
] as [ClassifierMode, NgramOrder][])('parity, %s choice, n-grams up to %i', (mode, ngramOrder) => {
  const model = randomModel(ngramOrder * 10 + (mode === 'single' ? 1 : 2));
  const serving = buildTextClassifierGraph({ bits: BITS, ngramOrder, labels: LABELS, mode, weights: model, metadata: {} });

  it('scoring the featurizer CSR with W, b in JS equals the ORT probabilities (≤ 1e-5)', async () => {
    const x = await featurizeTexts(TEXTS, { bits: BITS, ngramOrder, idf: model.idf });
    const ort = (await runModel(serving, TEXTS))[NAMES.output]!.data as Float32Array;
    expect(maxAbsDiff(scoreCsr(x, model.W, model.b, mode), ort)).toBeLessThan(1e-5);
  });

  it("the trainer's tf-idf transform of raw counts equals the graph's own weights (≤ 1e-6)", async () => {
    const counts = await featurizeTexts(TEXTS, { bits: BITS, ngramOrder });
    const graphWeights = await featurizeTexts(TEXTS, { bits: BITS, ngramOrder, idf: model.idf });
    const trainerWeights = applyTfidf(counts, model.idf);
    for (let i = 0; i < TEXTS.length; i++) {
      const expected = rowMap(graphWeights, i);
      // Buckets with idf 0 stay in the trainer's rows with weight 0; the featurizer drops zeros.
      const actual = new Map([...rowMap(trainerWeights, i)].filter(([, w]) => w !== 0));
      expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
      for (const [bucket, w] of expected) expect(actual.get(bucket)).toBeCloseTo(w, 6);
    }
  });
});

describe.each(['single', 'multiple'] as ClassifierMode[])('parity with a character block, %s choice', (mode) => {
  const charNgrams: CharNgrams = { min: 2, max: 5, maxChars: 40 };
  const featurizer = { bits: BITS, ngramOrder: 1 as NgramOrder, hashSeed: 0, charNgrams };
  const columns = featureColumns(featurizer);
  const idf = randomFloats(columns, 7, 3).map((v, j) => (j % 5 === 0 ? 0 : 1 + Math.abs(v)));
  const model = { W: randomFloats(columns * C, 8, 3), b: randomFloats(C, 9), idf };
  const serving = buildTextClassifierGraph({ ...featurizer, labels: LABELS, mode, weights: model, metadata: {} });

  it('scores like the CSR of its own front half, and the trainer weighs count blocks as the graph does', async () => {
    const graphWeights = await featurizeTexts(TEXTS, { ...featurizer, idf });
    const ort = (await runModel(serving, TEXTS))[NAMES.output]!.data as Float32Array;
    expect(maxAbsDiff(scoreCsr(graphWeights, model.W, model.b, mode), ort)).toBeLessThan(1e-5);

    const featurizerOfCounts = await createFeaturizer(featurizer);
    const blocks = await featurizerOfCounts.featurizeBlocks(TEXTS);
    await featurizerOfCounts.release();
    const trainerWeights = weighBlocks([blocks.word[0]!, blocks.char!], idf);
    for (let i = 0; i < TEXTS.length; i++) {
      const expected = rowMap(graphWeights, i);
      const actual = new Map([...rowMap(trainerWeights, i)].filter(([, w]) => w !== 0));
      expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
      for (const [bucket, w] of expected) expect(actual.get(bucket)).toBeCloseTo(w, 6);
    }
  });

  it('serves the compact artifact exactly like the dense graph (non-ASCII, empty and long texts included)', async () => {
    // Like a trained model: most buckets unseen (zero row, idf 0), so the compact layout applies.
    const unseen = (j: number) => j % 4 !== 0;
    const sparse = { W: model.W.map((w, k) => (unseen(Math.floor(k / C)) ? 0 : w)), b: model.b, idf: idf.map((v, j) => (unseen(j) ? 0 : v)) };
    const artifact = encodeArtifact({ labels: LABELS, mode, featurizer, ...sparse });
    const classifier = await loadClassifier(artifact);
    expect(classifier.metadata).toMatchObject({ layout: 'compact', featurizer });
    const texts = [...TEXTS, 'ÀÉÎ ñandú 😀😀 日本語のテキスト', 'x'.repeat(200)];
    const { probs } = await classifier.predict(texts);
    await classifier.release();
    const denseGraph = buildTextClassifierGraph({ ...featurizer, labels: LABELS, mode, weights: sparse, metadata: {} });
    const dense = (await runModel(denseGraph, texts))[NAMES.output]!.data as Float32Array;
    expect(maxAbsDiff(probs, dense)).toBeLessThanOrEqual(1e-6);
  });

  it('scores a batch with no character n-gram at all (empty and one-character texts) by the bias', async () => {
    const texts = ['', 'a', ''];
    const ort = (await runModel(serving, texts))[NAMES.output]!.data as Float32Array;
    const x = await featurizeTexts(texts, { ...featurizer, idf });
    expect(maxAbsDiff(scoreCsr(x, model.W, model.b, mode), ort)).toBeLessThan(1e-5);
    expect(Array.from(ort).every(Number.isFinite)).toBe(true);
  });
});

describe('featurizer CSR', () => {
  it('sums repeated n-grams into one count per bucket', async () => {
    const x = await featurizeTexts(['repeat repeat repeat repeat'], { bits: BITS });
    const row = rowMap(x, 0);
    expect(row.get(bucketOf('repeat', BITS))).toBe(4);
    expect(row.get(bucketOf('repeat repeat', BITS))).toBe(3);
    expect(row.size).toBe(2);
  });

  it('keeps the original row order whatever the batching', async () => {
    const featurizer = await createFeaturizer({ bits: BITS }, { maxRows: 3, maxChars: 40 });
    const small = await featurizer.featurize(TEXTS);
    await featurizer.release();
    const big = await featurizeTexts(TEXTS, { bits: BITS });
    expect(small.indptr).toEqual(big.indptr);
    for (let i = 0; i < TEXTS.length; i++) expect(rowMap(small, i)).toEqual(rowMap(big, i));
    // and row i really is text i
    expect(rowMap(big, TEXTS.indexOf('single'))).toEqual(new Map([[bucketOf('single', BITS), 1]]));
  });

  it('plans length-sorted batches within the row and character limits', () => {
    const texts = ['a', 'bbbbbbbbbb', 'cc', 'dddddddddddddddddddd', ''];
    const { order, batches } = planBatches(texts, { maxRows: 2, maxChars: 25 });
    expect(Array.from(order)).toEqual([3, 1, 2, 0, 4]);
    expect(batches).toEqual([[0, 1], [1, 3], [3, 5]]);
  });

  it('handles an empty list and rejects non-strings', async () => {
    const x = await featurizeTexts([], { bits: BITS });
    expect(x.rows).toBe(0);
    expect(Array.from(x.indptr)).toEqual([0]);
    await expect(featurizeTexts(['ok', 42 as unknown as string], { bits: BITS })).rejects.toThrow(/texts\[1\]/);
  });
});

describe('idf', () => {
  it('is smooth idf over the given rows and 0 for buckets never seen', async () => {
    const x = await featurizeTexts(['cat dog', 'cat', 'bird'], { bits: BITS, ngramOrder: 1 });
    const idf = computeIdf(x, [0, 1]); // 'bird' is only in row 2, not counted
    const smooth = (df: number) => Math.log(3 / (1 + df)) + 1;
    expect(idf[bucketOf('cat', BITS)]).toBeCloseTo(smooth(2), 6);
    expect(idf[bucketOf('dog', BITS)]).toBeCloseTo(smooth(1), 6);
    expect(idf[bucketOf('bird', BITS)]).toBe(0);
  });
});
