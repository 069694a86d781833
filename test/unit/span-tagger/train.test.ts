import { describe, expect, it } from 'vitest';
import { loadSpanTagger, readArtifactMetadata, spanMetrics, trainSpanTagger, type SpanExample } from '../../../models/span-tagger/lib/index.js';
import { generateExamples } from './helpers.js';

const LABELS = ['Name', 'Number'];
const BITS = 16;
const train = generateExamples(400, 1);
/** Same sentence patterns, names never seen in training. */
const unseen = generateExamples(100, 2, true);

describe('trainSpanTagger', () => {
  it('learns names and numbers, exports a loadable artifact and finds spans in unseen texts', async () => {
    const progress: number[] = [];
    const result = await trainSpanTagger({ examples: train, labels: LABELS, bits: BITS, metadata: { project: 'p1', control: 'ner' }, onProgress: (f) => progress.push(f) });
    const tagger = await loadSpanTagger(result.artifact);
    try {
      const predicted = await tagger.predict(unseen.map((e) => e.text));
      const m = spanMetrics(unseen.map((e) => e.spans), predicted, LABELS);
      expect(m.micro.f1).toBeGreaterThan(0.9);
      expect(m.perLabel.Name!.f1).toBeGreaterThan(0.85);
      expect(m.perLabel.Number!.f1).toBeGreaterThan(0.9);
      for (const spans of predicted) {
        for (const s of spans) {
          expect(s.score).toBeGreaterThanOrEqual(0);
          expect(s.score).toBeLessThanOrEqual(1);
          expect(LABELS).toContain(s.label);
        }
      }
    } finally {
      await tagger.release();
    }
    expect(result.metrics.heldOut!.micro.f1).toBeGreaterThan(0.9);
    expect(result.metrics).toMatchObject({ trainSize: 360, validationSize: 40, fittedSize: 360, labelCounts: { Name: expect.any(Number), Number: expect.any(Number) } });
    expect(result.metrics.settings).toMatchObject({ bits: BITS, epochs: 5, refit: false });
    expect(JSON.parse(JSON.stringify(result.metrics))).toEqual(result.metrics);
    const meta = readArtifactMetadata(result.artifact);
    expect(meta.extra).toEqual({ project: 'p1', control: 'ner' });
    expect(meta.metrics).toEqual(result.metrics);
    for (const key of ['encodeMs', 'fitMs', 'evaluateMs', 'exportMs', 'validateMs', 'totalMs'] as const) expect(result.timings[key]).toBeGreaterThanOrEqual(0);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
    expect(progress.at(-1)).toBe(1);
  });

  it('produces byte-identical artifacts for the same inputs and seed, different ones for another seed', async () => {
    const options = { examples: train.slice(0, 150), labels: LABELS, bits: 12, epochs: 2, seed: 3 };
    const [a, b] = [await trainSpanTagger(options), await trainSpanTagger(options)];
    expect(Buffer.from(a.artifact).equals(Buffer.from(b.artifact))).toBe(true);
    const c = await trainSpanTagger({ ...options, seed: 4 });
    expect(Buffer.from(a.artifact).equals(Buffer.from(c.artifact))).toBe(false);
  });

  it('returns exact offsets in Unicode text, an empty list for empty or span-free texts, and nothing for no texts', async () => {
    const examples: SpanExample[] = train.slice(0, 200).map((e, i) => {
      // Prefixes with surrogate pairs, combining marks and CRLF shift every offset.
      const prefix = ['😀👍🏽 ', 'Cafe\u0301 — ', '東京: ', 'line\r\n'][i % 4]!;
      return { text: prefix + e.text, spans: e.spans.map((s) => ({ ...s, start: s.start + prefix.length, end: s.end + prefix.length })) };
    });
    const { artifact } = await trainSpanTagger({ examples, labels: LABELS, bits: BITS });
    const tagger = await loadSpanTagger(artifact);
    try {
      const text = '👨‍👩‍👧 ünïcode 😀\r\nJohn Smith paid 1,000 dollars for the old car.';
      const [spans, empty, none, spaces] = await tagger.predict([text, '', 'Nobody expected the rain today.', '  \r\n ']);
      expect(spans!.map((s) => [text.slice(s.start, s.end), s.label])).toEqual([
        ['John Smith', 'Name'],
        ['1,000', 'Number'],
      ]);
      expect(empty).toEqual([]);
      expect(none).toEqual([]);
      expect(spaces).toEqual([]);
      expect(await tagger.predict([])).toEqual([]);
    } finally {
      await tagger.release();
    }
  });

  it('keeps labels nobody used and never predicts them; spans of other labels are ignored', async () => {
    const labels = ['Name', 'Date', 'Number'];
    const examples = train.slice(0, 200).map((e) => ({ ...e, spans: [...e.spans, { start: 0, end: 1, label: 'Other' }] }));
    const result = await trainSpanTagger({ examples, labels, bits: BITS });
    expect(result.metrics.labelCounts.Date).toBe(0);
    expect(result.metrics.spans.otherLabel).toBe(200);
    expect(result.metrics.heldOut!.perLabel.Date).toMatchObject({ gold: 0, predicted: 0 });
    const tagger = await loadSpanTagger(result.artifact);
    try {
      expect(tagger.labels).toEqual(labels);
      const predicted = (await tagger.predict(unseen.map((e) => e.text))).flat();
      expect(predicted.length).toBeGreaterThan(100);
      expect(predicted.some((s) => s.label === 'Date')).toBe(false);
    } finally {
      await tagger.release();
    }
  });

  it('packs texts into bounded runs without changing any prediction', async () => {
    const { artifact } = await trainSpanTagger({ examples: train.slice(0, 150), labels: LABELS, bits: 12, epochs: 3 });
    const texts = [...unseen.slice(0, 20).map((e) => e.text), '', unseen.map((e) => e.text).join(' ')];
    const whole = await loadSpanTagger(artifact);
    const tiny = await loadSpanTagger(artifact, { maxRunTokens: 7 });
    try {
      expect(await tiny.predict(texts)).toEqual(await whole.predict(texts));
      expect(tiny.memoryBytes).toBeLessThan(whole.memoryBytes);
    } finally {
      await Promise.all([whole.release(), tiny.release()]);
    }
  });

  it('reads only the first maxTextChars characters, in training and in serving', async () => {
    const { artifact, metrics } = await trainSpanTagger({ examples: train.slice(0, 200), labels: LABELS, bits: 12, maxTextChars: 40 });
    expect(metrics.spans.beyondLimit).toBeGreaterThan(0);
    expect(readArtifactMetadata(artifact).maxTextChars).toBe(40);
    const tagger = await loadSpanTagger(artifact);
    try {
      const text = 'Nobody expected the rain today at all. John Smith paid 1,000 dollars for the old car.';
      expect(await tagger.predict([text])).toEqual([[]]);
    } finally {
      await tagger.release();
    }
  });

  it('rejects malformed input with a message naming the problem', async () => {
    const base = { labels: LABELS, bits: 10 };
    await expect(trainSpanTagger({ ...base, examples: [] })).rejects.toThrow(/no training examples/);
    await expect(trainSpanTagger({ ...base, labels: [], examples: train })).rejects.toThrow(/no labels/);
    await expect(trainSpanTagger({ ...base, labels: ['a', 'a'], examples: train })).rejects.toThrow(/unique/);
    await expect(trainSpanTagger({ ...base, examples: [{ text: 'abc', spans: [{ start: 2, end: 9, label: 'Name' }] }] })).rejects.toThrow(/not inside the text/);
    await expect(trainSpanTagger({ ...base, bits: 40, examples: train })).rejects.toThrow(/bits/);
    await expect(trainSpanTagger({ ...base, examples: train, metadata: { labels: 'x' } })).rejects.toThrow(/reserved/);
  });
});
