/**
 * Sparse linear classifiers trained with SGD, written for hashed n-gram features (CSR rows).
 *
 * - single choice: multinomial logistic regression (softmax, cross-entropy)
 * - multiple choice: one independent logistic regression per label (sigmoid, multi-hot targets)
 *
 * L2 uses the lazy scale trick (W_effective = scale · W): shrinking every weight each step costs
 * O(1) instead of O(2^bits · C), so a step only touches the n-grams of its example.
 * The step size decays linearly to ~0 over the planned number of updates (so the epoch count is
 * fixed up front; no early stopping): the last, small steps settle the weights the way averaging
 * would. Measured on the bench sets (held-out accuracy, lr0 ∈ {0.5, 1, 2}, 4 or 8 epochs), it
 * beat both a constant step and the 1/(1 + λ·lr0·t) schedule by ~2 points on the 5-class set and
 * tied with them (within noise) on the 3-class, multi-label and spam sets.
 *
 * Determinism: the split and the per-epoch shuffles come from one seeded PRNG, and the arithmetic
 * order is fixed, so the same inputs and seed give bit-identical weights.
 */
import type { SparseRows } from './featurizer.js';
import type { ClassifierMode } from './graph.js';
import { multipleChoiceMetrics, singleChoiceMetrics } from './metrics.js';
import { createRandom, shuffleInPlace, type Random } from '../../shared/random.js';
import { weighBlocks } from './blocks.js';
import { computeIdf } from './tfidf.js';

export interface FitOptions {
  mode: ClassifierMode;
  /** number of labels C (labels never seen in training still get a column, with a low score) */
  classes: number;
  seed?: number;
  /** passes over the data */
  epochs?: number;
  /** L2 strength per example (λ in λ/2·‖W‖²) */
  l2?: number;
  /** initial step size */
  learningRate?: number;
  /** held-out share for validation metrics; 0 disables validation */
  validationFraction?: number;
  /**
   * After validating on the held-out split, train again on all examples (true, the default) or
   * ship the model trained on the training split only (false, faster).
   */
  refit?: boolean;
  /** multiple choice: a label is predicted when its probability ≥ threshold */
  threshold?: number;
  /** weight n-grams by idf (true, default) or use plain L2-normalised counts (idf = 1 for all) */
  idf?: boolean;
  /**
   * 'balanced': each example's loss is weighted n / (C · n_class) (multiple choice: per label,
   * n / (2 · n_positive) for positives and n / (2 · n_negative) for negatives), counted on the rows a
   * model trains on. 'none' (default): every example counts once.
   */
  classWeight?: ClassWeight;
  onProgress?: (p: FitProgress) => void;
}

export type ClassWeight = 'none' | 'balanced';

export interface FitProgress {
  stage: 'validation' | 'final';
  epoch: number;
  epochs: number;
  /** mean training loss of the epoch */
  loss: number;
  /** 0..1 over the whole fit (validation pass + refit pass when both run) */
  fraction: number;
}

export interface TrainingMetrics {
  mode: ClassifierMode;
  /** single: accuracy; multiple: exact-match (subset) accuracy. null when there was no validation split. */
  accuracy: number | null;
  macroF1: number | null;
  /** multiple choice only */
  microF1?: number | null;
  hammingAccuracy?: number | null;
  threshold?: number;
  validationLoss: number | null;
  trainSize: number;
  validationSize: number;
  /** examples the shipped weights were trained on (train + validation when refit) */
  fittedSize: number;
  epochs: number;
  refit: boolean;
  finalTrainLoss: number;
  l2: number;
  learningRate: number;
  seed: number;
  idf: boolean;
  classWeight: ClassWeight;
  /** per-label example counts in all the data (multiple: texts carrying the label) */
  labelCounts: number[];
}

export interface FitResult {
  /** 2^bits × C, row-major */
  W: Float32Array;
  b: Float32Array;
  /** 2^bits: the idf table the weights were trained with (the serving graph needs it) */
  idf: Float32Array;
  metrics: TrainingMetrics;
}

export const FIT_DEFAULTS = {
  seed: 0,
  epochs: 8,
  l2: 1e-5,
  learningRate: 1,
  validationFraction: 0.15,
  refit: true,
  threshold: 0.5,
  idf: true,
  classWeight: 'none' as ClassWeight,
} as const;

/** Labels as the trainer uses them: a class id per row (single) or a multi-hot N × C matrix (multiple). */
export type EncodedTargets = { mode: 'single'; ids: Int32Array } | { mode: 'multiple'; multiHot: Uint8Array };

export function encodeTargets(targets: readonly (number | readonly number[])[], mode: ClassifierMode, classes: number): EncodedTargets {
  const check = (label: unknown, i: number): number => {
    if (typeof label !== 'number' || !Number.isInteger(label) || label < 0 || label >= classes) {
      throw new RangeError(`targets[${i}]: label index ${String(label)} is not an integer in [0, ${classes})`);
    }
    return label;
  };
  if (mode === 'single') {
    return {
      mode,
      ids: Int32Array.from(targets, (t, i) => {
        if (Array.isArray(t)) {
          if (t.length !== 1) throw new RangeError(`targets[${i}]: single choice needs exactly one label, got ${t.length}`);
          return check(t[0], i);
        }
        return check(t, i);
      }),
    };
  }
  const multiHot = new Uint8Array(targets.length * classes);
  targets.forEach((t, i) => {
    for (const label of Array.isArray(t) ? t : [t]) multiHot[i * classes + check(label, i)] = 1;
  });
  return { mode, multiHot };
}

/** Stratification key: the class (single) or the label set (multiple). */
function strataOf(targets: EncodedTargets, n: number, classes: number): Map<string, number[]> {
  const strata = new Map<string, number[]>();
  for (let i = 0; i < n; i++) {
    const key =
      targets.mode === 'single'
        ? String(targets.ids[i])
        : Array.from(targets.multiHot.subarray(i * classes, (i + 1) * classes)).join('');
    let rows = strata.get(key);
    if (!rows) strata.set(key, (rows = []));
    rows.push(i);
  }
  return strata;
}

/**
 * Deterministic stratified split: within each stratum a seeded shuffle, then round(fraction · size)
 * rows to validation, never the last example of a stratum (it is more useful for training).
 */
export function splitTrainValidation(
  targets: EncodedTargets,
  n: number,
  classes: number,
  fraction: number,
  random: Random,
): { train: Int32Array; validation: Int32Array } {
  const train: number[] = [];
  const validation: number[] = [];
  if (fraction > 0 && n >= 10) {
    const keys = [...strataOf(targets, n, classes).entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const [, rows] of keys) {
      shuffleInPlace(rows, random);
      const take = Math.min(rows.length - 1, Math.round(rows.length * fraction));
      validation.push(...rows.slice(0, take));
      train.push(...rows.slice(take));
    }
  } else {
    for (let i = 0; i < n; i++) train.push(i);
  }
  const sorted = (a: number[]) => Int32Array.from(a).sort();
  return { train: sorted(train), validation: sorted(validation) };
}

/** Weights being trained; `scale` multiplies W lazily (see the module comment). */
export interface Model {
  W: Float32Array;
  b: Float64Array;
  scale: number;
  classes: number;
}

function newModel(cols: number, classes: number): Model {
  return { W: new Float32Array(cols * classes), b: new Float64Array(classes), scale: 1, classes };
}

function foldScale(model: Model): void {
  if (model.scale === 1) return;
  const { W, scale } = model;
  for (let k = 0; k < W.length; k++) W[k] = W[k]! * scale;
  model.scale = 1;
}

/** z = scale · (x_i · W) + b for one CSR row. */
function scoreRow(model: Model, x: SparseRows, row: number, z: Float64Array): void {
  const { W, b, scale, classes: C } = model;
  const { indices, values } = x;
  z.fill(0);
  for (let k = x.indptr[row]!, end = x.indptr[row + 1]!; k < end; k++) {
    const base = indices[k]! * C;
    const v = values[k]!;
    for (let c = 0; c < C; c++) z[c] = z[c]! + v * W[base + c]!;
  }
  for (let c = 0; c < C; c++) z[c] = z[c]! * scale + b[c]!;
}

/** In place: logits → probabilities. Returns nothing; the caller reads z. */
function softmaxInPlace(z: Float64Array): void {
  let max = -Infinity;
  for (let c = 0; c < z.length; c++) if (z[c]! > max) max = z[c]!;
  let sum = 0;
  for (let c = 0; c < z.length; c++) sum += z[c] = Math.exp(z[c]! - max);
  for (let c = 0; c < z.length; c++) z[c] = z[c]! / sum;
}

function sigmoidInPlace(z: Float64Array): void {
  for (let c = 0; c < z.length; c++) z[c] = 1 / (1 + Math.exp(-z[c]!));
}

const EPS = 1e-12;

/**
 * Loss weights: single choice, one per class; multiple choice, 2 per label (negative, positive).
 * Undefined = all 1.
 */
export type LossWeights = Float64Array | undefined;

/**
 * Turns probabilities into the gradient of the (weighted) loss w.r.t. the logits, w · (p − y), in
 * place, and returns the example's weighted loss.
 */
function gradientInPlace(p: Float64Array, targets: EncodedTargets, row: number, weights?: LossWeights): number {
  const C = p.length;
  if (targets.mode === 'single') {
    const y = targets.ids[row]!;
    const loss = -Math.log(p[y]! + EPS);
    p[y] = p[y]! - 1;
    if (!weights) return loss;
    const w = weights[y]!;
    for (let c = 0; c < C; c++) p[c] = p[c]! * w;
    return w * loss;
  }
  let loss = 0;
  for (let c = 0; c < C; c++) {
    const y = targets.multiHot[row * C + c]!;
    const w = weights ? weights[2 * c + y]! : 1;
    loss -= w * Math.log((y === 1 ? p[c]! : 1 - p[c]!) + EPS);
    p[c] = w * (p[c]! - y);
  }
  return loss;
}

/** 'balanced' weights over `rows` (a class or label side absent from them gets weight 1; it never occurs). */
export function classWeights(kind: ClassWeight, targets: EncodedTargets, rows: Int32Array, C: number): LossWeights {
  if (kind === 'none' || rows.length === 0) return undefined;
  const n = rows.length;
  if (targets.mode === 'single') {
    const counts = new Float64Array(C);
    for (const r of rows) counts[targets.ids[r]!]!++;
    return counts.map((count) => (count === 0 ? 1 : n / (C * count)));
  }
  const weights = new Float64Array(2 * C);
  for (let c = 0; c < C; c++) {
    let positives = 0;
    for (const r of rows) positives += targets.multiHot[r * C + c]!;
    weights[2 * c] = positives === n ? 1 : n / (2 * (n - positives));
    weights[2 * c + 1] = positives === 0 ? 1 : n / (2 * positives);
  }
  return weights;
}

export interface EpochContext {
  x: SparseRows;
  targets: EncodedTargets;
  classes: number;
  l2: number;
  learningRate: number;
  totalSteps: number;
  weights?: LossWeights;
}

/** Linear decay to lr0/totalSteps at the last step: large steps early, averaging-like calm at the end. */
function stepSize(ctx: EpochContext, step: number): number {
  return (ctx.learningRate * (ctx.totalSteps - step)) / ctx.totalSteps;
}

/** One SGD pass over `rows` in the given order. Returns the mean loss and the next step number. */
function sgdEpoch(model: Model, rows: Int32Array, ctx: EpochContext, firstStep: number): { loss: number; step: number } {
  const { x, targets, l2 } = ctx;
  const { indptr, indices, values } = x;
  const { W, b, classes: C } = model;
  const activate = targets.mode === 'single' ? softmaxInPlace : sigmoidInPlace;
  const z = new Float64Array(C);
  let step = firstStep;
  let lossSum = 0;
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    const lr = stepSize(ctx, step++);
    scoreRow(model, x, row, z);
    activate(z);
    lossSum += gradientInPlace(z, targets, row, ctx.weights);
    // Shrink all weights by (1 − lr·λ) via the scale; the sparse update is divided by the new scale.
    model.scale *= 1 - lr * l2;
    const coef = lr / model.scale;
    for (let c = 0; c < C; c++) {
      b[c] = b[c]! - lr * z[c]!;
      z[c] = z[c]! * coef;
    }
    for (let k = indptr[row]!, end = indptr[row + 1]!; k < end; k++) {
      const base = indices[k]! * C;
      const v = values[k]!;
      for (let c = 0; c < C; c++) W[base + c] = W[base + c]! - z[c]! * v;
    }
    // Keep W in a sane float range; folding is O(size of W) but happens rarely.
    if (model.scale < 1e-6) foldScale(model);
  }
  return { loss: rows.length === 0 ? 0 : lossSum / rows.length, step };
}

export function trainModel(
  ctx: Omit<EpochContext, 'totalSteps'>,
  rows: Int32Array,
  epochs: number,
  random: Random,
  onEpoch: (epoch: number, loss: number) => void,
): TrainedModel {
  const packed = packColumnsCached(ctx.x, rows);
  const model = newModel(packed.x.cols, ctx.classes);
  const full: EpochContext = { ...ctx, x: packed.x, totalSteps: Math.max(1, rows.length * epochs) };
  const order = Int32Array.from(rows);
  let step = 0;
  let loss = 0;
  for (let epoch = 1; epoch <= epochs; epoch++) {
    shuffleInPlace(order, random);
    ({ loss, step } = sgdEpoch(model, order, full, step));
    onEpoch(epoch, loss);
  }
  foldScale(model);
  return { model, loss, features: packed.x, unpack: () => unpackColumns(model, packed.columns, ctx.x.cols) };
}

/**
 * A fitted model over packed columns: score `features` (the packed input, validation rows included)
 * with it, and `unpack()` the weights to the original columns (2^bits × C, for export).
 */
export interface TrainedModel {
  model: Model;
  loss: number;
  features: SparseRows;
  unpack: () => Float32Array;
}

type Packed = { x: SparseRows; columns: Int32Array };
/** Candidates of one feature set train on the same matrix and rows: pack once. */
const packCache = new WeakMap<SparseRows, { rows: Int32Array; packed: Packed }>();

function packColumnsCached(x: SparseRows, rows: Int32Array): Packed {
  const hit = packCache.get(x);
  if (hit && hit.rows === rows) return hit.packed;
  const packed = packColumns(x, rows);
  packCache.set(x, { rows, packed });
  return packed;
}

/**
 * Renumbers the columns the training rows use, most frequent first. SGD is bound by cache misses on
 * W (one random row per n-gram entry; 2^19 × C floats with characters do not stay in cache); packing
 * the frequent n-grams together keeps the rows most entries hit in cache. Only names change, and each
 * row keeps its entry order, so the arithmetic and the weights are exactly those of the unpacked fit.
 */
function packColumns(x: SparseRows, rows: Int32Array): { x: SparseRows; columns: Int32Array } {
  const df = new Int32Array(x.cols);
  for (const r of rows) for (let k = x.indptr[r]!, end = x.indptr[r + 1]!; k < end; k++) df[x.indices[k]!]!++;
  let used = 0;
  for (let j = 0; j < x.cols; j++) if (df[j]! > 0) used++;
  // Sort key: descending df, then column id (a plain numeric sort, no comparator).
  const keys = new Float64Array(used);
  for (let j = 0, u = 0; j < x.cols; j++) if (df[j]! > 0) keys[u++] = (rows.length - df[j]!) * x.cols + j;
  keys.sort();
  const columns = new Int32Array(used);
  const rank = new Int32Array(x.cols).fill(used); // columns no training row uses share one never-trained slot
  for (let u = 0; u < used; u++) {
    const j = keys[u]! % x.cols;
    columns[u] = j;
    rank[j] = u;
  }
  const indices = new Int32Array(x.indices.length);
  for (let k = 0; k < indices.length; k++) indices[k] = rank[x.indices[k]!]!;
  return { x: { ...x, cols: used + 1, indices }, columns };
}

function unpackColumns(model: Model, columns: Int32Array, cols: number): Float32Array {
  const C = model.classes;
  const W = new Float32Array(cols * C);
  for (let u = 0; u < columns.length; u++) W.set(model.W.subarray(u * C, (u + 1) * C), columns[u]! * C);
  return W;
}

/** Probabilities for a set of rows, N × C row-major. */
function predictRows(model: Model, x: SparseRows, rows: Int32Array, mode: ClassifierMode): Float64Array {
  const C = model.classes;
  const out = new Float64Array(rows.length * C);
  const z = new Float64Array(C);
  for (let r = 0; r < rows.length; r++) {
    scoreRow(model, x, rows[r]!, z);
    if (mode === 'single') softmaxInPlace(z);
    else sigmoidInPlace(z);
    out.set(z, r * C);
  }
  return out;
}

function meanLoss(probs: Float64Array, targets: EncodedTargets, rows: Int32Array, C: number): number {
  let sum = 0;
  const p = new Float64Array(C);
  for (let r = 0; r < rows.length; r++) {
    p.set(probs.subarray(r * C, (r + 1) * C));
    sum += gradientInPlace(p, targets, rows[r]!);
  }
  return rows.length === 0 ? 0 : sum / rows.length;
}

/** Per-label example counts over rows 0..n−1, or over the given rows. */
export function labelCounts(targets: EncodedTargets, n: number, C: number, rows?: Int32Array): number[] {
  const counts = new Array<number>(C).fill(0);
  for (let r = 0; r < n; r++) {
    const i = rows ? rows[r]! : r;
    if (targets.mode === 'single') counts[targets.ids[i]!]!++;
    else for (let c = 0; c < C; c++) counts[c]! += targets.multiHot[i * C + c]!;
  }
  return counts;
}

export function validationMetrics(model: Model, x: SparseRows, targets: EncodedTargets, rows: Int32Array, threshold: number) {
  const C = model.classes;
  if (rows.length === 0) {
    return targets.mode === 'single'
      ? { accuracy: null, macroF1: null, validationLoss: null }
      : { accuracy: null, macroF1: null, microF1: null, hammingAccuracy: null, threshold, validationLoss: null };
  }
  const probs = predictRows(model, x, rows, targets.mode);
  const validationLoss = meanLoss(probs, targets, rows, C);
  if (targets.mode === 'single') {
    const truth = Int32Array.from(rows, (r) => targets.ids[r]!);
    return { ...singleChoiceMetrics(probs, truth, C), validationLoss };
  }
  const truth = new Uint8Array(rows.length * C);
  rows.forEach((r, k) => truth.set(targets.multiHot.subarray(r * C, (r + 1) * C), k * C));
  return { ...multipleChoiceMetrics(probs, truth, C, threshold), threshold, validationLoss };
}

export function assertFitInputs(x: SparseRows, targetCount: number, options: FitOptions): void {
  if (x.rows !== targetCount) throw new RangeError(`features have ${x.rows} rows but there are ${targetCount} targets`);
  if (!Number.isInteger(options.classes) || options.classes < 1) throw new RangeError(`classes must be ≥ 1, got ${options.classes}`);
  const positive = (name: string, v: number | undefined, allowZero = false) => {
    if (v !== undefined && !(Number.isFinite(v) && (allowZero ? v >= 0 : v > 0))) throw new RangeError(`${name} must be ${allowZero ? '≥' : '>'} 0, got ${v}`);
  };
  positive('learningRate', options.learningRate);
  positive('l2', options.l2, true);
  if (options.epochs !== undefined && !(Number.isInteger(options.epochs) && options.epochs >= 1)) throw new RangeError(`epochs must be an integer ≥ 1, got ${options.epochs}`);
  // Each step shrinks W by (1 − lr·λ); at lr·λ ≥ 1 that flips signs or zeroes the scale.
  if ((options.learningRate ?? FIT_DEFAULTS.learningRate) * (options.l2 ?? FIT_DEFAULTS.l2) >= 1) {
    throw new RangeError('learningRate × l2 must be < 1');
  }
  const vf = options.validationFraction;
  if (vf !== undefined && !(vf >= 0 && vf < 1)) throw new RangeError(`validationFraction must be in [0, 1), got ${vf}`);
}

/** idf over `rows` (or all ones), and the features weighted with it block by block (blocks.ts). */
export function weighRows(blocks: readonly SparseRows[], rows: Int32Array, idf: boolean): { idf: Float32Array; features: SparseRows } {
  const cols = blocks[0]!.cols;
  let table: Float32Array;
  if (idf) {
    // Blocks use disjoint columns, so their idf tables add up to the whole one.
    table = new Float32Array(cols);
    for (const block of blocks) {
      const own = computeIdf(block, rows);
      for (let j = 0; j < cols; j++) if (own[j] !== 0) table[j] = own[j]!;
    }
  } else {
    table = new Float32Array(cols).fill(1);
  }
  return { idf: table, features: weighBlocks(blocks, table) };
}

/** The options with defaults filled in (an explicit `undefined` means "default" too). */
export function resolveFitOptions(options: FitOptions): Required<FitOptions> {
  return { ...FIT_DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as Required<FitOptions>;
}

/**
 * Trains on CSR n-gram counts (featurizer.ts), weighting them by tf-idf first (tfidf.ts). Validation metrics come from a model that never saw the validation
 * rows; with `refit` (default) the returned weights are then retrained on all rows with the same
 * epochs and seed-derived shuffles, because for the small projects typical of labelling work the
 * extra 15% of examples matters more than the second pass costs.
 *
 * `x` is one block of counts, or several over disjoint columns (words, characters) that are each
 * tf-idf weighted and L2-normalised on their own, as the serving graph does.
 */
export function fitTextClassifier(x: SparseRows | readonly SparseRows[], targets: readonly (number | readonly number[])[], options: FitOptions): FitResult {
  const blocks: readonly SparseRows[] = Array.isArray(x) ? x : [x as SparseRows];
  const rowsOf = blocks[0]!;
  assertFitInputs(rowsOf, targets.length, options);
  const o = resolveFitOptions(options);
  const C = o.classes;
  const encoded = encodeTargets(targets, o.mode, C);
  const random = createRandom(o.seed);
  const { train, validation } = splitTrainValidation(encoded, rowsOf.rows, C, o.validationFraction, random);
  const context = (features: SparseRows, rows: Int32Array) => ({
    x: features, targets: encoded, classes: C, l2: o.l2, learningRate: o.learningRate, weights: classWeights(o.classWeight, encoded, rows, C),
  });
  const hasValidation = validation.length > 0;
  const refit = hasValidation && o.refit;
  const passes = refit ? 2 : 1;
  const report = (stage: FitProgress['stage'], pass: number) => (epoch: number, loss: number) =>
    o.onProgress?.({ stage, epoch, epochs: o.epochs, loss, fraction: (pass * o.epochs + epoch) / (passes * o.epochs) });

  // idf comes from the rows a model trains on, so validation rows stay unseen in every sense.
  const firstWeights = weighRows(blocks, train, o.idf);
  const first = trainModel(context(firstWeights.features, train), train, o.epochs, random, report(hasValidation ? 'validation' : 'final', 0));
  const metricsOnHeldOut = validationMetrics(first.model, first.features, encoded, validation, o.threshold);
  const all = Int32Array.from({ length: rowsOf.rows }, (_, i) => i);
  const finalWeights = refit ? weighRows(blocks, all, o.idf) : firstWeights;
  const final = refit ? trainModel(context(finalWeights.features, all), all, o.epochs, random, report('final', 1)) : first;

  return {
    W: final.unpack(),
    b: Float32Array.from(final.model.b),
    idf: finalWeights.idf,
    metrics: {
      mode: o.mode,
      ...metricsOnHeldOut,
      trainSize: train.length,
      validationSize: validation.length,
      fittedSize: refit ? rowsOf.rows : train.length,
      epochs: o.epochs,
      refit,
      finalTrainLoss: final.loss,
      l2: o.l2,
      learningRate: o.learningRate,
      seed: o.seed,
      idf: o.idf,
      classWeight: o.classWeight,
      labelCounts: labelCounts(encoded, rowsOf.rows, C),
    },
  };
}
