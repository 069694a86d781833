/**
 * Compact layout of the classifier's weights: keep only the buckets the model uses.
 *
 * A dense model holds W[2^bits, C] and idf[2^bits], yet a project of a thousand annotations touches a
 * few thousand of the 2^18 buckets; every other bucket has a zero W row and one shared idf (0 with
 * tf-idf: never seen in training; 1 with plain counts). The compact layout keeps the buckets that differ
 * from that shared value in a sorted table and gives all others one shared last row, so serving
 * gathers exactly the values the dense model would, in the same order: probabilities are bit-identical.
 */
import { INT16_REMAP_ROWS } from './graph.js';
import { SESSION_OVERHEAD_BYTES } from '../../shared/session.js';

export interface CompactWeights {
  /** kept bucket ids, strictly increasing; bucket `buckets[k]` reads row k */
  buckets: Int32Array;
  /** (K + 1) × C row-major; row K (every other bucket) is zero */
  W: Float32Array;
  /** K + 1; entry K is the idf all other buckets share */
  idf: Float32Array;
}

function rowIsZero(W: Float32Array, row: number, classes: number): boolean {
  for (let c = row * classes, end = c + classes; c < end; c++) if (W[c] !== 0) return false;
  return true;
}

/** Keeps every bucket whose W row is non-zero or whose idf differs from the shared one. */
export function compactWeights(W: Float32Array, idf: Float32Array, classes: number): CompactWeights {
  const buckets = idf.length;
  if (W.length !== buckets * classes) throw new RangeError(`W must have ${buckets} × ${classes} values, got ${W.length}`);
  let shared: number | undefined;
  const ids = new Int32Array(buckets);
  let K = 0;
  for (let j = 0; j < buckets; j++) {
    const zero = rowIsZero(W, j, classes);
    // The first bucket with a zero row fixes the shared idf; a model without one keeps every bucket.
    if (zero && shared === undefined) shared = idf[j]!;
    if (!zero || idf[j] !== shared) ids[K++] = j;
  }
  const kept = ids.slice(0, K);
  const out: CompactWeights = { buckets: kept, W: new Float32Array((K + 1) * classes), idf: new Float32Array(K + 1) };
  for (let k = 0; k < K; k++) {
    const j = kept[k]!;
    for (let c = 0; c < classes; c++) out.W[k * classes + c] = W[j * classes + c]!;
    out.idf[k] = idf[j]!;
  }
  out.idf[K] = shared ?? 0;
  return out;
}

/** Bytes of W and idf as served (float32), for either layout. */
export function weightBytes(rows: number, classes: number): number {
  return rows * (classes + 1) * 4;
}

/** What one served model holds: W + idf (float32), the compact remap table (int16 or int32), the session. */
export function servedBytes(model: { columns: number; rows: number; classes: number; compact: boolean }): number {
  const remap = model.compact ? model.columns * (model.rows <= INT16_REMAP_ROWS ? 2 : 4) : 0;
  return weightBytes(model.rows, model.classes) + remap + SESSION_OVERHEAD_BYTES;
}
