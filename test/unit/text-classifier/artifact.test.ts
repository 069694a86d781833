import { describe, expect, it } from 'vitest';
import { expectArtifactError as expectArtifactErrorOf, setMeta, tamper } from '../../support/artifacts.js';
import {
  ArtifactError,
  encodeArtifact,
  loadClassifier,
  readArtifactMetadata,
  validateArtifact,
  type EncodeArtifactInput,
} from '../../../models/text-classifier/lib/artifact.js';
import { buildTextClassifierGraph } from '../../../models/text-classifier/lib/graph.js';
import { createRandom } from '../../../models/shared/random.js';
import { maxAbsDiff, randomFloats } from './helpers.js';

const BITS = 10;
const LABELS = ['spam', 'ham', 'other'];

function input(overrides: Partial<EncodeArtifactInput> = {}): EncodeArtifactInput {
  const C = (overrides.labels ?? LABELS).length;
  return {
    labels: LABELS,
    mode: 'single',
    featurizer: { bits: BITS, ngramOrder: 2, hashSeed: 0 },
    W: randomFloats(2 ** BITS * C, 1),
    b: randomFloats(C, 2),
    idf: randomFloats(2 ** BITS, 3).map((v) => 1 + Math.abs(v)),
    metrics: { accuracy: 0.9, trainSize: 10 },
    extra: { project: '42' },
    ...overrides,
  };
}

const good = encodeArtifact(input());



const expectArtifactError = (fn: () => unknown, code: ArtifactError['code'], message: RegExp) => expectArtifactErrorOf(ArtifactError, fn, code, message);

describe('artifact metadata', () => {
  it('round-trips labels, mode, featurizer settings, threshold, metrics and extra keys', () => {
    const meta = readArtifactMetadata(encodeArtifact(input({ mode: 'multiple', threshold: 0.3 })));
    expect(meta).toMatchObject({
      labels: LABELS,
      mode: 'multiple',
      featurizer: { bits: BITS, ngramOrder: 2, hashSeed: 0 },
      threshold: 0.3,
      metrics: { accuracy: 0.9, trainSize: 10 },
      extra: { project: '42' },
    });
    expect(validateArtifact(good).labels).toEqual(LABELS);
  });

  it('refuses reserved metadata keys from callers', () => {
    expect(() => encodeArtifact(input({ extra: { labels: 'x' } }))).toThrow(/reserved/);
  });
});

describe('corrupt and truncated artifacts', () => {
  it('refuses empty input', () => {
    expectArtifactError(() => validateArtifact(new Uint8Array(0)), 'decode', /empty/);
  });

  it('refuses random bytes', () => {
    const random = createRandom(1);
    for (let trial = 0; trial < 5; trial++) {
      const bytes = Uint8Array.from({ length: 2000 }, () => Math.floor(random() * 256));
      expect(() => validateArtifact(bytes)).toThrow(ArtifactError);
    }
  });

  it('refuses every truncation point we try', () => {
    for (const fraction of [0.001, 0.1, 0.5, 0.9, 0.999]) {
      const cut = good.subarray(0, Math.floor(good.length * fraction));
      expect(() => validateArtifact(cut), `cut at ${fraction}`).toThrow(ArtifactError);
    }
    expectArtifactError(() => validateArtifact(good.subarray(0, good.length - 1)), 'decode', /truncated/);
  });

  it('refuses an ONNX model without our metadata', () => {
    const plain = buildTextClassifierGraph({ bits: BITS, labels: LABELS, mode: 'single', metadata: {} });
    expectArtifactError(() => validateArtifact(plain), 'metadata', /no "format" entry/);
  });

  it('names the invalid metadata fields', () => {
    expectArtifactError(() => validateArtifact(tamper(good, setMeta('labels', '["a", '))), 'metadata', /labels: is not valid JSON/);
    expectArtifactError(() => validateArtifact(tamper(good, setMeta('labels', '["a","a","b"]'))), 'metadata', /unique/);
    expectArtifactError(() => validateArtifact(tamper(good, setMeta('bits', '99'))), 'metadata', /bits/);
    expectArtifactError(() => validateArtifact(tamper(good, setMeta('mode', undefined))), 'metadata', /mode/);
    expectArtifactError(() => validateArtifact(tamper(good, setMeta('format_version', '2'))), 'metadata', /format_version/);
  });

  it('refuses metadata that disagrees with the graph', () => {
    expectArtifactError(() => validateArtifact(tamper(good, setMeta('labels', '["a","b"]'))), 'structure', /\[N, 2\]/);
    expectArtifactError(() => validateArtifact(tamper(good, setMeta('bits', '11'))), 'structure', /W has shape \[1024,3\], metadata implies \[2048,3\]/);
    expectArtifactError(() => validateArtifact(tamper(good, setMeta('mode', 'multiple'))), 'structure', /Sigmoid/);
  });

  it('refuses weight tensors whose data does not fill their shape', () => {
    const short = tamper(good, (m) => {
      const W = m.graph!.initializer!.find((t) => t.name === 'W')!;
      W.rawData = W.rawData!.subarray(0, 100);
    });
    expectArtifactError(() => validateArtifact(short), 'structure', /W holds 25 values/);
  });
});

describe('loadClassifier', () => {
  it('predicts top labels, selected labels and probabilities per text', async () => {
    const classifier = await loadClassifier(good);
    const { labels, selected, probs } = await classifier.predict(['hello world', '', 'buy now']);
    expect(probs.length).toBe(9);
    expect(labels).toHaveLength(3);
    expect(selected.map((s) => s.length)).toEqual([1, 1, 1]);
    expect(selected.map((s) => s[0])).toEqual(labels);
    for (const label of labels) expect(LABELS).toContain(label);
    await classifier.release();
  });

  it('gives the same probabilities in bounded batches as in one run, and nothing for no texts', async () => {
    const texts = Array.from({ length: 7 }, (_, i) => `text number ${i} ${'word '.repeat(i)}`);
    const whole = await loadClassifier(good);
    const batched = await loadClassifier(good, { maxBatch: 2 });
    // Not bit-identical: a batch's padded width changes ORT's summation order (float rounding).
    expect(maxAbsDiff((await batched.predict(texts)).probs, (await whole.predict(texts)).probs)).toBeLessThan(1e-6);
    expect(await whole.predict([])).toEqual({ labels: [], selected: [], probs: new Float32Array(0) });
    await Promise.all([whole.release(), batched.release()]);
  });

  it('selects every label at or above the threshold in multiple-choice mode', async () => {
    const W = new Float32Array(2 ** BITS * 3);
    const classifier = await loadClassifier(encodeArtifact(input({ mode: 'multiple', W, b: new Float32Array([3, -3, 0.1]) })));
    const { selected, labels } = await classifier.predict(['anything']);
    expect(selected).toEqual([['spam', 'other']]);
    expect(labels).toEqual(['spam']);
    await classifier.release();
  });

  it('refuses to predict after release', async () => {
    const classifier = await loadClassifier(good);
    await classifier.release();
    await expect(classifier.predict(['x'])).rejects.toThrow(/released/);
  });

  it('reports a model onnxruntime cannot load as a session error', async () => {
    const broken = tamper(good, (m) => {
      m.graph!.node!.find((n) => n.opType === 'Sqrt')!.opType = 'NoSuchOperator';
    });
    await expect(loadClassifier(broken)).rejects.toMatchObject({ name: 'ArtifactError', code: 'session' });
  });

  it('fails the smoke run when the weights produce non-finite probabilities', async () => {
    const nan = encodeArtifact(input({ b: new Float32Array([NaN, 0, 0]) }));
    await expect(loadClassifier(nan)).rejects.toMatchObject({ name: 'ArtifactError', code: 'smoke' });
  });
});
