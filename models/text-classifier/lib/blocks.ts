/**
 * Feature blocks: CSR matrices over the same columns (word n-grams of one order, character n-grams),
 * combined per model-selection candidate without featurizing again.
 *
 * - `mergeBlocks` sums blocks entry by entry (word orders share the word buckets; a unigram and a bigram
 *   hashed to one bucket add up, exactly as the serving graph's Gather-and-sum does).
 * - `weighBlocks` tf-idf weights and L2-normalises each block on its own, then stacks them
 *   (`stackBlocks`: disjoint columns, so a plain row-wise concatenation): what the serving graph
 *   computes when it has a character block (graph.ts).
 * - `keepRows` empties the rows a pass does not need (candidates read their rows and the validation rows).
 */
import type { SparseRows } from './featurizer.js';
import { applyTfidf } from './tfidf.js';

/** Row-wise sum; entries keep their first-occurrence order (block by block), so one block comes back unchanged. */
export function mergeBlocks(blocks: readonly SparseRows[]): SparseRows {
  if (blocks.length === 0) throw new RangeError('no blocks to merge');
  if (blocks.length === 1) return blocks[0]!;
  const { rows, cols } = blocks[0]!;
  for (const b of blocks) if (b.rows !== rows || b.cols !== cols) throw new RangeError('blocks must have the same rows and columns');
  const capacity = blocks.reduce((s, b) => s + b.indptr[rows]!, 0);
  const indices = new Int32Array(capacity);
  const values = new Float32Array(capacity);
  const indptr = new Int32Array(rows + 1);
  // Position of a column in the output; positions only grow, so "≥ row start" means "in this row".
  const slot = new Int32Array(cols).fill(-1);
  let size = 0;
  for (let row = 0; row < rows; row++) {
    const start = size;
    for (const b of blocks) {
      for (let k = b.indptr[row]!, end = b.indptr[row + 1]!; k < end; k++) {
        const col = b.indices[k]!;
        const at = slot[col]!;
        if (at >= start) {
          values[at] = values[at]! + b.values[k]!;
        } else {
          slot[col] = size;
          indices[size] = col;
          values[size++] = b.values[k]!;
        }
      }
    }
    indptr[row + 1] = size;
  }
  return { rows, cols, indptr, indices: indices.slice(0, size), values: values.slice(0, size) };
}

/** The same matrix with every row outside `rows` emptied (row numbers stay), so later passes skip them. */
export function keepRows(x: SparseRows, rows: Int32Array): SparseRows {
  const indptr = new Int32Array(x.rows + 1);
  let size = 0;
  for (const r of rows) size += x.indptr[r + 1]! - x.indptr[r]!;
  const indices = new Int32Array(size);
  const values = new Float32Array(size);
  const keep = new Uint8Array(x.rows);
  for (const r of rows) keep[r] = 1;
  let at = 0;
  for (let r = 0; r < x.rows; r++) {
    if (keep[r]) {
      const from = x.indptr[r]!;
      const to = x.indptr[r + 1]!;
      indices.set(x.indices.subarray(from, to), at);
      values.set(x.values.subarray(from, to), at);
      at += to - from;
    }
    indptr[r + 1] = at;
  }
  return { rows: x.rows, cols: x.cols, indptr, indices, values };
}

/** Same columns, fewer of them: the block with `cols` set (entries must already lie below it). */
export function withColumns(x: SparseRows, cols: number): SparseRows {
  return { ...x, cols };
}

/** Row-wise concatenation of blocks over disjoint columns (no entry can repeat, so no summing). */
export function stackBlocks(blocks: readonly SparseRows[]): SparseRows {
  if (blocks.length === 1) return blocks[0]!;
  const { rows, cols } = blocks[0]!;
  const size = blocks.reduce((s, b) => s + b.indptr[rows]!, 0);
  const indices = new Int32Array(size);
  const values = new Float32Array(size);
  const indptr = new Int32Array(rows + 1);
  let at = 0;
  for (let row = 0; row < rows; row++) {
    for (const b of blocks) {
      const from = b.indptr[row]!;
      const to = b.indptr[row + 1]!;
      indices.set(b.indices.subarray(from, to), at);
      values.set(b.values.subarray(from, to), at);
      at += to - from;
    }
    indptr[row + 1] = at;
  }
  return { rows, cols, indptr, indices, values };
}

/** Each block weighted by `idf` and normalised on its own, then stacked (blocks use disjoint columns). */
export function weighBlocks(blocks: readonly SparseRows[], idf: Float32Array): SparseRows {
  return stackBlocks(blocks.map((b) => applyTfidf(b, idf)));
}
