import { describe, expect, it } from 'vitest';
import { generateSynthetic, PRESETS } from '../../../bench/accuracy/synthetic.js';
import {
  SELECTION_GRID,
  createFeaturizer,
  loadClassifier,
  readArtifactMetadata,
  trainTextClassifier,
  type TrainProgress,
} from '../../../models/text-classifier/lib/index.js';
import { singleChoiceMetrics } from '../../../models/text-classifier/lib/metrics.js';

const BITS = 14;

describe('trainTextClassifier, single choice', () => {
  const ds = generateSynthetic(PRESETS.threeClass(1600, 31));
  const train = { texts: ds.texts.slice(0, 1200), targets: (ds.targets as number[]).slice(0, 1200).map((t) => ds.labels[t]!) };
  const test = { texts: ds.texts.slice(1200), targets: (ds.targets as number[]).slice(1200) };

  it('trains from label names, exports a loadable artifact and predicts unseen texts well', async () => {
    const progress: TrainProgress[] = [];
    const result = await trainTextClassifier({
      ...train,
      labels: ds.labels,
      mode: 'single',
      bits: BITS,
      metadata: { project: 'p1' },
      onProgress: (p) => progress.push(p),
    });
    const classifier = await loadClassifier(result.artifact);
    const { probs } = await classifier.predict(test.texts);
    await classifier.release();
    const { accuracy, macroF1 } = singleChoiceMetrics(probs, test.targets, 3);
    expect(accuracy).toBeGreaterThan(0.85);
    expect(macroF1).toBeGreaterThan(0.85);

    expect(result.metrics.accuracy).toBeGreaterThan(0.85);
    expect(result.metadata.extra).toEqual({ project: 'p1' });
    expect(readArtifactMetadata(result.artifact).metrics).toMatchObject({ trainSize: result.metrics.trainSize, epochs: result.metrics.epochs });
    for (const key of ['featurizeMs', 'fitMs', 'exportMs', 'validateMs', 'totalMs'] as const) expect(result.timings[key]).toBeGreaterThanOrEqual(0);

    const fractions = progress.map((p) => p.fraction);
    expect(fractions).toEqual([...fractions].sort((a, b) => a - b));
    expect(fractions.at(-1)).toBe(1);
    expect([...new Set(progress.map((p) => p.phase))]).toEqual(['featurize', 'fit', 'export', 'validate']);
  });

  it('produces byte-identical artifacts for the same inputs and seed', async () => {
    const options = { ...train, labels: ds.labels, mode: 'single' as const, bits: 12, epochs: 2, seed: 3 };
    const [a, b] = [await trainTextClassifier(options), await trainTextClassifier(options)];
    expect(Buffer.from(a.artifact).equals(Buffer.from(b.artifact))).toBe(true);
    const c = await trainTextClassifier({ ...options, seed: 4 });
    expect(Buffer.from(a.artifact).equals(Buffer.from(c.artifact))).toBe(false);
  });

  it('reuses a featurizer session when given one, and refuses one built differently', async () => {
    // What selection featurizes: every word order of the grid and the character block.
    const featurizer = await createFeaturizer({ bits: 12, ngramOrder: 2, charNgrams: SELECTION_GRID.charNgrams });
    const options = { ...train, labels: ds.labels, mode: 'single' as const, epochs: 1 };
    const reused = await trainTextClassifier({ ...options, bits: 12, featurizer });
    const fresh = await trainTextClassifier({ ...options, bits: 12 });
    expect(Buffer.from(reused.artifact).equals(Buffer.from(fresh.artifact))).toBe(true);
    await expect(trainTextClassifier({ ...options, bits: 13, featurizer })).rejects.toThrow(/different bits/);
    await featurizer.release();
  });

  it('searches only the features a reused featurizer computes', async () => {
    const wordsOnly = await createFeaturizer({ bits: 12, ngramOrder: 1 });
    const result = await trainTextClassifier({ ...train, labels: ds.labels, mode: 'single', bits: 12, epochs: 1, featurizer: wordsOnly });
    await wordsOnly.release();
    const selection = result.metrics.selection;
    expect('candidates' in selection && selection.candidates.map((c) => [c.settings.wordOrder, c.settings.chars])).toEqual(
      expect.arrayContaining([[1, false]]),
    );
    expect('candidates' in selection && selection.candidates.every((c) => c.settings.wordOrder === 1 && !c.settings.chars)).toBe(true);
    expect(result.metadata.featurizer).toEqual({ bits: 12, ngramOrder: 1, hashSeed: 0 });
  });

  it('rejects malformed input with a message naming the problem', async () => {
    const base = { labels: ['a', 'b'], mode: 'single' as const, bits: 10 };
    await expect(trainTextClassifier({ ...base, texts: ['x'], targets: [] })).rejects.toThrow(/1 texts but 0 targets/);
    await expect(trainTextClassifier({ ...base, texts: [], targets: [] })).rejects.toThrow(/no training examples/);
    await expect(trainTextClassifier({ ...base, texts: ['x'], targets: ['c'] })).rejects.toThrow(/unknown label "c"/);
    await expect(trainTextClassifier({ ...base, labels: ['a', 'a'], texts: ['x'], targets: [0] })).rejects.toThrow(/unique/);
  });
});

describe('trainTextClassifier, multiple choice', () => {
  it('trains multi-hot targets given as label lists; a label nobody used stays unselected', async () => {
    const ds = generateSynthetic(PRESETS.multiLabel(1200, 32));
    const labels = [...ds.labels, 'never-used'];
    const targets = (ds.targets as number[][]).map((t) => t.map((c) => labels[c]!));
    const result = await trainTextClassifier({ texts: ds.texts.slice(0, 1000), targets: targets.slice(0, 1000), labels, mode: 'multiple', bits: BITS });
    expect(result.metadata.mode).toBe('multiple');
    expect(result.metrics.labelCounts[4]).toBe(0);

    const classifier = await loadClassifier(result.artifact);
    const { selected, probs } = await classifier.predict(ds.texts.slice(1000));
    await classifier.release();
    let tp = 0;
    let fp = 0;
    let fn = 0;
    selected.forEach((chosen, i) => {
      const truth = new Set(targets[1000 + i]);
      for (const label of chosen) if (truth.has(label)) tp++; else fp++;
      for (const label of truth) if (!chosen.includes(label)) fn++;
    });
    expect((2 * tp) / (2 * tp + fp + fn)).toBeGreaterThan(0.7);
    expect(selected.flat()).not.toContain('never-used');
    for (let i = 0; i < selected.length; i++) expect(probs[i * 5 + 4]).toBeLessThan(0.05);
  });
});
