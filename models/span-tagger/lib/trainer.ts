/**
 * Structured averaged perceptron (Collins 2002) over hashed token features: per epoch, each text (seeded
 * shuffle) is decoded with the current weights (Viterbi, BIO constraints); where the decoded tags differ
 * from the gold ones, the gold tag's weights of that token's features go up by one and the decoded tag's go
 * down, and so do the transition scores of the differing tag pairs. The shipped weights are the average
 * over all steps (lazy: w − u / c, with u summing each update times its step number), which is what makes
 * the perceptron generalise.
 *
 * The fit is bound by memory reads (every feature's row, scattered over the 2^bits table, for every token).
 * Renumbering the buckets by frequency, so hot rows share cache lines, did not help (measured: 4.1 vs 3.9
 * CPU seconds for 3 epochs over all of Brown), so the table stays in bucket order.
 */
import { createRandom, shuffleInPlace } from '../../shared/random.js';
import { Decoder } from './decode.js';

export interface EncodedExample {
  /** [T, F] feature buckets */
  feats: Int32Array;
  /** [T] gold tags */
  tags: Uint8Array;
}

export interface PerceptronOptions {
  /** tags */
  K: number;
  /** templates per token */
  F: number;
  bits: number;
  epochs: number;
  seed: number;
  allowed: Uint8Array;
  /** called after every epoch with (epochs done) / epochs */
  onEpoch?: (fraction: number) => void;
}

export interface PerceptronWeights {
  /** 2^bits × K, row-major: the averaged weights */
  W: Float32Array;
  /** (K + 1) × K, see decode.ts */
  transitions: Float64Array;
}

/** Sums the weights of each token's features: scores[t·K + k]. */
export function emissions(W: Float32Array | Float64Array, feats: Int32Array, F: number, K: number, out: Float64Array): void {
  const T = feats.length / F;
  out.fill(0, 0, T * K);
  for (let t = 0; t < T; t++) {
    const row = t * K;
    for (let f = t * F, end = f + F; f < end; f++) {
      const base = feats[f]! * K;
      for (let k = 0; k < K; k++) out[row + k] = out[row + k]! + W[base + k]!;
    }
  }
}

/** Grows a scratch buffer to at least n values (doubling, so a corpus allocates a few times at most). */
export function ensure<T extends Float64Array | Uint8Array>(buffer: T, n: number, make: (n: number) => T): T {
  return buffer.length >= n ? buffer : make(Math.max(n, buffer.length * 2));
}

export function fitPerceptron(examples: readonly EncodedExample[], order: Int32Array, o: PerceptronOptions): PerceptronWeights {
  const { K, F } = o;
  const W = new Float32Array(2 ** o.bits * K);
  const U = new Float64Array(W.length);
  const trans = new Float64Array((K + 1) * K);
  const transU = new Float64Array(trans.length);
  const decoder = new Decoder(K, { scores: trans, allowed: o.allowed });
  const random = createRandom(o.seed);
  const visit = Int32Array.from(order);
  let scores = new Float64Array(1024);
  let predicted = new Uint8Array(256);
  let step = 1;

  const update = (feats: Int32Array, t: number, tag: number, delta: number) => {
    for (let f = t * F, end = f + F; f < end; f++) {
      const i = feats[f]! * K + tag;
      W[i] = W[i]! + delta;
      U[i] = U[i]! + step * delta;
    }
  };
  const updateTransition = (from: number, to: number, delta: number) => {
    const i = from * K + to;
    trans[i] = trans[i]! + delta;
    transU[i] = transU[i]! + step * delta;
  };

  for (let epoch = 0; epoch < o.epochs; epoch++) {
    shuffleInPlace(visit, random);
    for (const e of visit) {
      const { feats, tags } = examples[e]!;
      const T = tags.length;
      if (T === 0) continue;
      scores = ensure(scores, T * K, (n) => new Float64Array(n));
      predicted = ensure(predicted, T, (n) => new Uint8Array(n));
      emissions(W, feats, F, K, scores);
      decoder.decode(scores, 0, T, predicted);
      for (let t = 0; t < T; t++) {
        const gold = tags[t]!;
        const guess = predicted[t]!;
        if (gold !== guess) {
          update(feats, t, gold, 1);
          update(feats, t, guess, -1);
        }
        const goldFrom = t === 0 ? K : tags[t - 1]!;
        const guessFrom = t === 0 ? K : predicted[t - 1]!;
        if (gold !== guess || goldFrom !== guessFrom) {
          updateTransition(goldFrom, gold, 1);
          updateTransition(guessFrom, guess, -1);
        }
      }
      step++;
    }
    o.onEpoch?.((epoch + 1) / o.epochs);
  }
  for (let i = 0; i < W.length; i++) if (U[i] !== 0) W[i] = W[i]! - U[i]! / step;
  for (let i = 0; i < trans.length; i++) trans[i] = trans[i]! - transU[i]! / step;
  return { W, transitions: trans };
}
