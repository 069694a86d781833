/**
 * Span-level scores, the way NER is usually judged: a predicted span counts only when its start, end and
 * label all equal a gold span's (exact match); precision = correct / predicted, recall = correct / gold.
 * Micro scores pool every label's counts; per-label scores use that label's alone.
 */
export interface LabeledSpan {
  start: number;
  end: number;
  label: string;
}

export interface SpanScores {
  precision: number;
  recall: number;
  f1: number;
  gold: number;
  predicted: number;
  correct: number;
}

export interface SpanMetrics {
  micro: SpanScores;
  perLabel: Record<string, SpanScores>;
}

/** `gold[i]` and `predicted[i]` are the spans of document i. Labels outside `labels` count under their own name. */
export function spanMetrics(
  gold: readonly (readonly LabeledSpan[])[],
  predicted: readonly (readonly LabeledSpan[])[],
  labels: readonly string[] = [],
): SpanMetrics {
  if (gold.length !== predicted.length) throw new RangeError(`${gold.length} gold documents but ${predicted.length} predicted`);
  const counts = new Map<string, { gold: number; predicted: number; correct: number }>(labels.map((l) => [l, { gold: 0, predicted: 0, correct: 0 }]));
  const countsOf = (label: string) => {
    let c = counts.get(label);
    if (!c) counts.set(label, (c = { gold: 0, predicted: 0, correct: 0 }));
    return c;
  };
  for (let i = 0; i < gold.length; i++) {
    const wanted = new Set(gold[i]!.map(key));
    for (const span of gold[i]!) countsOf(span.label).gold++;
    for (const span of new Map(predicted[i]!.map((s) => [key(s), s])).values()) {
      const c = countsOf(span.label);
      c.predicted++;
      if (wanted.has(key(span))) c.correct++;
    }
  }
  const perLabel: Record<string, SpanScores> = {};
  const total = { gold: 0, predicted: 0, correct: 0 };
  for (const [label, c] of counts) {
    perLabel[label] = scores(c);
    total.gold += c.gold;
    total.predicted += c.predicted;
    total.correct += c.correct;
  }
  return { micro: scores(total), perLabel };
}

const key = (s: LabeledSpan) => `${s.start}:${s.end}:${s.label}`;

function scores({ gold, predicted, correct }: { gold: number; predicted: number; correct: number }): SpanScores {
  const precision = predicted === 0 ? 0 : correct / predicted;
  const recall = gold === 0 ? 0 : correct / gold;
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { precision, recall, f1, gold, predicted, correct };
}
