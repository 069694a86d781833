/**
 * The model artifact: one ONNX file (graph + weights) whose `metadata_props` carry labels, mode,
 * featurizer settings and training metrics. Nothing else is needed to serve it.
 *
 * Checks happen in two layers: `validateArtifact` is static (decode, metadata schema, tensor
 * shapes and sizes agree with the metadata) and cheap; `loadClassifier` then creates the
 * onnxruntime session and runs a smoke input, so a file that onnxruntime rejects never replaces
 * a working model.
 */
import * as ort from 'onnxruntime-node';
import { z } from 'zod';
import { ModelArtifactError, intString, jsonString, labelsSchema, type ArtifactErrorCode } from '../../shared/artifact-metadata.js';
import { compactWeights, servedBytes, weightBytes } from './compact.js';
import {
  MAX_BITS,
  MIN_BITS,
  NAMES,
  OPSET_AI_ONNX,
  OPSET_MS,
  TOKEN_PATTERN,
  MAX_CHAR_ORDER,
  MAX_CHAR_PREFIX,
  buildTextClassifierGraph,
  featureColumns,
  withRemapTable,
  type ClassifierMode,
  type FeaturizerOptions,
  type NgramOrder,
} from './graph.js';
import { planBatches, type BatchLimits } from './featurizer.js';
import { argmaxRow } from './metrics.js';
import { DataType, MS_DOMAIN, decodeModel, encodeModel, readInt32RawTensor, tensorElementCount, type ModelProto, type TensorProto } from '../../shared/onnx-builder.js';
import { createSession } from '../../shared/session.js';
import { DEFAULT_MAX_TEXT_CHARS, MAX_MAX_TEXT_CHARS, assertMaxTextChars, truncateTexts } from '../../shared/text-limit.js';

export const ARTIFACT_FORMAT = 'ls-ml-backend.text-classifier';
/**
 * 1: dense W[2^bits, C], words only (still served); 2: compact, only the buckets the model uses
 * (compact.ts), words only; 3: with a character n-gram block (graph.ts), dense or compact. A words-only
 * model is still written as 1 or 2, so older servers keep reading everything they can serve.
 */
export const ARTIFACT_FORMAT_VERSION = 3;
const DENSE_FORMAT_VERSION = 1;
const COMPACT_FORMAT_VERSION = 2;

export type ArtifactLayout = 'dense' | 'compact';

export type { ArtifactErrorCode };

export class ArtifactError extends ModelArtifactError {
  constructor(code: ArtifactErrorCode, message: string, options?: { cause?: unknown }) {
    super('text-classifier', code, message, options);
  }
}

/** Keys this module owns in metadata_props; callers add their own keys next to them. */
const KEYS = {
  format: 'format',
  formatVersion: 'format_version',
  labels: 'labels',
  mode: 'mode',
  bits: 'bits',
  ngramOrder: 'ngram_order',
  hashSeed: 'hash_seed',
  tokenPattern: 'token_pattern',
  threshold: 'threshold',
  metrics: 'metrics',
  maxTextChars: 'max_text_chars',
  keptBuckets: 'kept_buckets',
  /** format 3: "min-max" orders of the character n-grams, and how many characters they read */
  charNgrams: 'char_ngrams',
  charMaxChars: 'char_max_chars',
} as const;
const RESERVED = new Set<string>(Object.values(KEYS));




const charOrders = z
  .string()
  .regex(/^\d-\d$/, 'must be "min-max"')
  .transform((text) => text.split('-').map(Number) as [number, number])
  .refine(([min, max]) => min >= 1 && min <= max && max <= MAX_CHAR_ORDER, `orders must satisfy 1 ≤ min ≤ max ≤ ${MAX_CHAR_ORDER}`);

const metadataSchema = z.object({
  [KEYS.format]: z.literal(ARTIFACT_FORMAT),
  [KEYS.formatVersion]: z.enum([String(DENSE_FORMAT_VERSION), String(COMPACT_FORMAT_VERSION), String(ARTIFACT_FORMAT_VERSION)]),
  [KEYS.labels]: jsonString(labelsSchema),
  [KEYS.mode]: z.enum(['single', 'multiple']),
  [KEYS.bits]: intString(MIN_BITS, MAX_BITS),
  [KEYS.ngramOrder]: intString(1, 3),
  [KEYS.hashSeed]: intString(0, 0x7fffffff),
  [KEYS.tokenPattern]: z.string().min(1),
  [KEYS.threshold]: z.string().transform(Number).pipe(z.number().gt(0).lt(1)),
  [KEYS.metrics]: jsonString(z.record(z.string(), z.unknown())).optional(),
  // Artifacts from before the limit existed have no entry; they are served with the default.
  [KEYS.maxTextChars]: intString(1, MAX_MAX_TEXT_CHARS).optional(),
  [KEYS.keptBuckets]: intString(0, 2 ** (MAX_BITS + 1)).optional(),
  [KEYS.charNgrams]: charOrders.optional(),
  [KEYS.charMaxChars]: intString(1, MAX_CHAR_PREFIX).optional(),
})
  .refine((m) => m[KEYS.formatVersion] === String(ARTIFACT_FORMAT_VERSION) || (m[KEYS.formatVersion] === String(COMPACT_FORMAT_VERSION)) === (m[KEYS.keptBuckets] !== undefined), {
    message: `"${KEYS.keptBuckets}" is required with format_version ${COMPACT_FORMAT_VERSION} and refused with ${DENSE_FORMAT_VERSION}`,
    path: [KEYS.keptBuckets],
  })
  .refine((m) => [m[KEYS.charNgrams], m[KEYS.charMaxChars]].every((v) => (v !== undefined) === (m[KEYS.formatVersion] === String(ARTIFACT_FORMAT_VERSION))), {
    message: `"${KEYS.charNgrams}" and "${KEYS.charMaxChars}" are required with format_version ${ARTIFACT_FORMAT_VERSION} and refused before it`,
    path: [KEYS.charNgrams],
  });

export interface ArtifactMetadata {
  labels: string[];
  mode: ClassifierMode;
  featurizer: FeaturizerOptions;
  /** multiple choice: probability at which a label is selected */
  threshold: number;
  tokenPattern: string;
  /** characters of a text the model reads (the rest is ignored), the same in training and serving */
  maxTextChars: number;
  metrics?: Record<string, unknown>;
  /** dense (format_version 1) or compact (2) */
  layout: ArtifactLayout;
  /** rows of W and idf: 2^bits (dense) or kept buckets + 1 (compact) */
  rows: number;
  /** caller-provided keys (everything not owned by this module) */
  extra: Record<string, string>;
}

export interface EncodeArtifactInput {
  labels: readonly string[];
  mode: ClassifierMode;
  featurizer: FeaturizerOptions;
  W: Float32Array;
  b: Float32Array;
  /** 2^bits idf table; omitted → all ones */
  idf?: Float32Array;
  threshold?: number;
  /** the limit the training texts were cut to; omitted → DEFAULT_MAX_TEXT_CHARS */
  maxTextChars?: number;
  metrics?: object;
  extra?: Record<string, string>;
  /**
   * 'compact' (default): only the buckets the model uses, unless that would not be smaller (a model that
   * touches most buckets), then dense. 'dense': the format_version 1 file, byte for byte.
   */
  layout?: ArtifactLayout;
}

/** Bytes a kept bucket costs in the file beyond its W / idf row (its int32 id). */
const REMAP_BYTES_PER_BUCKET = 4;

export function encodeArtifact(input: EncodeArtifactInput): Uint8Array {
  for (const key of Object.keys(input.extra ?? {})) {
    if (RESERVED.has(key)) throw new RangeError(`metadata key "${key}" is reserved`);
  }
  const labels = labelsSchema.safeParse(input.labels);
  if (!labels.success) throw new RangeError(`labels must be unique non-empty strings: ${labels.error.issues[0]?.message}`);
  const maxTextChars = input.maxTextChars ?? DEFAULT_MAX_TEXT_CHARS;
  assertMaxTextChars(maxTextChars);
  const C = input.labels.length;
  const columns = featureColumns(input.featurizer);
  const compact = input.layout === 'dense' ? undefined : compactWeights(input.W, input.idf ?? new Float32Array(columns).fill(1), C);
  const K = compact?.buckets.length ?? 0;
  const useCompact = compact !== undefined && weightBytes(K + 1, C) + K * REMAP_BYTES_PER_BUCKET < weightBytes(columns, C);
  const chars = input.featurizer.charNgrams;
  const version = chars ? ARTIFACT_FORMAT_VERSION : useCompact ? COMPACT_FORMAT_VERSION : DENSE_FORMAT_VERSION;
  const metadata: Record<string, string> = {
    [KEYS.format]: ARTIFACT_FORMAT,
    [KEYS.formatVersion]: String(version),
    [KEYS.labels]: JSON.stringify(input.labels),
    [KEYS.mode]: input.mode,
    [KEYS.bits]: String(input.featurizer.bits),
    [KEYS.ngramOrder]: String(input.featurizer.ngramOrder),
    [KEYS.hashSeed]: String(input.featurizer.hashSeed),
    [KEYS.tokenPattern]: TOKEN_PATTERN,
    [KEYS.threshold]: String(input.threshold ?? 0.5),
    [KEYS.maxTextChars]: String(maxTextChars),
    ...(input.metrics ? { [KEYS.metrics]: JSON.stringify(input.metrics) } : {}),
    ...(useCompact ? { [KEYS.keptBuckets]: String(K) } : {}),
    ...(chars ? { [KEYS.charNgrams]: `${chars.min}-${chars.max}`, [KEYS.charMaxChars]: String(chars.maxChars) } : {}),
    ...input.extra,
  };
  return buildTextClassifierGraph({
    ...input.featurizer,
    labels: [...input.labels],
    mode: input.mode,
    weights: useCompact
      ? { W: compact.W, b: input.b, idf: compact.idf }
      : { W: input.W, b: input.b, ...(input.idf ? { idf: input.idf } : {}) },
    ...(useCompact ? { buckets: compact.buckets } : {}),
    metadata,
  });
}

function decodeOrThrow(bytes: Uint8Array): ModelProto {
  if (!(bytes instanceof Uint8Array) || bytes.length === 0) throw new ArtifactError('decode', 'empty or not a byte array');
  try {
    return decodeModel(bytes);
  } catch (error) {
    throw new ArtifactError('decode', `not a decodable ONNX model (corrupt or truncated?): ${(error as Error).message}`, { cause: error });
  }
}

function metadataFromModel(model: ModelProto): ArtifactMetadata {
  const raw: Record<string, string> = {};
  for (const entry of model.metadataProps ?? []) raw[entry.key ?? ''] = entry.value ?? '';
  if (!(KEYS.format in raw)) {
    throw new ArtifactError('metadata', `metadata_props has no "${KEYS.format}" entry (not a text-classifier artifact, or truncated)`);
  }
  const parsed = metadataSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ArtifactError('metadata', problems);
  }
  const m = parsed.data;
  const extra = Object.fromEntries(Object.entries(raw).filter(([key]) => !RESERVED.has(key)));
  const kept = m[KEYS.keptBuckets];
  const orders = m[KEYS.charNgrams];
  const maxChars = m[KEYS.charMaxChars];
  const featurizer: FeaturizerOptions = {
    bits: m[KEYS.bits],
    ngramOrder: m[KEYS.ngramOrder] as NgramOrder,
    hashSeed: m[KEYS.hashSeed],
    ...(orders && maxChars ? { charNgrams: { min: orders[0], max: orders[1], maxChars } } : {}),
  };
  return {
    labels: m[KEYS.labels],
    mode: m[KEYS.mode],
    featurizer,
    threshold: m[KEYS.threshold],
    tokenPattern: m[KEYS.tokenPattern],
    maxTextChars: m[KEYS.maxTextChars] ?? DEFAULT_MAX_TEXT_CHARS,
    ...(m[KEYS.metrics] ? { metrics: m[KEYS.metrics] } : {}),
    layout: kept === undefined ? 'dense' : 'compact',
    rows: kept === undefined ? featureColumns(featurizer) : kept + 1,
    extra,
  };
}

/** Decodes the artifact and returns its validated metadata (no shape checks, no session). */
export function readArtifactMetadata(bytes: Uint8Array): ArtifactMetadata {
  return metadataFromModel(decodeOrThrow(bytes));
}

function structureError(message: string): never {
  throw new ArtifactError('structure', message);
}

function findInitializer(model: ModelProto, name: string): TensorProto {
  const tensor = model.graph?.initializer?.find((t) => t.name === name);
  return tensor ?? structureError(`initializer "${name}" is missing`);
}

function dimsOf(t: TensorProto): number[] {
  return (t.dims ?? []).map(Number);
}

function assertFloatTensor(t: TensorProto, expectedDims: number[]): void {
  const dims = dimsOf(t);
  if (t.dataType !== DataType.FLOAT) structureError(`${t.name} is not a float tensor`);
  if (dims.join(',') !== expectedDims.join(',')) structureError(`${t.name} has shape [${dims}], metadata implies [${expectedDims}]`);
  const bytes = t.rawData?.length ?? 0;
  const floats = t.floatData?.length ?? 0;
  const expected = tensorElementCount(t);
  if (bytes !== expected * 4 && floats !== expected) {
    structureError(`${t.name} holds ${bytes ? bytes / 4 : floats} values, shape [${dims}] needs ${expected}`);
  }
}

function assertStructure(model: ModelProto, meta: ArtifactMetadata): void {
  const graph = model.graph ?? structureError('no graph');
  const opsets = new Map((model.opsetImport ?? []).map((o) => [o.domain ?? '', Number(o.version)]));
  if (opsets.get('') !== OPSET_AI_ONNX) structureError(`ai.onnx opset is ${opsets.get('')}, expected ${OPSET_AI_ONNX}`);
  if (opsets.get(MS_DOMAIN) !== OPSET_MS) structureError(`${MS_DOMAIN} opset is ${opsets.get(MS_DOMAIN)}, expected ${OPSET_MS}`);
  const input = graph.input?.[0];
  if (graph.input?.length !== 1 || input?.name !== NAMES.input || input.type?.tensorType?.elemType !== DataType.STRING) {
    structureError(`expected exactly one string input "${NAMES.input}"`);
  }
  const output = graph.output?.[0];
  const outDims = output?.type?.tensorType?.shape?.dim ?? [];
  const C = meta.labels.length;
  if (graph.output?.length !== 1 || output?.name !== NAMES.output || Number(outDims[1]?.dimValue) !== C) {
    structureError(`expected one output "${NAMES.output}" of shape [N, ${C}]`);
  }
  assertFloatTensor(findInitializer(model, NAMES.W), [meta.rows, C]);
  assertFloatTensor(findInitializer(model, NAMES.b), [C]);
  assertFloatTensor(findInitializer(model, NAMES.idf), [meta.rows]);
  if (meta.layout === 'compact') assertRemap(model, meta);
  const mask = findInitializer(model, 'bucket_mask').int32Data?.[0];
  if (mask !== 2 ** meta.featurizer.bits - 1) structureError(`bucket mask ${mask} does not match bits=${meta.featurizer.bits}`);
  if (meta.featurizer.charNgrams && Number(findInitializer(model, 'char_offset').int64Data?.[0]) !== 2 ** meta.featurizer.bits) {
    structureError(`character block offset does not match bits=${meta.featurizer.bits}`);
  }
  const activation = graph.node?.at(-1)?.opType;
  const expected = meta.mode === 'single' ? 'Softmax' : 'Sigmoid';
  if (activation !== expected) structureError(`mode "${meta.mode}" needs a final ${expected}, graph ends with ${activation}`);
}

/** The compact layout's remap: K strictly increasing bucket ids below 2^bits, table size and row count agreeing. */
function assertRemap(model: ModelProto, meta: ArtifactMetadata): void {
  const K = meta.rows - 1;
  const keptTensor = findInitializer(model, NAMES.kept);
  if (keptTensor.dataType !== DataType.INT32 || dimsOf(keptTensor).join(',') !== String(K)) {
    structureError(`${NAMES.kept} must be int32 [${K}] (kept_buckets in metadata)`);
  }
  const kept = readInt32RawTensor(keptTensor);
  if (kept.length !== K) structureError(`${NAMES.kept} holds ${kept.length} values, needs ${K}`);
  let previous = -1;
  const columns = featureColumns(meta.featurizer);
  for (let k = 0; k < K; k++) {
    if (!(kept[k]! > previous && kept[k]! < columns)) {
      structureError(`${NAMES.kept} must be strictly increasing buckets below ${columns} (entry ${k} is ${kept[k]})`);
    }
    previous = kept[k]!;
  }
  if (Number(findInitializer(model, 'remap_shape').int64Data?.[0]) !== featureColumns(meta.featurizer)) structureError('remap table size does not match bits');
  if (findInitializer(model, 'kept_count').int32Data?.[0] !== K) structureError(`remap row count does not match kept_buckets=${K}`);
}

/** Static validation: decodes, validates metadata, and checks the graph agrees with it. */
export function validateArtifact(bytes: Uint8Array): ArtifactMetadata {
  const model = decodeOrThrow(bytes);
  const meta = metadataFromModel(model);
  assertStructure(model, meta);
  return meta;
}

export interface Prediction {
  /** top label per text */
  labels: string[];
  /** labels with probability ≥ threshold per text (multiple); [top label] (single) */
  selected: string[][];
  /** N × C row-major, columns in `labels` order of the classifier */
  probs: Float32Array;
}

export interface Classifier {
  readonly labels: readonly string[];
  readonly mode: ClassifierMode;
  readonly metadata: ArtifactMetadata;
  /** approximate RSS this classifier holds (tables + session), for cache budgets */
  readonly memoryBytes: number;
  predict(texts: readonly string[]): Promise<Prediction>;
  release(): Promise<void>;
}

export interface LoadOptions {
  /** texts per onnxruntime run; each run blocks the event loop, so keep it bounded */
  maxBatch?: number;
  /** padded characters per run (texts × longest text); a run costs ~60 ns per character */
  maxRunChars?: number;
}

/** 2^18 characters is a ~16 ms run on the 2-core target. */
const DEFAULT_RUN_CHARS = 1 << 18;

const SMOKE_INPUT = ['', 'smoke test: does this model load and score?'];

async function createCheckedSession(bytes: Uint8Array): Promise<ort.InferenceSession> {
  try {
    return await createSession(encodeModel(withRemapTable(decodeModel(bytes))));
  } catch (error) {
    throw new ArtifactError('session', `onnxruntime rejected the model: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * Scores texts in runs bounded by texts and by padded characters. A run blocks the event loop, and
 * onnxruntime starts each run from setImmediate, so I/O (a /health, other predictions) is served between
 * runs: a big request becomes many short runs instead of one that holds the server for seconds. The
 * Tokenizer pads every row to the longest one, so texts are grouped by length; a request that fits one run
 * (the usual small one) runs as is, in its own order.
 */
async function runProbs(session: ort.InferenceSession, texts: readonly string[], classes: number, limits: BatchLimits): Promise<Float32Array> {
  let longest = 0;
  for (const text of texts) longest = Math.max(longest, text.length);
  if (texts.length <= limits.maxRows && texts.length * longest <= limits.maxChars) return runOnce(session, texts);
  const probs = new Float32Array(texts.length * classes);
  const { order, batches } = planBatches(texts, limits);
  for (const [from, to] of batches) {
    const rows = order.subarray(from, to);
    const out = await runOnce(session, Array.from(rows, (row) => texts[row]!));
    for (let k = 0; k < rows.length; k++) probs.set(out.subarray(k * classes, (k + 1) * classes), rows[k]! * classes);
  }
  return probs;
}

async function runOnce(session: ort.InferenceSession, texts: readonly string[]): Promise<Float32Array> {
  const out = await session.run({ [NAMES.input]: new ort.Tensor('string', texts as string[], [texts.length]) });
  const tensor = out[NAMES.output]!;
  // A copy, so the native buffer is released now rather than whenever the GC gets to it.
  const probs = (tensor.data as Float32Array).slice();
  tensor.dispose();
  return probs;
}

function smokeCheck(probs: Float32Array, meta: ArtifactMetadata): void {
  const C = meta.labels.length;
  if (probs.length !== SMOKE_INPUT.length * C) throw new ArtifactError('smoke', `expected ${SMOKE_INPUT.length * C} probabilities, got ${probs.length}`);
  if (!probs.every((p) => Number.isFinite(p) && p >= 0 && p <= 1)) throw new ArtifactError('smoke', 'probabilities are not all finite values in [0, 1]');
  if (meta.mode === 'single') {
    for (let i = 0; i < SMOKE_INPUT.length; i++) {
      const sum = probs.subarray(i * C, (i + 1) * C).reduce((s, p) => s + p, 0);
      if (Math.abs(sum - 1) > 1e-4) throw new ArtifactError('smoke', `softmax row sums to ${sum}`);
    }
  }
}

function decide(probs: Float32Array, meta: ArtifactMetadata): { labels: string[]; selected: string[][] } {
  const C = meta.labels.length;
  const n = probs.length / C;
  const labels: string[] = [];
  const selected: string[][] = [];
  for (let i = 0; i < n; i++) {
    const top = meta.labels[argmaxRow(probs, i, C)]!;
    labels.push(top);
    selected.push(meta.mode === 'single' ? [top] : meta.labels.filter((_, c) => probs[i * C + c]! >= meta.threshold));
  }
  return { labels, selected };
}

/** Validates, creates the onnxruntime session, runs a smoke input, and wraps it for prediction. */
export async function loadClassifier(bytes: Uint8Array, options: LoadOptions = {}): Promise<Classifier> {
  const meta = validateArtifact(bytes);
  const limits: BatchLimits = { maxRows: options.maxBatch ?? 256, maxChars: options.maxRunChars ?? DEFAULT_RUN_CHARS };
  const C = meta.labels.length;
  let session: ort.InferenceSession | undefined = await createCheckedSession(bytes);
  try {
    smokeCheck(await runProbs(session, SMOKE_INPUT, C, limits), meta);
  } catch (error) {
    await session.release();
    if (error instanceof ArtifactError) throw error;
    throw new ArtifactError('smoke', `smoke run failed: ${(error as Error).message}`, { cause: error });
  }
  return {
    labels: meta.labels,
    mode: meta.mode,
    metadata: meta,
    memoryBytes: servedBytes({ columns: featureColumns(meta.featurizer), rows: meta.rows, classes: C, compact: meta.layout === 'compact' }),
    async predict(texts) {
      if (!session) throw new Error('classifier was released');
      for (let i = 0; i < texts.length; i++) if (typeof texts[i] !== 'string') throw new TypeError(`texts[${i}] is not a string`);
      const read = truncateTexts(texts, meta.maxTextChars);
      const probs = texts.length === 0 ? new Float32Array(0) : await runProbs(session, read, C, limits);
      return { ...decide(probs, meta), probs };
    },
    async release() {
      const s = session;
      session = undefined;
      await s?.release();
    },
  };
}
