/**
 * Decoding: the best tag sequence under per-token scores (from the ONNX model, or the trainer) plus learned
 * tag-to-tag transition scores (Viterbi), with the BIO constraints as hard rules. Also the span score.
 */
export type Scores = Float32Array | Float64Array;

export interface Transitions {
  /** (K + 1) × K: row k < K scores "tag k then tag j"; row K scores "the text starts with tag j" */
  scores: Scores;
  /** same layout, 1 = allowed */
  allowed: Uint8Array;
}

/** Reused buffers: decoding allocates only when a text is longer than any before it. */
export class Decoder {
  private back = new Int32Array(0);
  private current = new Float64Array(0);
  private next = new Float64Array(0);

  constructor(readonly K: number, private readonly transitions: Transitions) {
    this.current = new Float64Array(K);
    this.next = new Float64Array(K);
  }

  /** Tags of tokens [0, T) whose scores are emissions[offset + t·K + k]; written into `out`. */
  decode(emissions: Scores, offset: number, T: number, out: Uint8Array): void {
    const K = this.K;
    if (T === 0) return;
    if (this.back.length < T * K) this.back = new Int32Array(Math.max(T * K, this.back.length * 2));
    const { scores: trans, allowed } = this.transitions;
    const back = this.back;
    let cur = this.current;
    let nxt = this.next;
    for (let k = 0; k < K; k++) {
      cur[k] = allowed[K * K + k] ? emissions[offset + k]! + trans[K * K + k]! : -Infinity;
    }
    for (let t = 1; t < T; t++) {
      const row = offset + t * K;
      for (let j = 0; j < K; j++) {
        let best = -Infinity;
        let arg = 0;
        for (let i = 0; i < K; i++) {
          if (!allowed[i * K + j]) continue;
          const s = cur[i]! + trans[i * K + j]!;
          if (s > best) {
            best = s;
            arg = i;
          }
        }
        nxt[j] = best + emissions[row + j]!;
        back[t * K + j] = arg;
      }
      const swap = cur;
      cur = nxt;
      nxt = swap;
    }
    let tag = 0;
    for (let k = 1; k < K; k++) if (cur[k]! > cur[tag]!) tag = k;
    for (let t = T - 1; t >= 0; t--) {
      out[t] = tag;
      tag = back[t * K + tag]!;
    }
  }
}

/** log(Σ exp) of a few values, stable for large ones; -Infinity when all are. */
function logSumExp(values: Float64Array, n: number): number {
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (values[i]! > max) max = values[i]!;
  if (max === -Infinity) return max;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.exp(values[i]! - max);
  return max + Math.log(sum);
}

/**
 * Tag probabilities per token, reading the scores as a linear-chain CRF's (forward-backward over the same
 * scores, transitions and constraints Viterbi uses): out[t·K + k] = P(token t has tag k | text).
 */
export function tagMarginals(emissions: Scores, offset: number, T: number, K: number, transitions: Transitions, out: Float64Array): void {
  if (T === 0) return;
  const { scores: trans, allowed } = transitions;
  const alpha = new Float64Array(T * K);
  const beta = new Float64Array(T * K);
  const terms = new Float64Array(K);
  for (let k = 0; k < K; k++) alpha[k] = allowed[K * K + k] ? emissions[offset + k]! + trans[K * K + k]! : -Infinity;
  for (let t = 1; t < T; t++) {
    for (let j = 0; j < K; j++) {
      for (let i = 0; i < K; i++) terms[i] = allowed[i * K + j] ? alpha[(t - 1) * K + i]! + trans[i * K + j]! : -Infinity;
      alpha[t * K + j] = emissions[offset + t * K + j]! + logSumExp(terms, K);
    }
  }
  for (let t = T - 2; t >= 0; t--) {
    for (let i = 0; i < K; i++) {
      for (let j = 0; j < K; j++) {
        terms[j] = allowed[i * K + j] ? trans[i * K + j]! + emissions[offset + (t + 1) * K + j]! + beta[(t + 1) * K + j]! : -Infinity;
      }
      beta[t * K + i] = logSumExp(terms, K);
    }
  }
  const logZ = logSumExp(alpha.subarray((T - 1) * K), K);
  for (let i = 0; i < T * K; i++) out[i] = Math.exp(alpha[i]! + beta[i]! - logZ);
}

/** A span's score: the mean, over its tokens, of the probability (tagMarginals) of the decoded tag. */
export function spanScore(marginals: Float64Array, K: number, tags: Uint8Array, first: number, last: number): number {
  let sum = 0;
  for (let t = first; t < last; t++) sum += marginals[t * K + tags[t]!]!;
  return sum / (last - first);
}
