/**
 * Texts → tokens → feature rows (and, for training, gold tags). The same code path serves training and
 * prediction, so both read the same prefix of a text and featurize it identically.
 */
import { truncateText } from '../../shared/text-limit.js';
import { featurize, type FeatureConfig } from './features.js';
import { spansToTags, type SpanLike } from './tags.js';
import { tokenize, type Tokens } from './tokenizer.js';
import type { EncodedExample } from './trainer.js';

export interface EncodedText {
  /** the prefix of the text the model reads */
  text: string;
  tokens: Tokens;
  /** [tokens.count, F] hash buckets */
  feats: Int32Array;
}

export function encodeText(text: string, config: FeatureConfig, maxTextChars: number): EncodedText {
  const read = truncateText(text, maxTextChars);
  const tokens = tokenize(read);
  return { text: read, tokens, feats: featurize(read, tokens, config) };
}

/** A type (not an interface), so metrics stay assignable to JSON record types. */
export type SpanCounts = {
  /** spans of the model's labels turned into tags */
  used: number;
  /** spans overlapping another one or covering no token */
  dropped: number;
  /** spans whose edges fall inside a token (trained on the token's edges) */
  misaligned: number;
  /** spans whose label is not one of the model's */
  otherLabel: number;
  /** spans reaching past the characters the model reads (maxTextChars) */
  beyondLimit: number;
};

export interface EncodedTrainingSet {
  texts: EncodedText[];
  examples: EncodedExample[];
  /** per text: the gold spans of the model's labels inside the read prefix (dropped ones included: they count as misses) */
  gold: SpanLike[][];
  counts: SpanCounts;
  tokens: number;
}

export function encodeTrainingSet(
  examples: readonly { text: string; spans: readonly SpanLike[] }[],
  config: FeatureConfig,
  labelIndex: ReadonlyMap<string, number>,
  maxTextChars: number,
  onProgress?: (done: number) => void,
): EncodedTrainingSet {
  const counts: SpanCounts = { used: 0, dropped: 0, misaligned: 0, otherLabel: 0, beyondLimit: 0 };
  const texts: EncodedText[] = [];
  const encoded: EncodedExample[] = [];
  const gold: SpanLike[][] = [];
  let tokens = 0;
  for (let i = 0; i < examples.length; i++) {
    const { text, spans } = examples[i]!;
    const enc = encodeText(text, config, maxTextChars);
    const known = spans.filter((s) => labelIndex.has(s.label));
    counts.otherLabel += spans.length - known.length;
    const inside = known.filter((s) => s.end <= enc.text.length);
    counts.beyondLimit += known.length - inside.length;
    const tagged = spansToTags(enc.tokens, inside, labelIndex);
    counts.used += tagged.used;
    counts.dropped += tagged.dropped;
    counts.misaligned += tagged.misaligned;
    texts.push(enc);
    encoded.push({ feats: enc.feats, tags: tagged.tags });
    gold.push(inside);
    tokens += enc.tokens.count;
    if (onProgress && i % 256 === 255) onProgress(i + 1);
  }
  return { texts, examples: encoded, gold, counts, tokens };
}
