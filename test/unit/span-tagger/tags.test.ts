import { describe, expect, it } from 'vitest';
import { Decoder, spanScore, tagMarginals } from '../../../models/span-tagger/lib/decode.js';
import { allowedTransitions, spansToTags, tagCount, tagNames, tagsToSpans } from '../../../models/span-tagger/lib/tags.js';
import { tokenize } from '../../../models/span-tagger/lib/tokenizer.js';

const LABELS = new Map([
  ['Name', 0],
  ['Number', 1],
]);

describe('BIO tags', () => {
  it('names tags O, B-X, I-X in label order', () => {
    expect(tagNames(['Name', 'Number'])).toEqual(['O', 'B-Name', 'I-Name', 'B-Number', 'I-Number']);
    expect(tagCount(2)).toBe(5);
  });

  it('turns spans into tags and back into the same token runs', () => {
    const text = 'Mr. John Smith paid twenty five dollars.';
    const tokens = tokenize(text);
    const spans = [
      { start: 0, end: 14, label: 'Name' },
      { start: 20, end: 31, label: 'Number' },
    ];
    const tagged = spansToTags(tokens, spans, LABELS);
    expect(Array.from(tagged.tags)).toEqual([1, 2, 2, 2, 0, 3, 4, 0, 0]);
    expect(tagged).toMatchObject({ used: 2, dropped: 0, misaligned: 0 });
    const back = tagsToSpans(tagged.tags).map((s) => ({ start: tokens.starts[s.first], end: tokens.ends[s.last - 1], label: s.label }));
    expect(back).toEqual([
      { start: 0, end: 14, label: 0 },
      { start: 20, end: 31, label: 1 },
    ]);
  });

  it('drops overlapping spans and empty ones, counts spans cutting a token, ignores unknown labels', () => {
    const tokens = tokenize('Anna Karenina lives in Moscow');
    const tagged = spansToTags(
      tokens,
      [
        { start: 0, end: 13, label: 'Name' },
        { start: 5, end: 13, label: 'Name' }, // inside the first: dropped
        { start: 4, end: 5, label: 'Name' }, // a space, no token: dropped
        { start: 24, end: 27, label: 'Name' }, // "osc": inside a token
        { start: 14, end: 19, label: 'Verb' }, // not a label of the model
      ],
      LABELS,
    );
    expect(tagged).toMatchObject({ used: 2, dropped: 2, misaligned: 1 });
    expect(Array.from(tagged.tags)).toEqual([1, 2, 0, 0, 1]);
  });

  it('decodes only well-formed sequences: no I-X after O, another label, or at the start', () => {
    const K = tagCount(2);
    const allowed = allowedTransitions(2);
    const decoder = new Decoder(K, { scores: new Float64Array((K + 1) * K), allowed });
    // Unconstrained, the best tags are I-Name, I-Number, O (5 + 3 + 2). I-Name cannot start a text, and
    // I-Number needs B-Number before it: the best allowed sequence is B-Number, I-Number, O (0 + 3 + 2).
    const scores = Float64Array.from([0, 1, 5, 0, 0, /**/ 0, 0, 0, 0, 3, /**/ 2, 0, 0, 0, 0]);
    const tags = new Uint8Array(3);
    decoder.decode(scores, 0, 3, tags);
    expect(Array.from(tags)).toEqual([3, 4, 0]);
    for (let t = 0; t < 3; t++) {
      const from = t === 0 ? K : tags[t - 1]!;
      expect(allowed[from * K + tags[t]!]).toBe(1);
    }
  });

  it('gives tag marginals that sum to one, respect the constraints, and equal a softmax without transitions', () => {
    const K = tagCount(2);
    const scores = Float64Array.from([0, 1, 5, 0, 0, /**/ 0, 0, 0, 0, 3, /**/ 2, 0, 0, 0, 0]);
    const constrained = { scores: Float64Array.from({ length: (K + 1) * K }, (_, i) => (i % 3) / 4), allowed: allowedTransitions(2) };
    const marginals = new Float64Array(3 * K);
    tagMarginals(scores, 0, 3, K, constrained, marginals);
    for (let t = 0; t < 3; t++) expect(marginals.subarray(t * K, (t + 1) * K).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(marginals[2]).toBe(0); // I-Name cannot start a text
    expect(marginals[4]).toBe(0);

    const free = { scores: new Float64Array((K + 1) * K), allowed: new Uint8Array((K + 1) * K).fill(1) };
    tagMarginals(scores, 0, 3, K, free, marginals);
    const row = Array.from(scores.subarray(K, 2 * K), Math.exp);
    const total = row.reduce((a, b) => a + b, 0);
    row.forEach((p, k) => expect(marginals[K + k]).toBeCloseTo(p / total, 12));
    // A span's score is the mean of its tokens' marginals for their tags.
    const tags = Uint8Array.from([3, 4, 0]);
    expect(spanScore(marginals, K, tags, 0, 2)).toBeCloseTo((marginals[3]! + marginals[K + 4]!) / 2, 12);
  });
});
