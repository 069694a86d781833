/**
 * Model selection on the validation split the trainer already holds out: a few candidate settings
 * (word n-gram range, character n-grams, L2 strength, class weighting) are each trained on the
 * training split and scored on the validation split; the winner is refitted on all examples.
 *
 * - Features are computed once (featurizer.ts outputs every word order and the character block
 *   separately) and combined per candidate; candidates train fewer epochs than the final fit.
 * - The search is staged, not a full product: features first (at the default L2), then L2 for the
 *   chosen features, then class weighting. In each stage the incumbent (the prior feature set, then
 *   the previous stage's winner) stays unless the stage's best alternative beats it by a noise margin
 *   that shrinks with the validation size; ties among alternatives keep the earlier, cheaper one.
 * - Score: macro-F1 (single choice), micro-F1 (multiple choice) on the validation split.
 * - Deterministic: every candidate uses the same seeded shuffles, and nothing depends on time.
 * - Too little data to rank anything (fewer than SELECTION_GRID.minExamples examples, or a label with
 *   fewer than 2 validation examples): no search, the default setting.
 * - Bounded: above a work budget counted from the data, candidates fit on a seeded subsample of the
 *   training split, and the final fit's epochs shrink (within 4–8) for long texts.
 */
import { keepRows, mergeBlocks, withColumns } from './blocks.js';
import type { FeatureBlocks, SparseRows } from './featurizer.js';
import { DEFAULT_FEATURIZER_OPTIONS, type CharNgrams, type NgramOrder } from './graph.js';
import { createRandom, shuffleInPlace } from '../../shared/random.js';
import {
  assertFitInputs,
  FIT_DEFAULTS,
  classWeights,
  encodeTargets,
  labelCounts,
  resolveFitOptions,
  splitTrainValidation,
  trainModel,
  validationMetrics,
  weighRows,
  type ClassWeight,
  type EncodedTargets,
  type FitOptions,
  type FitProgress,
  type FitResult,
  type TrainingMetrics,
} from './trainer.js';

/** One point of the grid. */
export interface Setting {
  /** longest word n-gram (1..wordOrder) */
  wordOrder: NgramOrder;
  /** character n-grams (SELECTION_GRID.charNgrams) as a second block */
  chars: boolean;
  l2: number;
  classWeight: ClassWeight;
}

/** What training used before model selection existed; also the setting for tiny datasets. */
export const DEFAULT_SETTING: Setting = {
  wordOrder: DEFAULT_FEATURIZER_OPTIONS.ngramOrder,
  chars: false,
  l2: FIT_DEFAULTS.l2,
  classWeight: FIT_DEFAULTS.classWeight,
};

export const SELECTION_GRID = {
  /**
   * stage 1, cheapest first (the prior is scored first). Word bigrams with characters lost to unigrams with characters on every
   * real corpus measured (character 5-grams span word boundaries) and cost the most, so they are not tried.
   */
  features: [
    { wordOrder: 1, chars: false },
    { wordOrder: 2, chars: false },
    { wordOrder: 1, chars: true },
  ] as readonly Pick<Setting, 'wordOrder' | 'chars'>[],
  /**
   * The stage-1 candidate scored first, which the others must beat by the noise margin: the setting the
   * trainer used before selection existed (word uni+bigrams), so selection changes a model only when the
   * data clearly says so. With word unigrams + characters as the prior instead, the four real bench corpora
   * (1,300–6,000 examples) chose and scored exactly the same, but 20 projects of 1,000 short texts in
   * bench:load kept characters where bigrams were 3–4 points better on held-out texts (validation splits of
   * 150 cannot tell 3 points apart): mean accuracy 0.948 instead of 0.960.
   */
  prior: { wordOrder: 2, chars: false } as Pick<Setting, 'wordOrder' | 'chars'>,
  /**
   * A stage's best alternative replaces the incumbent only when its score is higher by
   * noiseMargin / √(validation size): ~0.9 points at 750 validation examples, ~3.7 at 45. Below that
   * the difference is mostly noise, and the incumbent (the prior, then the previous stage's winner)
   * is the better bet.
   */
  noiseMargin: 0.25,
  /** stage 2 (the default 1e-5 is scored in stage 1) */
  l2: [1e-6, 1e-5, 1e-4] as readonly number[],
  /**
   * Stage 2 runs only when the noise margin is below this, i.e. from ~625 validation examples: on every bench
   * corpus the L2 candidates moved the validation score by at most 0.4 points, so under a larger margin they
   * cannot win and only cost two fits (20 projects of 1,000 texts retraining at once: ~15% of their time).
   */
  l2MaxGain: 0.01,
  /** stage 3 */
  classWeight: ['none', 'balanced'] as readonly ClassWeight[],
  /** the character block when a candidate has one: orders 2–5 over the first 300 characters */
  charNgrams: { min: 2, max: 5, maxChars: 300 } as CharNgrams,
  /**
   * epochs of a candidate fit: as many as the candidates' work budget allows, within [min, max]
   * (small data needs them: 2 epochs of 100 examples barely move the weights, and the ranking is noise)
   */
  candidateEpochs: { min: 2, max: 8 },
  /**
   * epochs of the final fit after a search, unless the caller sets `epochs`: as many as fit in
   * finalWork (n-gram entries × epochs × labels over all rows), within [min, max]. Long texts with
   * characters get 4 (measured within noise of 8 on the bench corpora), short ones the old 8.
   */
  finalEpochs: { min: 4, max: 8 },
  finalWork: 60e6,
  /**
   * Bound on the candidates' work, in n-gram entries × epochs × labels summed over the planned
   * candidates: it sets their epochs, and when even the fewest exceed it, candidates train on a seeded
   * subsample of the training split (never fewer than minCandidateRows rows), so long texts and many
   * labels keep the training time bounded. Counted from the data, not measured, so the choice stays
   * deterministic.
   */
  candidateWork: 48e6,
  minCandidateRows: 1000,
  /** class weighting is tried only when the largest label has this many times the smallest's examples */
  imbalanceRatio: 1.5,
  /** below this many examples the grid is skipped */
  minExamples: 50,
  /** …and when a label present in the data has fewer validation examples than this */
  minValidationPerLabel: 2,
} as const;

export interface Candidate {
  settings: Setting;
  /** validation macro-F1 (the score for single choice) */
  macroF1: number;
  /** validation micro-F1 (the score for multiple choice) */
  microF1?: number;
  accuracy: number;
}

export type Selection =
  | { chosen: Setting; candidateEpochs: number; candidateRows: number; candidates: Candidate[] }
  | { chosen: Setting; skipped: string };

export type SelectedMetrics = TrainingMetrics & { selection: Selection };

export interface SelectedFit extends Omit<FitResult, 'metrics'> {
  metrics: SelectedMetrics;
  setting: Setting;
}

/** Dimensions the caller fixed; the others are searched. */
export type SearchSpace = Partial<Setting>;

/**
 * The feature blocks a setting trains on, each normalised on its own: the word orders summed into
 * one block (over the word columns only when there are no characters), then the characters.
 */
export function blocksFor(features: FeatureBlocks, setting: Pick<Setting, 'wordOrder' | 'chars'>, bits: number): SparseRows[] {
  if (setting.wordOrder > features.word.length) throw new RangeError(`word ${setting.wordOrder}-grams were not featurized`);
  if (setting.chars && !features.char) throw new RangeError('character n-grams were not featurized');
  const words = mergeBlocks(features.word.slice(0, setting.wordOrder));
  return setting.chars ? [words, features.char!] : [withColumns(words, 2 ** bits)];
}

/** Why the data is too small to rank candidates, or undefined when it is not. */
function tooSmall(encoded: EncodedTargets, n: number, validation: Int32Array, C: number): string | undefined {
  if (n < SELECTION_GRID.minExamples) return `fewer than ${SELECTION_GRID.minExamples} examples`;
  if (validation.length === 0) return 'no validation split';
  const all = labelCounts(encoded, n, C);
  const held = labelCounts(encoded, validation.length, C, validation);
  const thin = all.findIndex((count, c) => count > 0 && held[c]! < SELECTION_GRID.minValidationPerLabel);
  return thin < 0 ? undefined : `label ${thin} has fewer than ${SELECTION_GRID.minValidationPerLabel} validation examples`;
}

const featureKey = (s: Pick<Setting, 'wordOrder' | 'chars'>) => `${s.wordOrder}${s.chars ? 'c' : ''}`;
/** The candidates' shuffles come from their own stream, the same for every candidate. */
const CANDIDATE_SEED_SALT = 0x9e3779b9;

/** Whether the labels present are imbalanced enough for class weighting to be worth a candidate. */
function imbalanced(counts: readonly number[]): boolean {
  const present = counts.filter((c) => c > 0);
  return present.length > 1 && Math.max(...present) >= SELECTION_GRID.imbalanceRatio * Math.min(...present);
}

/** The feature options of stage 1 that the caller's pins and the featurized blocks allow. */
function featureOptions(space: SearchSpace, features: FeatureBlocks): Pick<Setting, 'wordOrder' | 'chars'>[] {
  return SELECTION_GRID.features.filter(
    (f) =>
      (space.wordOrder === undefined || f.wordOrder === space.wordOrder) &&
      (space.chars === undefined || f.chars === space.chars) &&
      f.wordOrder <= features.word.length &&
      (!f.chars || features.char),
  );
}

/** The candidate settings of each stage, given the best setting so far. */
function stages(space: SearchSpace, features: FeatureBlocks, weighClasses: boolean, tuneL2: boolean): ((best: Setting) => Setting[])[] {
  const base: Setting = { ...DEFAULT_SETTING, ...space };
  const options = featureOptions(space, features);
  const isPrior = (f: Pick<Setting, 'wordOrder' | 'chars'>) => f.wordOrder === SELECTION_GRID.prior.wordOrder && f.chars === SELECTION_GRID.prior.chars;
  const ordered = [...options.filter(isPrior), ...options.filter((f) => !isPrior(f))];
  return [
    () => (ordered.length > 0 ? ordered.map((f) => ({ ...base, ...f })) : [base]),
    (best) => (tuneL2 ? SELECTION_GRID.l2.map((l2) => ({ ...best, l2 })) : []),
    (best) => (space.classWeight === undefined && weighClasses ? SELECTION_GRID.classWeight.map((classWeight) => ({ ...best, classWeight })) : []),
  ];
}

/** n-gram entries per row of a feature option (word orders counted apart: an upper bound). */
function entriesPerRow(features: FeatureBlocks, f: Pick<Setting, 'wordOrder' | 'chars'>, rows: number): number {
  const blocks = [...features.word.slice(0, f.wordOrder), ...(f.chars && features.char ? [features.char] : [])];
  return blocks.reduce((sum, b) => sum + b.indptr[b.rows]!, 0) / Math.max(1, rows);
}

/**
 * Epochs and training rows of the candidates: as many epochs as the budget allows on all training rows,
 * or the fewest epochs on a seeded subsample when even those exceed it. `workPerRowEpoch`: one epoch of
 * every planned candidate over one row.
 */
function candidateBudget(train: Int32Array, workPerRowEpoch: number, seed: number): { epochs: number; rows: Int32Array } {
  const { min, max } = SELECTION_GRID.candidateEpochs;
  const perEpoch = Math.max(1, workPerRowEpoch * train.length);
  const epochs = Math.min(max, Math.max(min, Math.floor(SELECTION_GRID.candidateWork / perEpoch)));
  const affordable = Math.floor(SELECTION_GRID.candidateWork / Math.max(1, workPerRowEpoch * min));
  const rows = Math.max(SELECTION_GRID.minCandidateRows, affordable);
  if (rows >= train.length) return { epochs, rows: train };
  return { epochs: min, rows: shuffleInPlace(Int32Array.from(train), createRandom(seed)).subarray(0, rows).sort() };
}

const sameSetting = (a: Setting, b: Setting) =>
  a.wordOrder === b.wordOrder && a.chars === b.chars && a.l2 === b.l2 && a.classWeight === b.classWeight;

type Run = ReturnType<typeof trainModel> & { held: ReturnType<typeof validationMetrics>; idf: Float32Array };

/**
 * Selects a setting on the validation split (unless `select` is false or the data is too small),
 * then trains the shipped weights with it (on all rows when `refit`). `space` pins dimensions.
 * Without a search this is exactly fitTextClassifier on the pinned (or default) setting.
 */
export function selectAndFit(
  features: FeatureBlocks,
  targets: readonly (number | readonly number[])[],
  options: FitOptions & { bits: number; select: boolean; space: SearchSpace },
): SelectedFit {
  const n = features.word[0]!.rows;
  assertFitInputs(features.word[0]!, targets.length, options);
  const o = resolveFitOptions(options);
  const C = o.classes;
  const encoded = encodeTargets(targets, o.mode, C);
  const random = createRandom(o.seed);
  const { train, validation } = splitTrainValidation(encoded, n, C, o.validationFraction, random);
  const refit = validation.length > 0 && o.refit;
  const skipped = !options.select ? 'selection off' : tooSmall(encoded, n, validation, C);
  const fixed: Setting = { ...DEFAULT_SETTING, ...options.space };
  const plan = skipped ? undefined : planSearch(features, options.space, encoded, n, C, train, validation.length, o.seed);

  // Progress in epochs: the candidates (planned count) or the plain first fit, then the final fit,
  // counted at its largest epoch count until it is known (the fraction may jump ahead, never back).
  const firstEpochs = plan ? plan.candidates * plan.epochs : o.epochs;
  let totalEpochs = firstEpochs + (plan ? Math.max(o.epochs, SELECTION_GRID.finalEpochs.max) : refit ? o.epochs : 0);
  let epochsDone = 0;
  const report = (stage: FitProgress['stage'], epochs: number) => (epoch: number, loss: number) =>
    o.onProgress?.({ stage, epoch, epochs, loss, fraction: Math.min(1, ++epochsDone / totalEpochs) });

  // One fit on `rows`, scored on the validation rows; idf comes from the rows it trains on.
  const weighedCache = new Map<string, ReturnType<typeof weighRows>>();
  // Candidates only read their training rows and the validation rows: later passes skip the rest.
  const candidateFeatures = plan && plan.rows !== train ? restrictRows(features, Int32Array.from([...plan.rows, ...validation])) : features;
  const fit = (setting: Setting, rows: Int32Array, epochs: number, rng: ReturnType<typeof createRandom>, stage: FitProgress['stage'], cache: boolean): Run => {
    const key = featureKey(setting);
    const weighed = (cache && weighedCache.get(key)) || weighRows(blocksFor(cache ? candidateFeatures : features, setting, options.bits), rows, o.idf);
    if (cache) weighedCache.set(key, weighed);
    const ctx = { x: weighed.features, targets: encoded, classes: C, l2: setting.l2, learningRate: o.learningRate, weights: classWeights(setting.classWeight, encoded, rows, C) };
    const fitted = trainModel(ctx, rows, epochs, rng, report(stage, epochs));
    return { ...fitted, held: validationMetrics(fitted.model, fitted.features, encoded, validation, o.threshold), idf: weighed.idf };
  };

  let chosen = fixed;
  let first: Run;
  const candidates: Candidate[] = [];
  if (!plan) {
    // The trainer before selection: one stream for the split, the first fit and the refit.
    first = fit(fixed, train, o.epochs, random, validation.length > 0 ? 'validation' : 'final', false);
  } else {
    const score = (m: Run['held']) => (o.mode === 'single' ? m.macroF1 : (m as { microF1: number | null }).microF1) ?? 0;
    const margin = SELECTION_GRID.noiseMargin / Math.sqrt(validation.length);
    const tried: { setting: Setting; run: Run }[] = [];
    let best: { setting: Setting; run: Run } | undefined;
    for (const stage of plan.stages) {
      // The incumbent (the prior in stage 1, then the previous stage's winner) stays unless the stage's
      // best alternative beats it by the margin; ties among alternatives keep the earlier, cheaper one.
      let challenger: { setting: Setting; run: Run } | undefined;
      for (const setting of stage(best?.setting ?? fixed)) {
        let run = tried.find((t) => sameSetting(t.setting, setting))?.run;
        if (!run) {
          // Every candidate sees the same shuffles, so differences come from the setting.
          run = fit(setting, plan.rows, plan.epochs, createRandom((o.seed ^ CANDIDATE_SEED_SALT) >>> 0), 'validation', true);
          tried.push({ setting, run });
          candidates.push({
            settings: setting,
            macroF1: run.held.macroF1 ?? 0,
            ...(o.mode === 'multiple' ? { microF1: (run.held as { microF1: number | null }).microF1 ?? 0 } : {}),
            accuracy: run.held.accuracy ?? 0,
          });
        }
        if (!best) best = { setting, run };
        else if (!sameSetting(setting, best.setting) && (!challenger || score(run.held) > score(challenger.run.held))) challenger = { setting, run };
      }
      if (best && challenger && score(challenger.run.held) > score(best.run.held) + margin) best = challenger;
    }
    chosen = best!.setting;
    first = best!.run;
  }
  const finalEpochs = !plan || options.epochs !== undefined ? o.epochs : finalEpochsFor(features, chosen, n, C);
  if (plan) totalEpochs = epochsDone + finalEpochs;

  // The shipped weights: the chosen setting at the final epoch count, on all rows (or the training rows).
  const final = !plan && !refit ? first : fit(chosen, refit ? Int32Array.from({ length: n }, (_, i) => i) : train, finalEpochs, random, 'final', false);

  const selection: Selection = plan
    ? { chosen, candidateEpochs: plan.epochs, candidateRows: plan.rows.length, candidates }
    : { chosen, skipped: skipped! };
  return {
    W: final.unpack(),
    b: Float32Array.from(final.model.b),
    idf: final.idf,
    setting: chosen,
    metrics: {
      mode: o.mode,
      ...first.held,
      trainSize: train.length,
      validationSize: validation.length,
      fittedSize: refit ? n : train.length,
      epochs: finalEpochs,
      refit,
      finalTrainLoss: final.loss,
      l2: chosen.l2,
      learningRate: o.learningRate,
      seed: o.seed,
      idf: o.idf,
      classWeight: chosen.classWeight,
      labelCounts: labelCounts(encoded, n, C),
      selection,
    },
  };
}

function finalEpochsFor(features: FeatureBlocks, setting: Setting, n: number, C: number): number {
  const { min, max } = SELECTION_GRID.finalEpochs;
  const perEpoch = entriesPerRow(features, setting, n) * n * C;
  return Math.min(max, Math.max(min, Math.floor(SELECTION_GRID.finalWork / Math.max(1, perEpoch))));
}

function restrictRows(features: FeatureBlocks, rows: Int32Array): FeatureBlocks {
  return { word: features.word.map((b) => keepRows(b, rows)), ...(features.char ? { char: keepRows(features.char, rows) } : {}) };
}

/** The stages, how many candidates they may fit, and the rows the candidates train on. */
function planSearch(features: FeatureBlocks, space: SearchSpace, encoded: EncodedTargets, n: number, C: number, train: Int32Array, validationSize: number, seed: number) {
  const weighClasses = imbalanced(labelCounts(encoded, n, C));
  const tuneL2 = space.l2 === undefined && SELECTION_GRID.noiseMargin / Math.sqrt(validationSize) <= SELECTION_GRID.l2MaxGain;
  const options = featureOptions(space, features);
  const later = (tuneL2 ? SELECTION_GRID.l2.length - 1 : 0) + (space.classWeight === undefined && weighClasses ? 1 : 0);
  const perRow = options.map((f) => entriesPerRow(features, f, n));
  // Later stages refit the stage-1 winner: count them at the most expensive option.
  const workPerRowEpoch = C * (perRow.reduce((s, v) => s + v, 0) + later * Math.max(0, ...perRow));
  return {
    stages: stages(space, features, weighClasses, tuneL2),
    candidates: Math.max(1, options.length) + later,
    ...candidateBudget(train, workPerRowEpoch, (seed ^ CANDIDATE_SEED_SALT) >>> 0),
  };
}
