/**
 * The span tagger artifact: one ONNX file (graph.ts) whose `metadata_props` carry everything the
 * TypeScript half needs to featurize and decode exactly as training did: labels, tag scheme, tokenizer,
 * feature templates, bits and hash seed, the transition scores, the text limit and the training metrics.
 *
 * `validateArtifact` is static and cheap (decode, metadata schema, tensor shapes agree with the metadata);
 * `loadSpanTagger` (tagger.ts) then creates the onnxruntime session and runs a smoke input.
 */
import { z } from 'zod';
import { ModelArtifactError, intString, jsonString, labelsSchema, type ArtifactErrorCode } from '../../shared/artifact-metadata.js';
import {
  DataType,
  decodeModel,
  readInt32RawTensor,
  tensorElementCount,
  type ModelProto,
  type TensorProto,
} from '../../shared/onnx-builder.js';
import { DEFAULT_MAX_TEXT_CHARS, MAX_MAX_TEXT_CHARS, assertMaxTextChars } from '../../shared/text-limit.js';
import { parseTemplates, type FeatureConfig } from './features.js';
import { NAMES, OPSET_AI_ONNX, buildSpanTaggerGraph } from './graph.js';
import { TAG_SCHEME, tagCount } from './tags.js';

export const ARTIFACT_FORMAT = 'ls-ml-backend.span-tagger';
export const ARTIFACT_FORMAT_VERSION = 1;
/** Names the tokenizer (tokenizer.ts); a change to its rules must change this, or old models would read new tokens. */
export const TOKENIZER = 'words-numbers-marks-cjk-v1';
/** How a span's score is computed (decode.ts). */
export const SPAN_SCORE = 'mean-token-marginal';
export const MIN_BITS = 8;
export const MAX_BITS = 22;

export type { ArtifactErrorCode };

export class ArtifactError extends ModelArtifactError {
  constructor(code: ArtifactErrorCode, message: string, options?: { cause?: unknown }) {
    super('span-tagger', code, message, options);
  }
}

/** Keys this module owns in metadata_props; callers add their own keys next to them. */
const KEYS = {
  format: 'format',
  formatVersion: 'format_version',
  labels: 'labels',
  tagScheme: 'tag_scheme',
  tokenizer: 'tokenizer',
  templates: 'feature_templates',
  bits: 'bits',
  hashSeed: 'hash_seed',
  keptFeatures: 'kept_features',
  transitions: 'transitions',
  spanScore: 'span_score',
  maxTextChars: 'max_text_chars',
  metrics: 'metrics',
} as const;
const RESERVED = new Set<string>(Object.values(KEYS));




const metadataSchema = z.object({
  [KEYS.format]: z.literal(ARTIFACT_FORMAT),
  [KEYS.formatVersion]: z.literal(String(ARTIFACT_FORMAT_VERSION)),
  [KEYS.labels]: jsonString(labelsSchema),
  [KEYS.tagScheme]: z.literal(TAG_SCHEME),
  [KEYS.tokenizer]: z.literal(TOKENIZER),
  [KEYS.templates]: jsonString(z.array(z.string()).min(1)),
  [KEYS.bits]: intString(MIN_BITS, MAX_BITS),
  [KEYS.hashSeed]: intString(0, 0x7fffffff),
  [KEYS.keptFeatures]: intString(0, 2 ** MAX_BITS),
  [KEYS.transitions]: jsonString(z.array(z.number())),
  [KEYS.spanScore]: z.literal(SPAN_SCORE),
  [KEYS.maxTextChars]: intString(1, MAX_MAX_TEXT_CHARS),
  [KEYS.metrics]: jsonString(z.record(z.string(), z.unknown())).optional(),
});

export interface ArtifactMetadata {
  labels: string[];
  features: FeatureConfig;
  /** (K + 1) × K transition scores, see decode.ts */
  transitions: Float64Array;
  /** rows of W: kept features + 1 */
  rows: number;
  /** characters of a text the model reads, the same in training and serving */
  maxTextChars: number;
  metrics?: Record<string, unknown>;
  /** caller-provided keys (everything not owned by this module) */
  extra: Record<string, string>;
}

export interface EncodeArtifactInput {
  labels: readonly string[];
  templates: readonly string[];
  bits: number;
  hashSeed: number;
  /** 2^bits × K averaged weights; only rows with a non-zero weight are written */
  W: Float32Array;
  /** (K + 1) × K */
  transitions: Float64Array;
  maxTextChars?: number;
  metrics?: object;
  extra?: Record<string, string>;
}

function rowIsZero(W: Float32Array, row: number, K: number): boolean {
  for (let i = row * K, end = i + K; i < end; i++) if (W[i] !== 0) return false;
  return true;
}

/** The rows with a non-zero weight, their bucket ids, and a zero row for every other bucket. */
export function compactRows(W: Float32Array, K: number): { kept: Int32Array; W: Float32Array } {
  const buckets = W.length / K;
  const ids = new Int32Array(buckets);
  let count = 0;
  for (let j = 0; j < buckets; j++) if (!rowIsZero(W, j, K)) ids[count++] = j;
  const kept = ids.slice(0, count);
  const out = new Float32Array((count + 1) * K);
  for (let r = 0; r < count; r++) out.set(W.subarray(kept[r]! * K, (kept[r]! + 1) * K), r * K);
  return { kept, W: out };
}

export function encodeArtifact(input: EncodeArtifactInput): Uint8Array {
  for (const key of Object.keys(input.extra ?? {})) {
    if (RESERVED.has(key)) throw new RangeError(`metadata key "${key}" is reserved`);
  }
  const labels = labelsSchema.safeParse(input.labels);
  if (!labels.success) throw new RangeError(`labels must be unique non-empty strings: ${labels.error.issues[0]?.message}`);
  parseTemplates(input.templates);
  const maxTextChars = input.maxTextChars ?? DEFAULT_MAX_TEXT_CHARS;
  assertMaxTextChars(maxTextChars);
  const K = tagCount(input.labels.length);
  if (input.W.length !== 2 ** input.bits * K) throw new RangeError(`W must have 2^${input.bits} × ${K} values, got ${input.W.length}`);
  if (input.transitions.length !== (K + 1) * K) throw new RangeError(`transitions must have ${(K + 1) * K} values`);
  const compact = compactRows(input.W, K);
  const metadata: Record<string, string> = {
    [KEYS.format]: ARTIFACT_FORMAT,
    [KEYS.formatVersion]: String(ARTIFACT_FORMAT_VERSION),
    [KEYS.labels]: JSON.stringify(input.labels),
    [KEYS.tagScheme]: TAG_SCHEME,
    [KEYS.tokenizer]: TOKENIZER,
    [KEYS.templates]: JSON.stringify(input.templates),
    [KEYS.bits]: String(input.bits),
    [KEYS.hashSeed]: String(input.hashSeed),
    [KEYS.keptFeatures]: String(compact.kept.length),
    // float32 values, so the JSON is short and serving reads exactly what it wrote
    [KEYS.transitions]: JSON.stringify(Array.from(Float32Array.from(input.transitions))),
    [KEYS.spanScore]: SPAN_SCORE,
    [KEYS.maxTextChars]: String(maxTextChars),
    ...(input.metrics ? { [KEYS.metrics]: JSON.stringify(input.metrics) } : {}),
    ...input.extra,
  };
  return buildSpanTaggerGraph({
    features: input.templates.length,
    tags: K,
    W: compact.W,
    kept: compact.kept,
    metadata,
    docString: `Hashed-feature linear BIO span tagger (${input.labels.length} labels, 2^${input.bits} buckets, ${compact.kept.length} kept)`,
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
  const props: Record<string, string> = {};
  for (const p of model.metadataProps ?? []) if (p.key) props[p.key] = p.value ?? '';
  if (props[KEYS.format] !== ARTIFACT_FORMAT) {
    throw new ArtifactError('metadata', `format is ${JSON.stringify(props[KEYS.format])}, expected "${ARTIFACT_FORMAT}"`);
  }
  const parsed = metadataSchema.safeParse(props);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ArtifactError('metadata', `"${issue.path.join('.')}" ${issue.message}`);
  }
  const m = parsed.data;
  let templates;
  try {
    templates = parseTemplates(m[KEYS.templates]);
  } catch (error) {
    throw new ArtifactError('metadata', (error as Error).message);
  }
  const K = tagCount(m[KEYS.labels].length);
  const transitions = Float64Array.from(m[KEYS.transitions]);
  if (transitions.length !== (K + 1) * K) throw new ArtifactError('metadata', `"transitions" holds ${transitions.length} values, ${K} tags need ${(K + 1) * K}`);
  const extra = Object.fromEntries(Object.entries(props).filter(([key]) => !RESERVED.has(key)));
  return {
    labels: m[KEYS.labels],
    features: { templates, bits: m[KEYS.bits], hashSeed: m[KEYS.hashSeed] },
    transitions,
    rows: m[KEYS.keptFeatures] + 1,
    maxTextChars: m[KEYS.maxTextChars],
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
  return model.graph?.initializer?.find((t) => t.name === name) ?? structureError(`initializer "${name}" is missing`);
}

const dimsOf = (t: TensorProto) => (t.dims ?? []).map(Number);

function assertWeights(model: ModelProto, meta: ArtifactMetadata): void {
  const K = tagCount(meta.labels.length);
  const W = findInitializer(model, NAMES.W);
  const dims = dimsOf(W);
  if (W.dataType !== DataType.FLOAT || dims.join(',') !== `${meta.rows},${K}`) {
    structureError(`${NAMES.W} must be float [${meta.rows}, ${K}] (kept_features + 1, tags), is [${dims}]`);
  }
  const values = W.rawData?.length ? W.rawData.length / 4 : (W.floatData?.length ?? 0);
  if (values !== tensorElementCount(W)) structureError(`${NAMES.W} holds ${values} values, shape [${dims}] needs ${tensorElementCount(W)}`);
}

/** Reads and checks the kept buckets: K strictly increasing ids below 2^bits. */
function readKept(model: ModelProto, meta: ArtifactMetadata): Int32Array {
  const tensor = findInitializer(model, NAMES.kept);
  const K = meta.rows - 1;
  if (tensor.dataType !== DataType.INT32 || dimsOf(tensor).join(',') !== String(K)) structureError(`${NAMES.kept} must be int32 [${K}]`);
  const kept = readInt32RawTensor(tensor);
  if (kept.length !== K) structureError(`${NAMES.kept} holds ${kept.length} values, needs ${K}`);
  const buckets = 2 ** meta.features.bits;
  for (let k = 0; k < K; k++) {
    if (!(kept[k]! < buckets && kept[k]! > (k === 0 ? -1 : kept[k - 1]!))) {
      structureError(`${NAMES.kept} must be strictly increasing buckets below 2^${meta.features.bits} (entry ${k} is ${kept[k]})`);
    }
  }
  return kept;
}

function assertStructure(model: ModelProto, meta: ArtifactMetadata): void {
  const graph = model.graph ?? structureError('no graph');
  const opset = (model.opsetImport ?? []).find((o) => (o.domain ?? '') === '');
  if (Number(opset?.version) !== OPSET_AI_ONNX) structureError(`ai.onnx opset is ${opset?.version}, expected ${OPSET_AI_ONNX}`);
  const input = graph.input?.[0];
  const inDims = input?.type?.tensorType?.shape?.dim ?? [];
  const F = meta.features.templates.length;
  if (graph.input?.length !== 1 || input?.name !== NAMES.input || input.type?.tensorType?.elemType !== DataType.INT32 || Number(inDims[1]?.dimValue) !== F) {
    structureError(`expected one int32 input "${NAMES.input}" of shape [T, ${F}] (one column per feature template)`);
  }
  const output = graph.output?.[0];
  const outDims = output?.type?.tensorType?.shape?.dim ?? [];
  const K = tagCount(meta.labels.length);
  if (graph.output?.length !== 1 || output?.name !== NAMES.output || Number(outDims[1]?.dimValue) !== K) {
    structureError(`expected one output "${NAMES.output}" of shape [T, ${K}] (tags)`);
  }
  const ops = (graph.node ?? []).map((n) => n.opType).join(',');
  if (ops !== 'Gather,ReduceSum') structureError(`expected the nodes Gather, ReduceSum, found ${ops || 'none'}`);
  assertWeights(model, meta);
}

export interface ValidatedArtifact {
  meta: ArtifactMetadata;
  /** the kept buckets, strictly increasing */
  kept: Int32Array;
  /** the decoded model, for the session */
  model: ModelProto;
}

/** Static validation: decodes, validates metadata, and checks the graph agrees with it. */
export function validateArtifact(bytes: Uint8Array): ValidatedArtifact {
  const model = decodeOrThrow(bytes);
  const meta = metadataFromModel(model);
  assertStructure(model, meta);
  return { meta, kept: readKept(model, meta), model };
}
