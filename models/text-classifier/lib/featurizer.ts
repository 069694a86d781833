/**
 * Runs the featurizer-only ONNX graph (see graph.ts) over texts and returns a CSR matrix.
 *
 * Using onnxruntime for training-time features makes lowercasing, tokenising and hashing
 * identical to serving by construction. The serving graph Gathers every n-gram slot, so an
 * n-gram that occurs k times adds k times: summing duplicate buckets within a row (done here)
 * gives the same effective feature vector. Zero weights mark padding and are dropped.
 */
import * as ort from 'onnxruntime-node';
import { mergeBlocks } from './blocks.js';
import { NAMES, buildFeaturizerGraph, featureColumns, featurizerOutputs, resolveFeaturizerOptions, type FeaturizerGraphOptions, type FeaturizerOptions } from './graph.js';
import { createSession } from '../../shared/session.js';
import { DEFAULT_MAX_TEXT_CHARS, assertMaxTextChars, truncateTexts } from '../../shared/text-limit.js';

/** Compressed sparse rows; row i is indices/values[indptr[i] .. indptr[i+1]). Indices are unique per row. */
export interface SparseRows {
  rows: number;
  cols: number;
  indptr: Int32Array;
  indices: Int32Array;
  values: Float32Array;
}

export interface FeaturizeProgress {
  done: number;
  total: number;
}

/**
 * Raw counts by block: `word[k]` holds the (k+1)-grams, `char` the character n-grams (columns from 2^bits
 * on). Every block spans all the feature columns, so blocks can be summed (`mergeBlocks`) or stacked.
 */
export interface FeatureBlocks {
  word: SparseRows[];
  char?: SparseRows;
}

export interface Featurizer {
  readonly options: FeaturizerOptions;
  /** texts are cut to this many characters first, as the classifier trained on them does (text-limit.ts) */
  readonly maxTextChars: number;
  /** all blocks summed into one CSR (with `idf`: the serving graph's own tf-idf weights) */
  featurize(texts: readonly string[], onProgress?: (p: FeaturizeProgress) => void): Promise<SparseRows>;
  /** raw counts per block (a featurizer built without `idf` only) */
  featurizeBlocks(texts: readonly string[], onProgress?: (p: FeaturizeProgress) => void): Promise<FeatureBlocks>;
  release(): Promise<void>;
}

/**
 * Batches are bounded by rows and by characters: the Tokenizer pads every row to the longest one,
 * so texts are sorted by length first and a batch of long texts holds fewer rows.
 */
export interface BatchLimits {
  maxRows: number;
  maxChars: number;
}
export const DEFAULT_BATCH_LIMITS: BatchLimits = { maxRows: 1024, maxChars: 1 << 18 };

/**
 * Without `idf` the values are n-gram counts (what the trainer needs); with it they are the
 * serving graph's own tf-idf weights (for parity checks and inspection).
 */
export async function createFeaturizer(
  options: FeaturizerGraphOptions & { maxTextChars?: number } = {},
  limits: BatchLimits = DEFAULT_BATCH_LIMITS,
): Promise<Featurizer> {
  const resolved = resolveFeaturizerOptions(options);
  const maxTextChars = options.maxTextChars ?? DEFAULT_MAX_TEXT_CHARS;
  assertMaxTextChars(maxTextChars);
  const weighting = options.idf ? 'tfidf' : 'counts';
  const outputs = featurizerOutputs(resolved, weighting);
  const session = await createSession(buildFeaturizerGraph({ ...resolved, idf: options.idf }));
  const run = (texts: readonly string[], onProgress?: (p: FeaturizeProgress) => void) => {
    assertTexts(texts);
    return featurizeWithSession(session, outputs, featureColumns(resolved), truncateTexts(texts, maxTextChars), limits, onProgress);
  };
  return {
    options: resolved,
    maxTextChars,
    featurize: async (texts, onProgress) => mergeBlocks(await run(texts, onProgress)),
    featurizeBlocks: async (texts, onProgress) => {
      if (weighting !== 'counts') throw new Error('featurizeBlocks needs a featurizer of raw counts (built without idf)');
      const blocks = await run(texts, onProgress);
      const char = resolved.charNgrams ? blocks.pop() : undefined;
      return { word: blocks, ...(char ? { char } : {}) };
    },
    release: () => session.release(),
  };
}

/** One-shot convenience: create, featurize, release. */
export async function featurizeTexts(texts: readonly string[], options: FeaturizerGraphOptions & { maxTextChars?: number } = {}): Promise<SparseRows> {
  const featurizer = await createFeaturizer(options);
  try {
    return await featurizer.featurize(texts);
  } finally {
    await featurizer.release();
  }
}

function assertTexts(texts: readonly unknown[]): asserts texts is readonly string[] {
  for (let i = 0; i < texts.length; i++) {
    if (typeof texts[i] !== 'string') throw new TypeError(`texts[${i}] is not a string`);
  }
}

/** Row order that groups texts of similar length, and the batches over that order. */
export function planBatches(texts: readonly string[], limits: BatchLimits): { order: Int32Array; batches: [number, number][] } {
  const order = Int32Array.from(texts.keys()).sort((a, b) => texts[b]!.length - texts[a]!.length || a - b);
  const batches: [number, number][] = [];
  let start = 0;
  while (start < order.length) {
    // Longest first, so the first row of a batch bounds its padded width.
    const widest = Math.max(1, texts[order[start]!]!.length);
    const rowsByChars = Math.max(1, Math.floor(limits.maxChars / widest));
    const end = Math.min(order.length, start + Math.min(limits.maxRows, rowsByChars));
    batches.push([start, end]);
    start = end;
  }
  return { order, batches };
}

/** Growable output for rows written in processing order. */
class RowWriter {
  indices = new Int32Array(1 << 16);
  values = new Float32Array(1 << 16);
  size = 0;

  reserve(extra: number): void {
    if (this.size + extra <= this.indices.length) return;
    let capacity = this.indices.length;
    while (capacity < this.size + extra) capacity *= 2;
    const indices = new Int32Array(capacity);
    indices.set(this.indices.subarray(0, this.size));
    const values = new Float32Array(capacity);
    values.set(this.values.subarray(0, this.size));
    this.indices = indices;
    this.values = values;
  }
}

/** One CSR per output pair of the graph, rows in the original order. */
async function featurizeWithSession(
  session: ort.InferenceSession,
  outputs: readonly { indices: string; weights: string }[],
  cols: number,
  texts: readonly string[],
  limits: BatchLimits,
  onProgress?: (p: FeaturizeProgress) => void,
): Promise<SparseRows[]> {
  const n = texts.length;
  const { order, batches } = planBatches(texts, limits);
  const blocks = outputs.map(() => ({ writer: new RowWriter(), rowStart: new Int32Array(n), rowLength: new Int32Array(n) }));
  // lastSlot[bucket] = output position of that bucket in the current row, or an older (smaller) one.
  // Positions only grow, so "≥ start of this row" means "already seen in this row": no reset needed.
  // Each block writes its own positions, so each needs its own table.
  const lastSlots = outputs.map(() => new Int32Array(cols).fill(-1));
  let done = 0;
  for (const [from, to] of batches) {
    const batchTexts = Array.from(order.subarray(from, to), (row) => texts[row]!);
    const out = await session.run({ [NAMES.input]: new ort.Tensor('string', batchTexts, [batchTexts.length]) });
    outputs.forEach((names, b) => {
      const { writer, rowStart, rowLength } = blocks[b]!;
      const indices = out[names.indices]!.data as Int32Array;
      const weights = out[names.weights]!.data as Float32Array;
      const width = batchTexts.length === 0 ? 0 : indices.length / batchTexts.length;
      writer.reserve(indices.length);
      for (let k = 0; k < batchTexts.length; k++) {
        const row = order[from + k]!;
        const start = writer.size;
        rowStart[row] = start;
        appendRowSummingDuplicates(writer, lastSlots[b]!, indices, weights, k * width, (k + 1) * width, start);
        rowLength[row] = writer.size - start;
      }
      out[names.indices]!.dispose();
      out[names.weights]!.dispose();
    });
    done += batchTexts.length;
    onProgress?.({ done, total: n });
  }
  return blocks.map(({ writer, rowStart, rowLength }) => toOriginalOrder(writer, rowStart, rowLength, cols));
}

function appendRowSummingDuplicates(
  writer: RowWriter,
  lastSlot: Int32Array,
  indices: Int32Array,
  weights: Float32Array,
  from: number,
  to: number,
  rowStartPosition: number,
): void {
  const outIndices = writer.indices;
  const outValues = writer.values;
  let size = writer.size;
  for (let p = from; p < to; p++) {
    const w = weights[p]!;
    if (w === 0) continue; // padding
    const bucket = indices[p]!;
    const slot = lastSlot[bucket]!;
    if (slot >= rowStartPosition) {
      outValues[slot] = outValues[slot]! + w;
    } else {
      lastSlot[bucket] = size;
      outIndices[size] = bucket;
      outValues[size] = w;
      size++;
    }
  }
  writer.size = size;
}

function toOriginalOrder(writer: RowWriter, rowStart: Int32Array, rowLength: Int32Array, cols: number): SparseRows {
  const n = rowStart.length;
  const indptr = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) indptr[i + 1] = indptr[i]! + rowLength[i]!;
  const indices = new Int32Array(indptr[n]!);
  const values = new Float32Array(indptr[n]!);
  for (let i = 0; i < n; i++) {
    const from = rowStart[i]!;
    const to = from + rowLength[i]!;
    indices.set(writer.indices.subarray(from, to), indptr[i]!);
    values.set(writer.values.subarray(from, to), indptr[i]!);
  }
  return { rows: n, cols, indptr, indices, values };
}
