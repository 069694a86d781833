/**
 * The BIO tag scheme: tag 0 is O (outside), label l has B (begin) = 1 + 2l and I (inside) = 2 + 2l.
 * Spans become per-token tags for training and tags become spans after decoding; I-X may only follow
 * B-X or I-X (decoding enforces it, so every decoded run is a well-formed span).
 */
import type { Tokens } from './tokenizer.js';

export const TAG_SCHEME = 'BIO';
export const OUTSIDE = 0;

export function tagCount(labels: number): number {
  return 1 + 2 * labels;
}

export function tagNames(labels: readonly string[]): string[] {
  return ['O', ...labels.flatMap((l) => [`B-${l}`, `I-${l}`])];
}

const isInside = (tag: number) => tag > 0 && tag % 2 === 0;
const labelOf = (tag: number) => (tag - 1) >> 1;

/**
 * allowed[from · K + to] with from = K meaning "before the first token": I-X needs B-X or I-X before it.
 * 1 = allowed, 0 = forbidden.
 */
export function allowedTransitions(labels: number): Uint8Array {
  const K = tagCount(labels);
  const allowed = new Uint8Array((K + 1) * K).fill(1);
  for (let to = 0; to < K; to++) {
    if (!isInside(to)) continue;
    for (let from = 0; from <= K; from++) {
      if (from === K || from === OUTSIDE || labelOf(from) !== labelOf(to)) allowed[from * K + to] = 0;
    }
  }
  return allowed;
}

export interface SpanLike {
  start: number;
  end: number;
  label: string;
}

export interface TaggedText {
  tags: Uint8Array;
  /** spans turned into tags */
  used: number;
  /** spans left out: overlapping an earlier (or longer) span, or covering no token */
  dropped: number;
  /** used spans whose start or end falls inside a token: the model can only predict the token's edges */
  misaligned: number;
}

/**
 * Tags of each token. A token belongs to a span it overlaps. Spans are taken longest first among those that
 * start together, earliest first otherwise; one that would share a token with a span already placed is dropped.
 */
export function spansToTags(tokens: Tokens, spans: readonly SpanLike[], labelIndex: ReadonlyMap<string, number>): TaggedText {
  const tags = new Uint8Array(tokens.count);
  const taken = new Uint8Array(tokens.count);
  const sorted = spans.filter((s) => labelIndex.has(s.label)).sort((a, b) => a.start - b.start || b.end - a.end);
  let used = 0;
  let dropped = 0;
  let misaligned = 0;
  for (const span of sorted) {
    const first = firstTokenEndingAfter(tokens, span.start);
    let last = first;
    while (last < tokens.count && tokens.starts[last]! < span.end) last++;
    if (span.end <= span.start || first === last || taken.subarray(first, last).some((t) => t === 1)) {
      dropped++;
      continue;
    }
    const l = labelIndex.get(span.label)!;
    for (let t = first; t < last; t++) {
      tags[t] = t === first ? 1 + 2 * l : 2 + 2 * l;
      taken[t] = 1;
    }
    used++;
    if (tokens.starts[first] !== span.start || tokens.ends[last - 1] !== span.end) misaligned++;
  }
  return { tags, used, dropped, misaligned };
}

/** Binary search: the first token whose end is after `offset`. */
function firstTokenEndingAfter(tokens: Tokens, offset: number): number {
  let lo = 0;
  let hi = tokens.count;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (tokens.ends[mid]! <= offset) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export interface TokenSpan {
  /** first token */
  first: number;
  /** one past the last token */
  last: number;
  label: number;
}

/** Runs of B-X I-X…; an I-X after anything else opens a span too (never happens after constrained decoding). */
export function tagsToSpans(tags: ArrayLike<number>): TokenSpan[] {
  const spans: TokenSpan[] = [];
  let open: TokenSpan | undefined;
  for (let t = 0; t < tags.length; t++) {
    const tag = tags[t]!;
    if (tag === OUTSIDE) {
      open = undefined;
    } else if (isInside(tag) && open && open.label === labelOf(tag)) {
      open.last = t + 1;
    } else {
      open = { first: t, last: t + 1, label: labelOf(tag) };
      spans.push(open);
    }
  }
  return spans;
}
