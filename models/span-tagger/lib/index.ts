/**
 * Built-in span tagger (NER-style `<Labels>` on `<Text>`): train in TypeScript, export one ONNX file, serve
 * it with onnxruntime plus a small TypeScript step on each side (featurize before, Viterbi after).
 *
 *   trainSpanTagger() = tokenize + featurize + tag (encode.ts) → seeded hold-out split → structured averaged
 *                       perceptron (trainer.ts) → held-out span metrics + temperature (calibrate.ts)
 *                       → export (artifact.ts) → validate (fresh session, parity with the trainer)
 *
 * CPU-bound and synchronous during the fit: call it from a worker thread, not the HTTP thread.
 */
import { createRandom, shuffleInPlace } from '../../shared/random.js';
import { DEFAULT_MAX_TEXT_CHARS, assertMaxTextChars } from '../../shared/text-limit.js';
import { ArtifactError, MAX_BITS, MIN_BITS, encodeArtifact } from './artifact.js';
import { fitTemperature, type ScoredText } from './calibrate.js';
import { Decoder } from './decode.js';
import { encodeTrainingSet, type EncodedTrainingSet, type SpanCounts } from './encode.js';
import { DEFAULT_TEMPLATES, parseTemplates, type FeatureConfig } from './features.js';
import { spanMetrics, type LabeledSpan, type SpanMetrics } from './metrics.js';
import { loadSpanTagger } from './tagger.js';
import { allowedTransitions, tagCount, tagsToSpans, type TokenSpan } from './tags.js';
import { emissions, fitPerceptron, type PerceptronWeights } from './trainer.js';

export { spanMetrics } from './metrics.js';
export type { LabeledSpan, SpanMetrics, SpanScores } from './metrics.js';
export { ARTIFACT_FORMAT, ARTIFACT_FORMAT_VERSION, ArtifactError, encodeArtifact, readArtifactMetadata, validateArtifact } from './artifact.js';
export type { ArtifactErrorCode, ArtifactMetadata } from './artifact.js';
export { loadSpanTagger, DEFAULT_RUN_TOKENS } from './tagger.js';
export type { LoadOptions, PredictedSpan, SpanTagger } from './tagger.js';
export { tokenize } from './tokenizer.js';
export type { Tokens } from './tokenizer.js';
export { DEFAULT_TEMPLATES } from './features.js';

/** JS string indices, end exclusive. */
export interface TrainingSpan {
  start: number;
  end: number;
  label: string;
}

export interface SpanExample {
  text: string;
  spans: readonly TrainingSpan[];
}

/** Measured on Brown (README): 5 epochs ≈ 94% micro F1; 8 add ~0.4 points for 60% more fit time. */
export const TRAIN_DEFAULTS = {
  epochs: 5,
  bits: 20,
  hashSeed: 0,
  seed: 1,
  validationFraction: 0.1,
  refit: false,
  templates: DEFAULT_TEMPLATES,
} as const;

/** Below this many examples there is no held-out split (metrics say null): every text is needed to learn. */
const MIN_EXAMPLES_FOR_VALIDATION = 10;

export interface TrainSpanTaggerInput {
  examples: readonly SpanExample[];
  /** the label set from the label config; spans with other labels are ignored; labels without spans are kept */
  labels: readonly string[];
  seed?: number;
  epochs?: number;
  /** hash space 2^bits (weights for training: 12 bytes × 2^bits × tags) */
  bits?: number;
  hashSeed?: number;
  /** feature templates (features.ts), e.g. `word@-1|word@0` */
  templates?: readonly string[];
  /** share of the texts held out for the metrics (and the score temperature) */
  validationFraction?: number;
  /** train again on all texts after measuring (doubles the fit time; the metrics stay the held-out ones) */
  refit?: boolean;
  /** extra artifact metadata (project id, control name) */
  metadata?: Record<string, string>;
  /** characters of each text the model reads, in training and (recorded in the artifact) in serving */
  maxTextChars?: number;
  /** 0..1, never decreasing */
  onProgress?: (fraction: number) => void;
}

/** A type (not an interface), so it is assignable to `Record<string, unknown>`. */
export type TrainingMetrics = {
  /** span-level scores on the held-out texts (exact start, end and label); null without a split */
  heldOut: SpanMetrics | null;
  trainSize: number;
  validationSize: number;
  /** texts the shipped weights were trained on */
  fittedSize: number;
  tokens: number;
  spans: SpanCounts;
  /** gold spans per label (after the checks in `spans`) */
  labelCounts: Record<string, number>;
  keptFeatures: number;
  /** the exported scores are the trainer's divided by this (calibrate.ts: span scores read like a chance of being right) */
  temperature: number;
  settings: {
    epochs: number;
    seed: number;
    bits: number;
    hashSeed: number;
    templates: number;
    validationFraction: number;
    refit: boolean;
    maxTextChars: number;
  };
};

export type TrainTimings = {
  encodeMs: number;
  fitMs: number;
  evaluateMs: number;
  exportMs: number;
  validateMs: number;
  totalMs: number;
};

export interface TrainSpanTaggerResult {
  artifact: Uint8Array;
  metrics: TrainingMetrics;
  timings: TrainTimings;
}

type Settings = TrainingMetrics['settings'] & { templates: number; templateNames: readonly string[] };

function resolveSettings(input: TrainSpanTaggerInput): Settings {
  const s = {
    epochs: input.epochs ?? TRAIN_DEFAULTS.epochs,
    seed: input.seed ?? TRAIN_DEFAULTS.seed,
    bits: input.bits ?? TRAIN_DEFAULTS.bits,
    hashSeed: input.hashSeed ?? TRAIN_DEFAULTS.hashSeed,
    templateNames: input.templates ?? TRAIN_DEFAULTS.templates,
    validationFraction: input.validationFraction ?? TRAIN_DEFAULTS.validationFraction,
    refit: input.refit ?? TRAIN_DEFAULTS.refit,
    maxTextChars: input.maxTextChars ?? DEFAULT_MAX_TEXT_CHARS,
  };
  if (!Number.isInteger(s.epochs) || s.epochs < 1) throw new RangeError(`epochs must be a positive integer, got ${s.epochs}`);
  if (!Number.isInteger(s.seed)) throw new RangeError(`seed must be an integer, got ${s.seed}`);
  if (!Number.isInteger(s.bits) || s.bits < MIN_BITS || s.bits > MAX_BITS) throw new RangeError(`bits must be an integer in [${MIN_BITS}, ${MAX_BITS}], got ${s.bits}`);
  if (!Number.isInteger(s.hashSeed) || s.hashSeed < 0 || s.hashSeed > 0x7fffffff) throw new RangeError(`hashSeed must be a non-negative 31-bit integer`);
  if (!(s.validationFraction >= 0 && s.validationFraction < 1)) throw new RangeError(`validationFraction must be in [0, 1), got ${s.validationFraction}`);
  assertMaxTextChars(s.maxTextChars);
  return { ...s, templates: s.templateNames.length };
}

function assertInput(input: TrainSpanTaggerInput): void {
  if (input.examples.length === 0) throw new RangeError('no training examples');
  if (input.labels.length === 0) throw new RangeError('no labels');
  if (new Set(input.labels).size !== input.labels.length) throw new RangeError('labels must be unique');
  input.examples.forEach((e, i) => {
    if (typeof e?.text !== 'string') throw new TypeError(`examples[${i}].text is not a string`);
    if (!Array.isArray(e.spans)) throw new TypeError(`examples[${i}].spans is not an array`);
    for (const s of e.spans) {
      if (!Number.isInteger(s.start) || !Number.isInteger(s.end) || s.start < 0 || s.end > e.text.length || s.start > s.end) {
        throw new RangeError(`examples[${i}]: span [${s.start}, ${s.end}) is not inside the text (${e.text.length} characters)`);
      }
    }
  });
}

/** Seeded split: the first `validation` of a shuffled order are held out. */
function split(n: number, fraction: number, seed: number): { train: Int32Array; validation: Int32Array } {
  const validation = n < MIN_EXAMPLES_FOR_VALIDATION ? 0 : Math.max(1, Math.round(n * fraction));
  if (fraction === 0 || validation === 0) return { train: Int32Array.from({ length: n }, (_, i) => i), validation: new Int32Array(0) };
  // A different stream from the fit's shuffles (which use `seed` itself).
  const order = shuffleInPlace(Int32Array.from({ length: n }, (_, i) => i), createRandom(seed ^ 0x5bd1e995));
  return { train: order.slice(validation).sort(), validation: order.slice(0, validation).sort() };
}

interface Decoded {
  spans: LabeledSpan[];
  tokenSpans: TokenSpan[];
  tags: Uint8Array;
  scores: Float64Array;
}

/** Decodes texts with the trainer's weights (float64 scores, no ONNX). */
function decodeWithWeights(set: EncodedTrainingSet, rows: Int32Array, weights: PerceptronWeights, labels: readonly string[], F: number): Decoded[] {
  const K = tagCount(labels.length);
  const decoder = new Decoder(K, { scores: weights.transitions, allowed: allowedTransitions(labels.length) });
  return Array.from(rows, (row) => {
    const { tokens, feats } = set.texts[row]!;
    const scores = new Float64Array(tokens.count * K);
    emissions(weights.W, feats, F, K, scores);
    const tags = new Uint8Array(tokens.count);
    decoder.decode(scores, 0, tokens.count, tags);
    const tokenSpans = tagsToSpans(tags);
    const spans = tokenSpans.map((t) => ({ start: tokens.starts[t.first]!, end: tokens.ends[t.last - 1]!, label: labels[t.label]! }));
    return { spans, tokenSpans, tags, scores };
  });
}

/** The held-out predictions, each span marked right (exactly a gold span) or wrong, for the temperature. */
function scoredTexts(decoded: readonly Decoded[], gold: readonly LabeledSpan[][]): ScoredText[] {
  return decoded.map((d, i) => {
    const wanted = new Set(gold[i]!.map((s) => `${s.start}:${s.end}:${s.label}`));
    const spans = d.tokenSpans.map((t, j) => {
      const s = d.spans[j]!;
      return { first: t.first, last: t.last, correct: wanted.has(`${s.start}:${s.end}:${s.label}`) };
    });
    return { scores: d.scores, tags: d.tags, spans };
  });
}

function scale(weights: PerceptronWeights, by: number): PerceptronWeights {
  return { W: weights.W.map((w) => w * by), transitions: weights.transitions.map((w) => w * by) };
}

const PARITY_TEXTS = 8;
const PARITY_TOLERANCE = 1e-3;

/** Loads the artifact in a fresh session; a few training texts must score as the trainer scores them. */
async function validateExport(artifact: Uint8Array, set: EncodedTrainingSet, weights: PerceptronWeights, labels: readonly string[], F: number): Promise<void> {
  const tagger = await loadSpanTagger(artifact);
  try {
    const rows = Int32Array.from({ length: Math.min(PARITY_TEXTS, set.texts.length) }, (_, i) => i);
    const expected = decodeWithWeights(set, rows, weights, labels, F);
    const texts = Array.from(rows, (r) => set.texts[r]!.text);
    const served = await tagger.score(texts.map((t) => tagger.encode(t)));
    const predicted = await tagger.predict(texts);
    for (let i = 0; i < rows.length; i++) {
      const want = expected[i]!.scores;
      const got = served[i]!;
      for (let j = 0; j < want.length; j++) {
        const diff = Math.abs(want[j]! - got[j]!);
        if (!(diff <= PARITY_TOLERANCE * Math.max(1, Math.abs(want[j]!)))) {
          throw new ArtifactError('smoke', `exported model disagrees with the trainer on text ${i} (|Δscore| = ${diff})`);
        }
      }
      const same = JSON.stringify(predicted[i]!.map(({ start, end, label }) => ({ start, end, label }))) === JSON.stringify(expected[i]!.spans);
      if (!same) throw new ArtifactError('smoke', `exported model decodes text ${i} differently from the trainer`);
    }
  } finally {
    await tagger.release();
  }
}

function countLabels(gold: readonly LabeledSpan[][], labels: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = Object.fromEntries(labels.map((l) => [l, 0]));
  for (const spans of gold) for (const s of spans) counts[s.label] = (counts[s.label] ?? 0) + 1;
  return counts;
}

export async function trainSpanTagger(input: TrainSpanTaggerInput): Promise<TrainSpanTaggerResult> {
  assertInput(input);
  const settings = resolveSettings(input);
  const started = performance.now();
  const progress = input.onProgress ?? (() => {});
  const labels = [...input.labels];
  const labelIndex = new Map(labels.map((l, i) => [l, i]));
  const features: FeatureConfig = { templates: parseTemplates(settings.templateNames), bits: settings.bits, hashSeed: settings.hashSeed };
  const F = settings.templates;
  const K = tagCount(labels.length);

  // Rough wall-time shares: encode 0.2, fit 0.7 (0.35 + 0.35 with a refit), export and validation the rest.
  const n = input.examples.length;
  const set = encodeTrainingSet(input.examples, features, labelIndex, settings.maxTextChars, (done) => progress((0.2 * done) / n));
  progress(0.2);
  const encoded = performance.now();

  const { train, validation } = split(n, settings.validationFraction, settings.seed);
  const fitShare = settings.refit ? 0.35 : 0.7;
  const fitOptions = { K, F, bits: settings.bits, epochs: settings.epochs, seed: settings.seed, allowed: allowedTransitions(labels.length) };
  let weights = fitPerceptron(set.examples, train, { ...fitOptions, onEpoch: (f) => progress(0.2 + fitShare * f) });
  const fitted = performance.now();

  let heldOut: SpanMetrics | null = null;
  let temperature = 1;
  if (validation.length > 0) {
    const decoded = decodeWithWeights(set, validation, weights, labels, F);
    const gold = Array.from(validation, (r) => set.gold[r]!);
    heldOut = spanMetrics(gold, decoded.map((d) => d.spans), labels);
    temperature = fitTemperature({ K, transitions: { scores: weights.transitions, allowed: allowedTransitions(labels.length) }, texts: scoredTexts(decoded, gold) });
  }
  const evaluated = performance.now();
  if (settings.refit && validation.length > 0) {
    const all = Int32Array.from({ length: n }, (_, i) => i);
    weights = fitPerceptron(set.examples, all, { ...fitOptions, onEpoch: (f) => progress(0.55 + fitShare * f) });
  }
  const refitMs = performance.now() - evaluated;
  weights = scale(weights, 1 / temperature);
  progress(0.9);

  const { templateNames, ...recorded } = settings;
  const metrics: Omit<TrainingMetrics, 'keptFeatures'> = {
    heldOut,
    trainSize: train.length,
    validationSize: validation.length,
    fittedSize: settings.refit ? n : train.length,
    tokens: set.tokens,
    spans: set.counts,
    labelCounts: countLabels(set.gold, labels),
    temperature,
    settings: recorded,
  };
  const exportStarted = performance.now();
  const keptFeatures = countKept(weights.W, K);
  const artifact = encodeArtifact({
    labels,
    templates: templateNames,
    bits: settings.bits,
    hashSeed: settings.hashSeed,
    W: weights.W,
    transitions: weights.transitions,
    maxTextChars: settings.maxTextChars,
    metrics: { ...metrics, keptFeatures },
    ...(input.metadata ? { extra: input.metadata } : {}),
  });
  progress(0.95);
  const exported = performance.now();
  await validateExport(artifact, set, weights, labels, F);
  progress(1);
  const done = performance.now();
  return {
    artifact,
    metrics: { ...metrics, keptFeatures },
    timings: {
      encodeMs: encoded - started,
      fitMs: fitted - encoded + refitMs,
      evaluateMs: evaluated - fitted,
      exportMs: exported - exportStarted,
      validateMs: done - exported,
      totalMs: done - started,
    },
  };
}

function countKept(W: Float32Array, K: number): number {
  let kept = 0;
  for (let r = 0; r < W.length; r += K) {
    for (let k = r; k < r + K; k++) {
      if (W[k] !== 0) {
        kept++;
        break;
      }
    }
  }
  return kept;
}
