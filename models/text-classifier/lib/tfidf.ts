/**
 * TF-IDF over hashed buckets, computed on CSR count rows.
 *
 * `applyTfidf` must produce exactly what the serving graph computes per text (graph.ts,
 * weighting 'tfidf'): w_bucket = count · idf / sqrt(max(Σ count · idf², ε)). The parity tests
 * compare the two on real onnxruntime output.
 */
import type { SparseRows } from './featurizer.js';
import { NORM_EPSILON } from './graph.js';

/**
 * Smooth idf as in scikit-learn, ln((1 + n) / (1 + df)) + 1, over the given rows. Buckets that
 * never occur get 0: at serving time unseen n-grams then neither score nor dilute the norm,
 * which is what a TfidfVectorizer does with out-of-vocabulary words.
 */
export function computeIdf(counts: SparseRows, rows: ArrayLike<number>): Float32Array {
  const df = new Float64Array(counts.cols);
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    // Indices are unique within a row (featurizer.ts sums duplicates), so +1 per entry is df.
    for (let k = counts.indptr[row]!, end = counts.indptr[row + 1]!; k < end; k++) df[counts.indices[k]!]!++;
  }
  const idf = new Float32Array(counts.cols);
  const n = rows.length;
  for (let j = 0; j < idf.length; j++) {
    if (df[j]! > 0) idf[j] = Math.log((1 + n) / (1 + df[j]!)) + 1;
  }
  return idf;
}

/** Same matrix structure, values replaced by L2-normalised tf-idf weights. */
export function applyTfidf(counts: SparseRows, idf: Float32Array): SparseRows {
  const { indptr, indices, values: count } = counts;
  const values = new Float32Array(count.length);
  for (let row = 0; row < counts.rows; row++) {
    const from = indptr[row]!;
    const to = indptr[row + 1]!;
    let sumSquares = 0;
    for (let k = from; k < to; k++) {
      const w = idf[indices[k]!]!;
      sumSquares += count[k]! * w * w; // one term per occurrence, as the graph sums per n-gram slot
    }
    const norm = Math.sqrt(Math.max(sumSquares, NORM_EPSILON));
    for (let k = from; k < to; k++) values[k] = (count[k]! * idf[indices[k]!]!) / norm;
  }
  return { ...counts, values };
}
