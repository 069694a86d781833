/**
 * Model selection (selection.ts) through trainTextClassifier: what it picks on data built so that one
 * candidate must win, that it is deterministic and recorded, and when it stays out of the way.
 */
import { describe, expect, it } from 'vitest';
import { generateSynthetic, PRESETS } from '../../../bench/accuracy/synthetic.js';
import { readArtifactMetadata, loadClassifier, trainTextClassifier } from '../../../models/text-classifier/lib/index.js';
import { singleChoiceMetrics } from '../../../models/text-classifier/lib/metrics.js';
import { createRandom, randomInt } from '../../../models/shared/random.js';
import { DEFAULT_SETTING, SELECTION_GRID, type Candidate, type Selection } from '../../../models/text-classifier/lib/selection.js';
import { classWeights, encodeTargets } from '../../../models/text-classifier/lib/trainer.js';

const BITS = 14;
const LETTERS = 'bcdfghjklmnpqrstvwxyz';

/**
 * Every word is new (random letters), so words say nothing; the label is the ending that all words of a
 * text share ('…ové' or '…ská', non-ASCII on purpose). Only character n-grams can learn it.
 */
function suffixData(n: number, seed: number): { texts: string[]; targets: number[] } {
  const random = createRandom(seed);
  const word = () => Array.from({ length: 5 }, () => LETTERS[randomInt(random, LETTERS.length)]).join('');
  const texts: string[] = [];
  const targets: number[] = [];
  for (let i = 0; i < n; i++) {
    const label = i % 2;
    const ending = label === 0 ? 'ové' : 'ská';
    texts.push(Array.from({ length: 6 }, () => word() + ending).join(' '));
    targets.push(label);
  }
  return { texts, targets };
}

const candidatesOf = (selection: Selection) => ('candidates' in selection ? selection.candidates : []);

describe('model selection', () => {
  it('chooses character n-grams when only they carry the label, and the choice generalises', async () => {
    const train = suffixData(240, 1);
    const test = suffixData(100, 2);
    const trained = await trainTextClassifier({ ...train, labels: ['ové', 'ská'], mode: 'single', bits: BITS });
    expect(trained.setting.chars).toBe(true);
    const byFeatures = new Map(candidatesOf(trained.metrics.selection).map((c) => [`${c.settings.wordOrder}${c.settings.chars}`, c.macroF1]));
    expect(byFeatures.get('1true')).toBeGreaterThan(byFeatures.get('1false')! + 0.2);

    const words = await trainTextClassifier({ ...train, labels: ['ové', 'ská'], mode: 'single', bits: BITS, select: false });
    const score = async (artifact: Uint8Array) => {
      const classifier = await loadClassifier(artifact);
      const { probs } = await classifier.predict(test.texts);
      await classifier.release();
      return singleChoiceMetrics(probs, test.targets, 2).macroF1;
    };
    const [selected, wordsOnly] = [await score(trained.artifact), await score(words.artifact)];
    expect(selected).toBeGreaterThan(0.95);
    expect(selected).toBeGreaterThan(wordsOnly + 0.2);
  });

  it('leaves the prior for an alternative that is clearly better: word order beyond the characters read', async () => {
    // Filler longer than the character prefix, then the same two words in a label-specific order.
    const random = createRandom(7);
    const filler = () => Array.from({ length: 70 }, () => LETTERS.slice(randomInt(random, 15)).slice(0, 4)).join(' ');
    const texts = Array.from({ length: 240 }, (_, i) => `${filler()} ${i % 2 === 0 ? 'alpha beta' : 'beta alpha'} ${filler()}`);
    const targets = texts.map((_, i) => i % 2);
    const trained = await trainTextClassifier({ texts, targets, labels: ['ab', 'ba'], mode: 'single', bits: BITS });
    expect(texts[0]!.indexOf('alpha')).toBeGreaterThan(SELECTION_GRID.charNgrams.maxChars);
    expect(trained.setting).toMatchObject({ wordOrder: 2, chars: false });
    expect(trained.metrics.macroF1).toBeGreaterThan(0.9);
  });

  it('tunes L2 only when the validation split is large enough for an L2 change to clear the noise margin', async () => {
    const ds = generateSynthetic(PRESETS.threeClass(4400, 52));
    const trained = await trainTextClassifier({ texts: ds.texts, targets: ds.targets as number[], labels: ds.labels, mode: 'single', bits: 14, seed: 3 });
    expect(trained.metrics.validationSize).toBeGreaterThanOrEqual((SELECTION_GRID.noiseMargin / SELECTION_GRID.l2MaxGain) ** 2);
    const l2s = new Set(candidatesOf(trained.metrics.selection).map((c) => c.settings.l2));
    expect([...l2s].sort()).toEqual([...SELECTION_GRID.l2].sort());
  });

  it('records the chosen setting and every candidate in the metrics and the artifact, and is deterministic', async () => {
    const ds = generateSynthetic(PRESETS.threeClass(400, 51));
    const input = { texts: ds.texts, targets: ds.targets as number[], labels: ds.labels, mode: 'single' as const, bits: 12, seed: 3 };
    const [a, b] = [await trainTextClassifier(input), await trainTextClassifier(input)];
    expect(Buffer.from(a.artifact).equals(Buffer.from(b.artifact))).toBe(true);
    expect(a.metrics).toEqual(b.metrics);

    const selection = a.metrics.selection;
    expect(selection.chosen).toEqual(a.setting);
    const candidates = candidatesOf(selection);
    // Stage 1 tries the prior, then the other feature options, at the default L2; stage 2 (the other L2
    // values) only from ~625 validation examples, so not here; balanced labels: no stage 3.
    const features = (c: Candidate) => ({ wordOrder: c.settings.wordOrder, chars: c.settings.chars });
    const isPrior = (f: { wordOrder: number; chars: boolean }) => f.wordOrder === SELECTION_GRID.prior.wordOrder && f.chars === SELECTION_GRID.prior.chars;
    expect(candidates.slice(0, SELECTION_GRID.features.length).map(features)).toEqual([
      SELECTION_GRID.prior,
      ...SELECTION_GRID.features.filter((f) => !isPrior(f)),
    ]);
    expect(a.metrics.validationSize).toBeLessThan((SELECTION_GRID.noiseMargin / SELECTION_GRID.l2MaxGain) ** 2);
    expect(candidates).toHaveLength(SELECTION_GRID.features.length);
    for (const c of candidates) {
      expect(c.macroF1).toBeGreaterThan(0);
      expect(c.accuracy).toBeGreaterThan(0);
    }
    // The chosen setting's scores are the recorded ones; a stage-1 alternative won only by more than the margin.
    const winner = candidates.find((c) => JSON.stringify(c.settings) === JSON.stringify(a.setting))!;
    expect(a.metrics.macroF1).toBe(winner.macroF1);
    const margin = SELECTION_GRID.noiseMargin / Math.sqrt(a.metrics.validationSize);
    const prior = candidates[0]!;
    const stage1Winner = candidates.slice(0, SELECTION_GRID.features.length).find((c) => isPrior(features(c)) === isPrior(features(winner)) && c.settings.wordOrder === winner.settings.wordOrder)!;
    if (!isPrior(features(winner))) expect(stage1Winner.macroF1).toBeGreaterThan(prior.macroF1 + margin);
    else for (const c of candidates.slice(1, SELECTION_GRID.features.length)) expect(c.macroF1).toBeLessThanOrEqual(prior.macroF1 + margin);

    const stored = readArtifactMetadata(a.artifact);
    expect(stored.metrics).toEqual(JSON.parse(JSON.stringify(a.metrics)));
    expect(JSON.stringify(stored.metrics)).not.toMatch(/Ms"/); // no timings: bytes stay deterministic
    expect(stored.featurizer.ngramOrder).toBe(a.setting.wordOrder);
    expect(stored.featurizer.charNgrams).toEqual(a.setting.chars ? SELECTION_GRID.charNgrams : undefined);
  });

  it('tries class weighting only on imbalanced labels, with weights n / (C · n_class)', async () => {
    const targets = [...Array(90).fill(0), ...Array(30).fill(1)] as number[];
    const weights = classWeights('balanced', encodeTargets(targets, 'single', 2), Int32Array.from(targets.keys()), 2);
    expect(Array.from(weights!)).toEqual([120 / (2 * 90), 120 / (2 * 30)]);
    expect(classWeights('none', encodeTargets(targets, 'single', 2), Int32Array.from(targets.keys()), 2)).toBeUndefined();

    const ds = generateSynthetic(PRESETS.threeClass(300, 52));
    const keep = (ds.targets as number[]).flatMap((t, i) => (t !== 2 || i % 4 === 0 ? [i] : []));
    const result = await trainTextClassifier({
      texts: keep.map((i) => ds.texts[i]!),
      targets: keep.map((i) => (ds.targets as number[])[i]!),
      labels: ds.labels,
      mode: 'single',
      bits: 12,
      epochs: 2,
    });
    expect(candidatesOf(result.metrics.selection).some((c) => c.settings.classWeight === 'balanced')).toBe(true);
  });

  it('skips the search on tiny data and when switched off, and honours pinned dimensions', async () => {
    const ds = generateSynthetic(PRESETS.threeClass(300, 53));
    const base = { labels: ds.labels, mode: 'single' as const, bits: 12, epochs: 2 };
    const tiny = await trainTextClassifier({ ...base, texts: ds.texts.slice(0, 40), targets: (ds.targets as number[]).slice(0, 40) });
    expect(tiny.metrics.selection).toEqual({ chosen: DEFAULT_SETTING, skipped: `fewer than ${SELECTION_GRID.minExamples} examples` });
    expect(tiny.metadata.featurizer.charNgrams).toBeUndefined();

    const all = { ...base, texts: ds.texts, targets: ds.targets as number[] };
    const off = await trainTextClassifier({ ...all, select: false });
    expect(off.metrics.selection).toEqual({ chosen: DEFAULT_SETTING, skipped: 'selection off' });
    const fixed = await trainTextClassifier({ ...all, select: false, ngramOrder: 1, charNgrams: SELECTION_GRID.charNgrams, l2: 1e-4 });
    expect(fixed.setting).toEqual({ wordOrder: 1, chars: true, l2: 1e-4, classWeight: 'none' });
    expect(fixed.metadata.featurizer).toEqual({ bits: 12, ngramOrder: 1, hashSeed: 0, charNgrams: SELECTION_GRID.charNgrams });

    const pinned = await trainTextClassifier({ ...all, charNgrams: false, l2: 1e-5 });
    const tried = candidatesOf(pinned.metrics.selection);
    expect(tried.length).toBeGreaterThan(1);
    expect(tried.every((c) => !c.settings.chars && c.settings.l2 === 1e-5)).toBe(true);
  });

  it('bounds the work: candidates fit a seeded subsample when over budget, and long inputs get fewer final epochs', async () => {
    const ds = generateSynthetic(PRESETS.threeClass(400, 55));
    const input = { texts: ds.texts, targets: ds.targets as number[], labels: ds.labels, mode: 'single' as const, bits: 12 };
    const grid = SELECTION_GRID as { -readonly [K in keyof typeof SELECTION_GRID]: (typeof SELECTION_GRID)[K] };
    const saved = { ...grid };
    try {
      Object.assign(grid, { candidateWork: 1, minCandidateRows: 100, finalWork: 1 });
      const [a, b] = [await trainTextClassifier(input), await trainTextClassifier(input)];
      expect(a.metrics.selection).toMatchObject({ candidateRows: 100 });
      expect(a.metrics.epochs).toBe(SELECTION_GRID.finalEpochs.min);
      expect(Buffer.from(a.artifact).equals(Buffer.from(b.artifact))).toBe(true);
    } finally {
      Object.assign(grid, saved);
    }
    const roomy = await trainTextClassifier(input);
    expect(roomy.metrics.selection).toMatchObject({ candidateRows: roomy.metrics.trainSize });
    expect(roomy.metrics.epochs).toBe(SELECTION_GRID.finalEpochs.max);
  });

  it('selects by micro-F1 for multiple choice', async () => {
    const ds = generateSynthetic(PRESETS.multiLabel(300, 54));
    const result = await trainTextClassifier({ texts: ds.texts, targets: ds.targets as number[][], labels: ds.labels, mode: 'multiple', bits: 12, epochs: 2 });
    const candidates = candidatesOf(result.metrics.selection);
    const best = Math.max(...candidates.map((c) => c.microF1!));
    expect(candidates.find((c) => c.microF1 === best)!.settings).toEqual(result.setting);
    expect(result.metrics.microF1).toBe(best);
  });
});
