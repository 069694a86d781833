/**
 * Perceptron scores have no natural scale, so span scores computed from them (decode.ts: the mean tag
 * probability of the span's tokens under forward-backward) would say 0.9999 or 0.4 for no reason. One
 * temperature τ, fitted on the spans predicted for held-out texts (minimum log loss of "this span is exactly
 * right" under the span score of scores / τ), makes the score read like the chance the span is right.
 * Dividing W and the transitions by τ before export leaves every decoded tag unchanged (Viterbi's argmax is
 * scale-free), so τ costs serving nothing.
 */
import { spanScore, tagMarginals, type Transitions } from './decode.js';

/** Held-out texts with predicted spans: their [T, K] scores, decoded tags, and each span's correctness. */
export interface ScoredText {
  scores: Float64Array;
  tags: Uint8Array;
  spans: { first: number; last: number; correct: boolean }[];
}

export interface ScoredSpans {
  K: number;
  transitions: Transitions;
  texts: ScoredText[];
}

/** Enough spans for one parameter; bounds the search's cost (forward-backward per text per step). */
const MAX_TEXTS = 300;
const EPSILON = 1e-6;

function logLoss(data: ScoredSpans, inverse: number): number {
  const { K } = data;
  const transitions = { scores: data.transitions.scores.map((v) => v * inverse), allowed: data.transitions.allowed };
  let total = 0;
  let spans = 0;
  for (const text of data.texts) {
    const T = text.tags.length;
    const marginals = new Float64Array(T * K);
    tagMarginals(text.scores.map((v) => v * inverse), 0, T, K, transitions, marginals);
    for (const s of text.spans) {
      const p = Math.min(1 - EPSILON, Math.max(EPSILON, spanScore(marginals, K, text.tags, s.first, s.last)));
      total -= s.correct ? Math.log(p) : Math.log(1 - p);
      spans++;
    }
  }
  return total / spans;
}

const LOG_RANGE: [number, number] = [Math.log(1e-2), Math.log(1e4)];
const ITERATIONS = 20;

/** Golden-section search over log τ (to ~0.1%); 1 when there are no held-out spans. */
export function fitTemperature(all: ScoredSpans): number {
  const data = { ...all, texts: all.texts.filter((t) => t.spans.length > 0).slice(0, MAX_TEXTS) };
  if (data.texts.length === 0) return 1;
  const ratio = (Math.sqrt(5) - 1) / 2;
  let [lo, hi] = LOG_RANGE;
  const loss = (logTau: number) => logLoss(data, Math.exp(-logTau));
  let a = hi - ratio * (hi - lo);
  let b = lo + ratio * (hi - lo);
  let fa = loss(a);
  let fb = loss(b);
  for (let i = 0; i < ITERATIONS; i++) {
    if (fa <= fb) {
      hi = b;
      b = a;
      fb = fa;
      a = hi - ratio * (hi - lo);
      fa = loss(a);
    } else {
      lo = a;
      a = b;
      fa = fb;
      b = lo + ratio * (hi - lo);
      fb = loss(b);
    }
  }
  // Rounded, so the artifact does not carry the search's last bits.
  return Number(Math.exp((lo + hi) / 2).toPrecision(4));
}
