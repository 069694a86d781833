/**
 * Serving: texts → tokens → feature rows (TypeScript) → tag scores (onnxruntime) → Viterbi → spans.
 *
 * Token rows are independent, so a predict call packs the tokens of all its texts into runs of at most
 * `maxRunTokens` rows (a long text spans several runs, several short texts share one). Each run blocks the
 * event loop briefly and onnxruntime starts every run from setImmediate, so other requests are served in
 * between. The Gather's [T, F, K] intermediate bounds a run's memory: 4,096 tokens × 27 × 5 floats ≈ 2.2 MB.
 */
import * as ort from 'onnxruntime-node';
import { encodeModel } from '../../shared/onnx-builder.js';
import { SESSION_OVERHEAD_BYTES, createSession } from '../../shared/session.js';
import { ArtifactError, validateArtifact, type ArtifactMetadata } from './artifact.js';
import { Decoder, spanScore, tagMarginals, type Transitions } from './decode.js';
import { encodeText, type EncodedText } from './encode.js';
import { NAMES } from './graph.js';
import { allowedTransitions, tagCount, tagsToSpans } from './tags.js';

export interface PredictedSpan {
  start: number;
  end: number;
  label: string;
  /** mean over the span's tokens of the decoded tag's probability (forward-backward over the tag scores), in [0, 1] */
  score: number;
}

export interface SpanTagger {
  readonly labels: readonly string[];
  readonly metadata: ArtifactMetadata;
  /** approximate RSS this tagger holds (weights, bucket table, session), for cache budgets */
  readonly memoryBytes: number;
  /** one list per text, in text order; spans in text order */
  predict(texts: readonly string[]): Promise<PredictedSpan[][]>;
  release(): Promise<void>;
}

export interface LoadOptions {
  /** token rows per onnxruntime run */
  maxRunTokens?: number;
}

export const DEFAULT_RUN_TOKENS = 4096;

/** The tagger plus what training's export check needs: raw scores per text. */
export interface ScoringTagger extends SpanTagger {
  /** per text, [tokens, K] tag scores, as the ONNX model computes them */
  score(texts: readonly EncodedText[]): Promise<Float32Array[]>;
  encode(text: string): EncodedText;
}

/** bucket → row of W; every bucket not kept reads the last (zero) row. 2 bytes a bucket while rows fit. */
function bucketTable(kept: Int32Array, bits: number): Uint16Array | Int32Array {
  const size = 2 ** bits;
  const table = kept.length + 1 <= 0x10000 ? new Uint16Array(size) : new Int32Array(size);
  table.fill(kept.length);
  for (let r = 0; r < kept.length; r++) table[kept[r]!] = r;
  return table;
}

async function createCheckedSession(validated: ReturnType<typeof validateArtifact>): Promise<ort.InferenceSession> {
  const { model } = validated;
  // The graph does not read the kept buckets (the table above replaces them): no need to hold them twice.
  model.graph!.initializer = model.graph!.initializer!.filter((t) => t.name !== NAMES.kept);
  try {
    return await createSession(encodeModel(model));
  } catch (error) {
    throw new ArtifactError('session', `onnxruntime rejected the model: ${(error as Error).message}`, { cause: error });
  }
}

/** Scores packed token rows in bounded runs and hands each text its own slice. */
async function scoreTexts(
  session: ort.InferenceSession,
  texts: readonly EncodedText[],
  table: Uint16Array | Int32Array,
  F: number,
  K: number,
  maxRunTokens: number,
): Promise<Float32Array[]> {
  const out = texts.map((t) => new Float32Array(t.tokens.count * K));
  const rows = new Int32Array(maxRunTokens * F);
  /** pieces of texts in the current run: [text, first token, tokens, row in the run] */
  let pieces: [number, number, number, number][] = [];
  let filled = 0;
  const flush = async () => {
    if (filled === 0) return;
    const input = new ort.Tensor('int32', rows.subarray(0, filled * F), [filled, F]);
    const result = await session.run({ [NAMES.input]: input });
    const scores = result[NAMES.output]!;
    const data = scores.data as Float32Array;
    for (const [text, first, count, row] of pieces) out[text]!.set(data.subarray(row * K, (row + count) * K), first * K);
    scores.dispose();
    pieces = [];
    filled = 0;
  };
  for (let i = 0; i < texts.length; i++) {
    const { feats, tokens } = texts[i]!;
    let first = 0;
    while (first < tokens.count) {
      const count = Math.min(tokens.count - first, maxRunTokens - filled);
      for (let j = first * F, to = filled * F, end = (first + count) * F; j < end; j++, to++) rows[to] = table[feats[j]!]!;
      pieces.push([i, first, count, filled]);
      filled += count;
      first += count;
      if (filled === maxRunTokens) await flush();
    }
  }
  await flush();
  return out;
}

function decodeSpans(text: EncodedText, scores: Float32Array, decoder: Decoder, transitions: Transitions, labels: readonly string[]): PredictedSpan[] {
  const { tokens } = text;
  const tags = new Uint8Array(tokens.count);
  decoder.decode(scores, 0, tokens.count, tags);
  const spans = tagsToSpans(tags);
  if (spans.length === 0) return [];
  const K = decoder.K;
  const marginals = new Float64Array(tokens.count * K);
  tagMarginals(scores, 0, tokens.count, K, transitions, marginals);
  return spans.map((s) => ({
    start: tokens.starts[s.first]!,
    end: tokens.ends[s.last - 1]!,
    label: labels[s.label]!,
    score: spanScore(marginals, K, tags, s.first, s.last),
  }));
}

function smokeCheck(scores: Float32Array[], K: number): void {
  const row = scores[0];
  if (row?.length !== K) throw new ArtifactError('smoke', `expected ${K} scores for one token, got ${row?.length}`);
  if (!row.every(Number.isFinite)) throw new ArtifactError('smoke', 'scores are not all finite');
}

/** Validates, creates the onnxruntime session, runs a smoke input, and wraps it for prediction. */
export async function loadSpanTagger(bytes: Uint8Array, options: LoadOptions = {}): Promise<ScoringTagger> {
  const validated = validateArtifact(bytes);
  const { meta, kept } = validated;
  const maxRunTokens = options.maxRunTokens ?? DEFAULT_RUN_TOKENS;
  if (!Number.isInteger(maxRunTokens) || maxRunTokens < 1) throw new RangeError(`maxRunTokens must be a positive integer, got ${maxRunTokens}`);
  const K = tagCount(meta.labels.length);
  const F = meta.features.templates.length;
  const table = bucketTable(kept, meta.features.bits);
  const transitions = { scores: meta.transitions, allowed: allowedTransitions(meta.labels.length) };
  const decoder = new Decoder(K, transitions);
  const encode = (text: string) => encodeText(text, meta.features, meta.maxTextChars);
  let session: ort.InferenceSession | undefined = await createCheckedSession(validated);
  try {
    smokeCheck(await scoreTexts(session, [encode('Smoke')], table, F, K, maxRunTokens), K);
  } catch (error) {
    await session.release();
    if (error instanceof ArtifactError) throw error;
    throw new ArtifactError('smoke', `smoke run failed: ${(error as Error).message}`, { cause: error });
  }
  const score = (texts: readonly EncodedText[]) => {
    if (!session) throw new Error('span tagger was released');
    return scoreTexts(session, texts, table, F, K, maxRunTokens);
  };
  return {
    labels: meta.labels,
    metadata: meta,
    memoryBytes: table.byteLength + meta.rows * K * 4 + maxRunTokens * F * (4 + 4 * K) + SESSION_OVERHEAD_BYTES,
    encode,
    score,
    async predict(texts) {
      for (let i = 0; i < texts.length; i++) if (typeof texts[i] !== 'string') throw new TypeError(`texts[${i}] is not a string`);
      const encoded = texts.map(encode);
      const scores = await score(encoded);
      return encoded.map((text, i) => decodeSpans(text, scores[i]!, decoder, transitions, meta.labels));
    },
    async release() {
      const s = session;
      session = undefined;
      await s?.release();
    },
  };
}
