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
import {
  MAX_BITS,
  MIN_BITS,
  NAMES,
  OPSET_AI_ONNX,
  OPSET_MS,
  TOKEN_PATTERN,
  buildTextClassifierGraph,
  type ClassifierMode,
  type FeaturizerOptions,
  type NgramOrder,
} from './graph.js';
import { argmaxRow } from './metrics.js';
import { DataType, MS_DOMAIN, decodeModel, tensorElementCount, type ModelProto, type TensorProto } from './onnx-builder.js';
import { createSession } from './session.js';

export const ARTIFACT_FORMAT = 'ls-ml-backend.text-classifier';
export const ARTIFACT_FORMAT_VERSION = 1;

export type ArtifactErrorCode = 'decode' | 'metadata' | 'structure' | 'session' | 'smoke';

export class ArtifactError extends Error {
  constructor(
    readonly code: ArtifactErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`invalid text-classifier artifact (${code}): ${message}`, options);
    this.name = 'ArtifactError';
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
} as const;
const RESERVED = new Set<string>(Object.values(KEYS));

const intString = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a decimal integer')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const jsonString = <T extends z.ZodType>(schema: T) =>
  z.string().transform((text, ctx) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'is not valid JSON' });
      return z.NEVER;
    }
  }).pipe(schema);

const labelsSchema = z
  .array(z.string().min(1))
  .min(1)
  .refine((labels) => new Set(labels).size === labels.length, 'labels must be unique');

const metadataSchema = z.object({
  [KEYS.format]: z.literal(ARTIFACT_FORMAT),
  [KEYS.formatVersion]: z.literal(String(ARTIFACT_FORMAT_VERSION)),
  [KEYS.labels]: jsonString(labelsSchema),
  [KEYS.mode]: z.enum(['single', 'multiple']),
  [KEYS.bits]: intString(MIN_BITS, MAX_BITS),
  [KEYS.ngramOrder]: intString(1, 3),
  [KEYS.hashSeed]: intString(0, 0x7fffffff),
  [KEYS.tokenPattern]: z.string().min(1),
  [KEYS.threshold]: z.string().transform(Number).pipe(z.number().gt(0).lt(1)),
  [KEYS.metrics]: jsonString(z.record(z.string(), z.unknown())).optional(),
});

export interface ArtifactMetadata {
  labels: string[];
  mode: ClassifierMode;
  featurizer: FeaturizerOptions;
  /** multiple choice: probability at which a label is selected */
  threshold: number;
  tokenPattern: string;
  metrics?: Record<string, unknown>;
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
  metrics?: object;
  extra?: Record<string, string>;
}

export function encodeArtifact(input: EncodeArtifactInput): Uint8Array {
  for (const key of Object.keys(input.extra ?? {})) {
    if (RESERVED.has(key)) throw new RangeError(`metadata key "${key}" is reserved`);
  }
  const labels = labelsSchema.safeParse(input.labels);
  if (!labels.success) throw new RangeError(`labels must be unique non-empty strings: ${labels.error.issues[0]?.message}`);
  const metadata: Record<string, string> = {
    [KEYS.format]: ARTIFACT_FORMAT,
    [KEYS.formatVersion]: String(ARTIFACT_FORMAT_VERSION),
    [KEYS.labels]: JSON.stringify(input.labels),
    [KEYS.mode]: input.mode,
    [KEYS.bits]: String(input.featurizer.bits),
    [KEYS.ngramOrder]: String(input.featurizer.ngramOrder),
    [KEYS.hashSeed]: String(input.featurizer.hashSeed),
    [KEYS.tokenPattern]: TOKEN_PATTERN,
    [KEYS.threshold]: String(input.threshold ?? 0.5),
    ...(input.metrics ? { [KEYS.metrics]: JSON.stringify(input.metrics) } : {}),
    ...input.extra,
  };
  return buildTextClassifierGraph({
    ...input.featurizer,
    labels: [...input.labels],
    mode: input.mode,
    weights: { W: input.W, b: input.b, ...(input.idf ? { idf: input.idf } : {}) },
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
  return {
    labels: m[KEYS.labels],
    mode: m[KEYS.mode],
    featurizer: { bits: m[KEYS.bits], ngramOrder: m[KEYS.ngramOrder] as NgramOrder, hashSeed: m[KEYS.hashSeed] },
    threshold: m[KEYS.threshold],
    tokenPattern: m[KEYS.tokenPattern],
    ...(m[KEYS.metrics] ? { metrics: m[KEYS.metrics] } : {}),
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
  assertFloatTensor(findInitializer(model, NAMES.W), [2 ** meta.featurizer.bits, C]);
  assertFloatTensor(findInitializer(model, NAMES.b), [C]);
  assertFloatTensor(findInitializer(model, NAMES.idf), [2 ** meta.featurizer.bits]);
  const mask = findInitializer(model, 'bucket_mask').int32Data?.[0];
  if (mask !== 2 ** meta.featurizer.bits - 1) structureError(`bucket mask ${mask} does not match bits=${meta.featurizer.bits}`);
  const activation = graph.node?.at(-1)?.opType;
  const expected = meta.mode === 'single' ? 'Softmax' : 'Sigmoid';
  if (activation !== expected) structureError(`mode "${meta.mode}" needs a final ${expected}, graph ends with ${activation}`);
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
  predict(texts: readonly string[]): Promise<Prediction>;
  release(): Promise<void>;
}

export interface LoadOptions {
  /** texts per onnxruntime run; each run blocks the event loop, so keep it bounded */
  maxBatch?: number;
}

const SMOKE_INPUT = ['', 'smoke test: does this model load and score?'];

async function createCheckedSession(bytes: Uint8Array): Promise<ort.InferenceSession> {
  try {
    return await createSession(bytes);
  } catch (error) {
    throw new ArtifactError('session', `onnxruntime rejected the model: ${(error as Error).message}`, { cause: error });
  }
}

async function runProbs(session: ort.InferenceSession, texts: readonly string[], classes: number, maxBatch: number): Promise<Float32Array> {
  const probs = new Float32Array(texts.length * classes);
  for (let from = 0; from < texts.length; from += maxBatch) {
    const batch = texts.slice(from, from + maxBatch) as string[];
    const out = await session.run({ [NAMES.input]: new ort.Tensor('string', batch, [batch.length]) });
    const tensor = out[NAMES.output]!;
    probs.set(tensor.data as Float32Array, from * classes);
    tensor.dispose();
  }
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
  const maxBatch = options.maxBatch ?? 256;
  const C = meta.labels.length;
  let session: ort.InferenceSession | undefined = await createCheckedSession(bytes);
  try {
    smokeCheck(await runProbs(session, SMOKE_INPUT, C, maxBatch), meta);
  } catch (error) {
    await session.release();
    if (error instanceof ArtifactError) throw error;
    throw new ArtifactError('smoke', `smoke run failed: ${(error as Error).message}`, { cause: error });
  }
  return {
    labels: meta.labels,
    mode: meta.mode,
    metadata: meta,
    async predict(texts) {
      if (!session) throw new Error('classifier was released');
      for (let i = 0; i < texts.length; i++) if (typeof texts[i] !== 'string') throw new TypeError(`texts[${i}] is not a string`);
      const probs = texts.length === 0 ? new Float32Array(0) : await runProbs(session, texts, C, maxBatch);
      return { ...decide(probs, meta), probs };
    },
    async release() {
      const s = session;
      session = undefined;
      await s?.release();
    },
  };
}
