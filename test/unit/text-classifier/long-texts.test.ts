/**
 * Long texts and big batches: every text is cut to the artifact's `max_text_chars` in training and in
 * serving alike, and scoring runs in runs bounded by padded characters with event-loop turns between them.
 */
import { describe, expect, it } from 'vitest';
import { encodeArtifact, loadClassifier, readArtifactMetadata } from '../../../models/text-classifier/lib/artifact.js';
import { createFeaturizer } from '../../../models/text-classifier/lib/featurizer.js';
import { trainTextClassifier } from '../../../models/text-classifier/lib/index.js';
import { decodeModel, encodeModel } from '../../../models/shared/onnx-builder.js';
import { DEFAULT_MAX_TEXT_CHARS, truncateText, truncateTexts } from '../../../models/shared/text-limit.js';
import { maxAbsDiff, randomFloats, rowMap } from './helpers.js';

const TRAIN = {
  texts: ['good great fine', 'bad awful poor', 'great good nice', 'awful bad horrid', 'fine good', 'poor bad'],
  targets: [0, 1, 0, 1, 0, 1],
  labels: ['Pos', 'Neg'],
  mode: 'single' as const,
  bits: 12,
};
/** Positive words first, then a long negative tail. */
const MIXED = `${'good great fine '.repeat(3)}${'bad awful poor horrid '.repeat(50)}`;

describe('truncateText', () => {
  it('keeps short texts, cuts long ones, and never splits a surrogate pair', () => {
    expect(truncateText('hello', 5)).toBe('hello');
    expect(truncateText('hello world', 5)).toBe('hello');
    expect(truncateText('ab😀cd', 3)).toBe('ab');
    expect(truncateText('ab😀cd', 4)).toBe('ab😀');
    const texts = ['short', 'texts'];
    expect(truncateTexts(texts, 10)).toBe(texts);
    expect(truncateTexts(['short', 'a longer text'], 5)).toEqual(['short', 'a lon']);
  });
});

describe('text length limit', () => {
  it('training and serving read the same prefix, and the artifact records the limit', async () => {
    const limit = 48;
    const { artifact, metadata } = await trainTextClassifier({ ...TRAIN, maxTextChars: limit });
    expect(metadata.maxTextChars).toBe(limit);
    const prefix = MIXED.slice(0, limit);

    const featurizer = await createFeaturizer({ bits: 12, maxTextChars: limit });
    const rows = await featurizer.featurize([MIXED, prefix]);
    expect(rowMap(rows, 0)).toEqual(rowMap(rows, 1));
    await featurizer.release();

    const limited = await loadClassifier(artifact);
    const [long, short] = await Promise.all([limited.predict([MIXED]), limited.predict([prefix])]);
    expect(long.probs).toEqual(short.probs);
    expect(long.labels).toEqual(['Pos']);
    await limited.release();

    // The same model without the limit reads the negative tail.
    const unlimited = await loadClassifier((await trainTextClassifier(TRAIN)).artifact);
    expect((await unlimited.predict([MIXED])).labels).toEqual(['Neg']);
    await unlimited.release();
  });

  it('serves artifacts without a recorded limit with the default, and refuses bad values', () => {
    const C = 2;
    const bytes = encodeArtifact({ labels: ['a', 'b'], mode: 'single', featurizer: { bits: 8, ngramOrder: 2, hashSeed: 0 }, W: randomFloats(256 * C, 1), b: randomFloats(C, 2) });
    const setLimit = (value: string | undefined) => {
      const model = decodeModel(bytes);
      model.metadataProps = model.metadataProps.filter((p) => p.key !== 'max_text_chars');
      if (value !== undefined) model.metadataProps.push({ key: 'max_text_chars', value });
      return encodeModel(model);
    };
    expect(readArtifactMetadata(bytes).maxTextChars).toBe(DEFAULT_MAX_TEXT_CHARS);
    expect(readArtifactMetadata(setLimit(undefined)).maxTextChars).toBe(DEFAULT_MAX_TEXT_CHARS);
    expect(readArtifactMetadata(setLimit('500')).maxTextChars).toBe(500);
    for (const bad of ['0', '-1', 'many', '2000000']) expect(() => readArtifactMetadata(setLimit(bad))).toThrow(/max_text_chars/);
    expect(() => encodeArtifact({ labels: ['a'], mode: 'single', featurizer: { bits: 8, ngramOrder: 2, hashSeed: 0 }, W: new Float32Array(256), b: new Float32Array(1), maxTextChars: 0 })).toThrow(
      /maxTextChars/,
    );
  });
});

describe('bounded runs', () => {
  it('scores long and short texts in several runs, in the caller order, as they score alone', async () => {
    const { artifact } = await trainTextClassifier(TRAIN);
    const texts = [MIXED, 'good', 'bad awful', MIXED.slice(0, 300), '', 'poor '.repeat(80), 'fine great'];
    const bounded = await loadClassifier(artifact, { maxRunChars: 400 });
    const together = await bounded.predict(texts);
    const alone = await Promise.all(texts.map((t) => bounded.predict([t])));
    expect(together.labels).toEqual(alone.map((p) => p.labels[0]));
    expect(maxAbsDiff(together.probs, Float32Array.from(alone.flatMap((p) => [...p.probs])))).toBeLessThan(1e-6);
    await bounded.release();
  });

  it('lets the event loop turn between runs', async () => {
    const { artifact } = await trainTextClassifier(TRAIN);
    // Three texts of 300 characters under a 400-character budget: three runs.
    const texts = ['good great fine '.repeat(19).slice(0, 300), 'bad awful poor '.repeat(20).slice(0, 300), 'fine '.repeat(60)];
    const bounded = await loadClassifier(artifact, { maxRunChars: 400 });
    let turns = 0;
    let pending = true;
    const tick = () => {
      turns++;
      if (pending) setImmediate(tick);
    };
    setImmediate(tick);
    await bounded.predict(texts);
    pending = false;
    expect(turns).toBeGreaterThanOrEqual(3);
    await bounded.release();
  });
});
