/**
 * Built-in text classifier: train in TypeScript, export one ONNX file, serve with onnxruntime.
 *
 *   trainTextClassifier() = featurize (ORT featurizer graph, every block the grid may use)
 *                           → select + fit (selection.ts: candidates on the validation split, sparse SGD)
 *                           → export (ONNX bytes) → validate (fresh session, smoke input, JS-vs-ORT parity on a few rows)
 *
 * CPU-bound and synchronous during the fit: call it from a worker thread, not the HTTP thread.
 */
import { ArtifactError, encodeArtifact, loadClassifier, type ArtifactLayout, type ArtifactMetadata } from './artifact.js';
import { weighBlocks } from './blocks.js';
import { createFeaturizer, type Featurizer, type SparseRows } from './featurizer.js';
import { DEFAULT_FEATURIZER_OPTIONS, resolveFeaturizerOptions, type CharNgrams, type ClassifierMode, type FeaturizerOptions, type NgramOrder } from './graph.js';
import { SELECTION_GRID, blocksFor, selectAndFit, type SearchSpace, type SelectedMetrics, type Setting } from './selection.js';
import { DEFAULT_MAX_TEXT_CHARS, assertMaxTextChars } from '../../shared/text-limit.js';
import { FIT_DEFAULTS, type ClassWeight, type FitOptions, type FitProgress } from './trainer.js';

export { ARTIFACT_FORMAT, ARTIFACT_FORMAT_VERSION, ArtifactError, encodeArtifact, loadClassifier, readArtifactMetadata, validateArtifact } from './artifact.js';
export type { ArtifactErrorCode, ArtifactLayout, ArtifactMetadata, Classifier, EncodeArtifactInput, LoadOptions, Prediction } from './artifact.js';
export { createFeaturizer, featurizeTexts } from './featurizer.js';
export type { FeatureBlocks, Featurizer, SparseRows } from './featurizer.js';
export { buildFeaturizerGraph, buildTextClassifierGraph, TOKEN_PATTERN } from './graph.js';
export type { CharNgrams, ClassifierMode, FeaturizerOptions, NgramOrder } from './graph.js';
export { DEFAULT_SETTING, SELECTION_GRID, selectAndFit } from './selection.js';
export type { Candidate, SearchSpace, SelectedMetrics, Selection, Setting } from './selection.js';
export { applyTfidf, computeIdf } from './tfidf.js';
export { DEFAULT_MAX_TEXT_CHARS, MAX_MAX_TEXT_CHARS, truncateText } from '../../shared/text-limit.js';
export { fitTextClassifier, FIT_DEFAULTS } from './trainer.js';
export type { ClassWeight, FitOptions, FitResult, TrainingMetrics } from './trainer.js';

/** A target is a label index or label name; multiple choice takes a list of them per text. */
export type Target = number | string | readonly (number | string)[];

/**
 * Defaults chosen with bench/accuracy (numbers in bench/accuracy/README.md): 2^18 buckets
 * (dense: 1 MiB per label + 1 MiB idf; the compact artifact keeps only the buckets used), tf-idf,
 * refit on all data; word uni+bigrams, λ 1e-5 and 8 epochs when model selection is off or skipped
 * (SELECTION_GRID otherwise).
 */
export const TRAIN_DEFAULTS = { ...DEFAULT_FEATURIZER_OPTIONS, ...FIT_DEFAULTS } as const;

/** The trainer's knobs (documented on FitOptions) pass straight through. */
type TrainerKnobs = Pick<FitOptions, 'seed' | 'epochs' | 'learningRate' | 'validationFraction' | 'refit' | 'threshold' | 'idf'>;

export interface TrainTextClassifierInput extends TrainerKnobs {
  texts: readonly string[];
  targets: readonly Target[];
  /** column order of the model's probabilities; labels without examples are kept */
  labels: readonly string[];
  mode: ClassifierMode;
  bits?: number;
  hashSeed?: number;
  /**
   * Model selection on the validation split (selection.ts; default true). false: train the given
   * setting, each unset dimension at its DEFAULT_SETTING value (the trainer before selection).
   * The four options below pin their dimension of the search when set.
   */
  select?: boolean;
  /** longest word n-gram */
  ngramOrder?: NgramOrder;
  /** character n-grams as a second block (false: none); selection uses SELECTION_GRID.charNgrams */
  charNgrams?: CharNgrams | false;
  /** L2 strength per example (λ in λ/2·‖W‖²) */
  l2?: number;
  /** loss weights per class (trainer.ts) */
  classWeight?: ClassWeight;
  /** characters of each text the model reads, in training and (recorded in the artifact) in serving */
  maxTextChars?: number;
  /** extra metadata_props entries (e.g. project id, model version) */
  metadata?: Record<string, string>;
  /** 'compact' (default): only the buckets the model uses; 'dense': the format_version 1 file */
  layout?: ArtifactLayout;
  /**
   * reuse a featurizer session across trainings (must match bits/hashSeed/maxTextChars, and a pinned
   * ngramOrder/charNgrams); selection then searches only the features it computes
   */
  featurizer?: Featurizer;
  onProgress?: (p: TrainProgress) => void;
}

export type TrainPhase = 'featurize' | 'fit' | 'export' | 'validate';

export interface TrainProgress {
  phase: TrainPhase;
  /** 0..1 over the whole training, never decreasing (feed it to a progress bar) */
  fraction: number;
  /** 0..1 within the phase */
  phaseFraction: number;
  fit?: FitProgress;
}

/** Share of the overall progress each phase starts at (rough wall-time shares on short texts). */
const PHASE_START: Record<TrainPhase, number> = { featurize: 0, fit: 0.25, export: 0.9, validate: 0.95 };
const PHASE_END: Record<TrainPhase, number> = { featurize: 0.25, fit: 0.9, export: 0.95, validate: 1 };

export interface TrainTimings {
  featurizeMs: number;
  fitMs: number;
  exportMs: number;
  validateMs: number;
  totalMs: number;
}

export interface TrainTextClassifierResult {
  artifact: Uint8Array;
  metrics: SelectedMetrics;
  /** the setting the shipped model was trained with */
  setting: Setting;
  metadata: ArtifactMetadata;
  timings: TrainTimings;
}

function resolveTarget(target: Target, labelIndex: Map<string, number>, i: number): number | number[] {
  const one = (t: number | string): number => {
    if (typeof t === 'number') return t;
    const index = labelIndex.get(t);
    if (index === undefined) throw new RangeError(`targets[${i}]: unknown label "${t}"`);
    return index;
  };
  return Array.isArray(target) ? target.map(one) : one(target as number | string);
}

function assertInput(input: TrainTextClassifierInput): void {
  if (input.texts.length !== input.targets.length) {
    throw new RangeError(`${input.texts.length} texts but ${input.targets.length} targets`);
  }
  if (input.texts.length === 0) throw new RangeError('no training examples');
  if (input.labels.length === 0) throw new RangeError('no labels');
  if (new Set(input.labels).size !== input.labels.length) throw new RangeError('labels must be unique');
  if (input.mode !== 'single' && input.mode !== 'multiple') throw new RangeError(`mode must be "single" or "multiple"`);
}

/** JS scoring of one CSR row, for the parity check after export. */
function scoreRow(x: SparseRows, row: number, W: Float32Array, b: Float32Array, mode: ClassifierMode): Float64Array {
  const C = b.length;
  const z = Float64Array.from(b);
  for (let k = x.indptr[row]!; k < x.indptr[row + 1]!; k++) {
    for (let c = 0; c < C; c++) z[c] = z[c]! + x.values[k]! * W[x.indices[k]! * C + c]!;
  }
  if (mode === 'multiple') return z.map((v) => 1 / (1 + Math.exp(-v)));
  const max = Math.max(...z);
  const e = z.map((v) => Math.exp(v - max));
  const sum = e.reduce((s, v) => s + v, 0);
  return e.map((v) => v / sum);
}

const PARITY_ROWS = 8;

function sliceRows(x: SparseRows, rows: number): SparseRows {
  const end = x.indptr[rows]!;
  return { ...x, rows, indptr: x.indptr.subarray(0, rows + 1), indices: x.indices.subarray(0, end), values: x.values.subarray(0, end) };
}
const PARITY_TOLERANCE = 1e-4;

/** Loads the artifact in a fresh session and checks it scores a few training texts like the trainer does. */
async function validateExport(
  artifact: Uint8Array,
  texts: readonly string[],
  counts: readonly SparseRows[],
  weights: { W: Float32Array; b: Float32Array; idf: Float32Array },
  mode: ClassifierMode,
): Promise<ArtifactMetadata> {
  const classifier = await loadClassifier(artifact);
  try {
    const rows = Math.min(PARITY_ROWS, texts.length);
    const x = weighBlocks(counts.map((block) => sliceRows(block, rows)), weights.idf);
    const { probs } = await classifier.predict(texts.slice(0, rows));
    const C = weights.b.length;
    for (let i = 0; i < rows; i++) {
      const expected = scoreRow(x, i, weights.W, weights.b, mode);
      for (let c = 0; c < C; c++) {
        const diff = Math.abs(expected[c]! - probs[i * C + c]!);
        if (!(diff <= PARITY_TOLERANCE)) {
          throw new ArtifactError('smoke', `exported model disagrees with the trainer on text ${i} (|Δp| = ${diff})`);
        }
      }
    }
    return classifier.metadata;
  } finally {
    await classifier.release();
  }
}

/** The dimensions the caller pinned (the others are searched, or take their defaults without selection). */
function searchSpace(input: TrainTextClassifierInput): SearchSpace {
  return {
    ...(input.ngramOrder !== undefined ? { wordOrder: input.ngramOrder } : {}),
    ...(input.charNgrams !== undefined ? { chars: input.charNgrams !== false } : {}),
    ...(input.l2 !== undefined ? { l2: input.l2 } : {}),
    ...(input.classWeight !== undefined ? { classWeight: input.classWeight } : {}),
  };
}

/** What to featurize: every block some candidate may use. */
function trainingFeaturizerOptions(input: TrainTextClassifierInput, select: boolean): FeaturizerOptions {
  const maxOrder = Math.max(...SELECTION_GRID.features.map((f) => f.wordOrder)) as NgramOrder;
  const chars = input.charNgrams === undefined ? (select ? SELECTION_GRID.charNgrams : undefined) : input.charNgrams || undefined;
  return resolveFeaturizerOptions({
    bits: input.bits,
    hashSeed: input.hashSeed,
    ngramOrder: input.ngramOrder ?? (select ? maxOrder : DEFAULT_FEATURIZER_OPTIONS.ngramOrder),
    ...(chars ? { charNgrams: chars } : {}),
  });
}

/** A featurizer passed in must read texts the same way; its blocks then bound the search. */
function assertReusable(featurizer: Featurizer, wanted: FeaturizerOptions, input: TrainTextClassifierInput, maxTextChars: number): void {
  const have = featurizer.options;
  const charsMismatch = input.charNgrams && JSON.stringify(have.charNgrams) !== JSON.stringify(resolveFeaturizerOptions({ charNgrams: input.charNgrams }).charNgrams);
  if (
    have.bits !== wanted.bits ||
    have.hashSeed !== wanted.hashSeed ||
    featurizer.maxTextChars !== maxTextChars ||
    (input.ngramOrder !== undefined && have.ngramOrder < input.ngramOrder) ||
    charsMismatch
  ) {
    throw new RangeError('the provided featurizer was built with different bits/ngramOrder/hashSeed/maxTextChars/charNgrams');
  }
}

export async function trainTextClassifier(input: TrainTextClassifierInput): Promise<TrainTextClassifierResult> {
  assertInput(input);
  const started = performance.now();
  const select = input.select ?? true;
  const featurizerOptions = trainingFeaturizerOptions(input, select);
  const maxTextChars = input.maxTextChars ?? DEFAULT_MAX_TEXT_CHARS;
  assertMaxTextChars(maxTextChars);
  const labelIndex = new Map(input.labels.map((label, i) => [label, i]));
  const targets = input.targets.map((t, i) => resolveTarget(t, labelIndex, i));
  const progress = (phase: TrainPhase, phaseFraction: number, fit?: FitProgress) =>
    input.onProgress?.({
      phase,
      fraction: PHASE_START[phase] + (PHASE_END[phase] - PHASE_START[phase]) * phaseFraction,
      phaseFraction,
      ...(fit ? { fit } : {}),
    });

  const ownFeaturizer = !input.featurizer;
  if (input.featurizer) assertReusable(input.featurizer, featurizerOptions, input, maxTextChars);
  const featurizer = input.featurizer ?? (await createFeaturizer({ ...featurizerOptions, maxTextChars }));
  let features: Awaited<ReturnType<Featurizer['featurizeBlocks']>>;
  try {
    features = await featurizer.featurizeBlocks(input.texts, (p) => progress('featurize', p.done / p.total));
  } finally {
    if (ownFeaturizer) await featurizer.release();
  }
  const featurized = performance.now();

  const { bits, hashSeed } = featurizer.options;
  const fitted = selectAndFit(features, targets, {
    mode: input.mode,
    classes: input.labels.length,
    seed: input.seed,
    epochs: input.epochs,
    learningRate: input.learningRate,
    validationFraction: input.validationFraction,
    refit: input.refit,
    threshold: input.threshold,
    idf: input.idf,
    ...(input.l2 !== undefined ? { l2: input.l2 } : {}),
    bits,
    select,
    space: searchSpace(input),
    onProgress: (p) => progress('fit', p.fraction, p),
  });
  const fittedAt = performance.now();

  const charNgrams = fitted.setting.chars ? featurizer.options.charNgrams : undefined;
  const exported = encodeArtifact({
    labels: input.labels,
    mode: input.mode,
    featurizer: { bits, ngramOrder: fitted.setting.wordOrder, hashSeed, ...(charNgrams ? { charNgrams } : {}) },
    W: fitted.W,
    b: fitted.b,
    idf: fitted.idf,
    threshold: input.threshold ?? TRAIN_DEFAULTS.threshold,
    maxTextChars,
    metrics: fitted.metrics,
    ...(input.metadata ? { extra: input.metadata } : {}),
    ...(input.layout ? { layout: input.layout } : {}),
  });
  progress('export', 1);
  const exportedAt = performance.now();

  const metadata = await validateExport(exported, input.texts, blocksFor(features, fitted.setting, bits), fitted, input.mode);
  progress('validate', 1);
  const done = performance.now();
  return {
    artifact: exported,
    metrics: fitted.metrics,
    setting: fitted.setting,
    metadata,
    timings: {
      featurizeMs: featurized - started,
      fitMs: fittedAt - featurized,
      exportMs: exportedAt - fittedAt,
      validateMs: done - exportedAt,
      totalMs: done - started,
    },
  };
}
