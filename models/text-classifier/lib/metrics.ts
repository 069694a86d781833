/**
 * Classification metrics on dense score matrices (N × C, row-major).
 *
 * Macro averages follow scikit-learn: over the labels that occur in the true or the predicted
 * labels, so a label absent from a small validation split neither helps nor hurts.
 */
export interface SingleChoiceMetrics {
  accuracy: number;
  macroF1: number;
}

export interface MultipleChoiceMetrics {
  /** exact match of the whole label set */
  accuracy: number;
  macroF1: number;
  microF1: number;
  /** share of (text, label) decisions that are right */
  hammingAccuracy: number;
}

export function argmaxRow(scores: ArrayLike<number>, row: number, classes: number): number {
  let best = 0;
  let bestScore = -Infinity;
  for (let c = 0; c < classes; c++) {
    const s = scores[row * classes + c]!;
    if (s > bestScore) {
      bestScore = s;
      best = c;
    }
  }
  return best;
}

function f1(tp: number, fp: number, fn: number): number {
  const denominator = 2 * tp + fp + fn;
  return denominator === 0 ? 0 : (2 * tp) / denominator;
}

export function singleChoiceMetrics(probs: ArrayLike<number>, truth: ArrayLike<number>, classes: number): SingleChoiceMetrics {
  const n = truth.length;
  const tp = new Float64Array(classes);
  const fp = new Float64Array(classes);
  const fn = new Float64Array(classes);
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const predicted = argmaxRow(probs, i, classes);
    const actual = truth[i]!;
    if (predicted === actual) {
      correct++;
      tp[actual]!++;
    } else {
      fp[predicted]!++;
      fn[actual]!++;
    }
  }
  return { accuracy: n === 0 ? 0 : correct / n, macroF1: macroF1(tp, fp, fn) };
}

function macroF1(tp: Float64Array, fp: Float64Array, fn: Float64Array): number {
  let sum = 0;
  let present = 0;
  for (let c = 0; c < tp.length; c++) {
    if (tp[c]! + fp[c]! + fn[c]! === 0) continue;
    sum += f1(tp[c]!, fp[c]!, fn[c]!);
    present++;
  }
  return present === 0 ? 0 : sum / present;
}

/** `truth` is multi-hot N × C (1 = label applies). */
export function multipleChoiceMetrics(
  probs: ArrayLike<number>,
  truth: ArrayLike<number>,
  classes: number,
  threshold: number,
): MultipleChoiceMetrics {
  const n = classes === 0 ? 0 : truth.length / classes;
  const tp = new Float64Array(classes);
  const fp = new Float64Array(classes);
  const fn = new Float64Array(classes);
  let exact = 0;
  let rightDecisions = 0;
  for (let i = 0; i < n; i++) {
    let rowRight = true;
    for (let c = 0; c < classes; c++) {
      const predicted = probs[i * classes + c]! >= threshold;
      const actual = truth[i * classes + c]! === 1;
      if (predicted === actual) rightDecisions++;
      else rowRight = false;
      if (predicted && actual) tp[c]!++;
      else if (predicted) fp[c]!++;
      else if (actual) fn[c]!++;
    }
    if (rowRight) exact++;
  }
  const sum = (a: Float64Array) => a.reduce((s, v) => s + v, 0);
  return {
    accuracy: n === 0 ? 0 : exact / n,
    macroF1: macroF1(tp, fp, fn),
    microF1: f1(sum(tp), sum(fp), sum(fn)),
    hammingAccuracy: n === 0 ? 0 : rightDecisions / (n * classes),
  };
}
