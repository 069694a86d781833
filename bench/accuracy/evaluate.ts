/**
 * One benchmark measurement: train our classifier on (part of) a dataset's training split, score
 * the loaded artifact on the test split.
 */
import { loadClassifier, trainTextClassifier, type TrainTextClassifierInput, type TrainTextClassifierResult } from '../../models/text-classifier/lib/index.js';
import { argmaxRow, multipleChoiceMetrics, singleChoiceMetrics } from '../../models/text-classifier/lib/metrics.js';
import { createRandom, shuffleInPlace, type Random } from '../../models/shared/random.js';
import { encodeTargets, splitTrainValidation } from '../../models/text-classifier/lib/trainer.js';
import type { Dataset } from './datasets.js';

/** What a bench row may change from the library's defaults. */
export type Overrides = Partial<Omit<TrainTextClassifierInput, 'texts' | 'targets' | 'labels' | 'mode' | 'onProgress' | 'featurizer' | 'metadata'>>;

export interface Split {
  train: Int32Array;
  test: Int32Array;
}

/**
 * Fixed stratified 80/20 split (seed 42). Training rows come in a seeded random order, so a
 * prefix is a random subsample (the corpus files are grouped by class) for the learning curves.
 * A dataset with `groups` is split by group (20% of each label's documents go to the test side),
 * so no document has paragraphs on both sides.
 */
export function testSplit(ds: Dataset): Split {
  const random = createRandom(42);
  if (ds.groups) return groupSplit(ds, ds.groups, random);
  const encoded = encodeTargets(ds.targets, ds.mode, ds.labels.length);
  const { train, validation } = splitTrainValidation(encoded, ds.texts.length, ds.labels.length, 0.2, random);
  return { train: shuffleInPlace(train, random), test: validation };
}

/** Stratified split of the groups (by the label of their first text), then their texts follow them. */
function groupSplit(ds: Dataset, groups: readonly string[], random: Random): Split {
  const names = [...new Set(groups)];
  const index = new Map(names.map((g, i) => [g, i]));
  const groupTargets = names.map((g) => ds.targets[groups.indexOf(g)]!);
  const encoded = encodeTargets(groupTargets, ds.mode, ds.labels.length);
  const { validation } = splitTrainValidation(encoded, names.length, ds.labels.length, 0.2, random);
  const testGroups = new Set(validation);
  const rows = Int32Array.from(groups, (_, i) => i);
  const inTest = (i: number) => testGroups.has(index.get(groups[i]!)!);
  return { train: shuffleInPlace(rows.filter((i) => !inTest(i)), random), test: rows.filter(inTest) };
}

export const pick = <T>(a: readonly T[], rows: Int32Array): T[] => Array.from(rows, (i) => a[i]!);

export interface Row {
  dataset: string;
  variant: string;
  trainSize: number;
  testSize: number;
  accuracy: number;
  macroF1: number;
  microF1?: number;
  /** single choice: recall of each label on the test split */
  recall?: number[];
  trainMs: number;
  timings: TrainTextClassifierResult['timings'];
  artifactBytes: number;
  /** the trainer's own validation scores and settings, incl. its model selection (`metrics.selection`) */
  metrics: TrainTextClassifierResult['metrics'];
  /** the setting the shipped model was trained with */
  setting: TrainTextClassifierResult['setting'];
}

/** Recall per label from the argmax of each row (single choice). */
export function recallPerLabel(probs: ArrayLike<number>, truth: readonly number[], classes: number): number[] {
  const hits = new Array<number>(classes).fill(0);
  const totals = new Array<number>(classes).fill(0);
  truth.forEach((actual, i) => {
    totals[actual]!++;
    if (argmaxRow(probs, i, classes) === actual) hits[actual]!++;
  });
  return hits.map((h, c) => (totals[c] === 0 ? 0 : h / totals[c]!));
}

function multiHot(targets: number[][], C: number): Uint8Array {
  const out = new Uint8Array(targets.length * C);
  targets.forEach((t, i) => t.forEach((c) => (out[i * C + c] = 1)));
  return out;
}

export async function evaluate(ds: Dataset, split: Split, variant: string, overrides: Overrides): Promise<Row> {
  const trained = await trainTextClassifier({
    texts: pick(ds.texts, split.train),
    targets: pick<number | number[]>(ds.targets, split.train),
    labels: ds.labels,
    mode: ds.mode,
    seed: 7,
    ...overrides,
  });
  const classifier = await loadClassifier(trained.artifact);
  const { probs } = await classifier.predict(pick(ds.texts, split.test));
  await classifier.release();
  const C = ds.labels.length;
  const testTargets = pick<number | number[]>(ds.targets, split.test);
  const scores =
    ds.mode === 'single'
      ? { ...singleChoiceMetrics(probs, testTargets as number[], C), recall: recallPerLabel(probs, testTargets as number[], C) }
      : multipleChoiceMetrics(probs, multiHot(testTargets as number[][], C), C, 0.5);
  return {
    dataset: ds.name,
    variant,
    trainSize: split.train.length,
    testSize: split.test.length,
    accuracy: scores.accuracy,
    macroF1: scores.macroF1,
    ...('microF1' in scores ? { microF1: scores.microF1 } : {}),
    ...('recall' in scores ? { recall: scores.recall } : {}),
    trainMs: trained.timings.totalMs,
    timings: trained.timings,
    artifactBytes: trained.artifact.length,
    metrics: trained.metrics,
    setting: trained.setting,
  };
}
