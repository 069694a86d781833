import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generateSynthetic, PRESETS } from '../../../bench/accuracy/synthetic.js';
import { ArtifactError, encodeArtifact, loadClassifier, validateArtifact } from '../../../models/text-classifier/lib/artifact.js';
import { compactWeights } from '../../../models/text-classifier/lib/compact.js';
import { featureColumns, withRemapTable } from '../../../models/text-classifier/lib/graph.js';
import { trainTextClassifier, type TrainTextClassifierInput } from '../../../models/text-classifier/lib/index.js';
import { decodeModel, encodeModel, readFloatTensor, readInt32RawTensor, type ModelProto } from '../../../models/shared/onnx-builder.js';
import { FIXTURE_LABELS, FIXTURE_PROBE_TEXTS, fixtureTrainingSet } from './fixtures/dense-v1-data.js';
import { TRICKY_TEXTS, maxAbsDiff, randomFloats } from './helpers.js';

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url);

/** Held-out texts plus words, scripts and buckets no training text has. */
function heldOut(texts: readonly string[]): string[] {
  return [...texts, ...TRICKY_TEXTS, 'zebra quantum xylophone', 'qqqq zzzz wwww 未知の単語', 'x'.repeat(500)];
}

async function probsOf(artifact: Uint8Array, texts: string[]): Promise<Float32Array> {
  const classifier = await loadClassifier(artifact);
  try {
    return (await classifier.predict(texts)).probs;
  } finally {
    await classifier.release();
  }
}

/** Trains the same input with both exporters and scores held-out texts with both artifacts. */
async function denseVsCompact(input: TrainTextClassifierInput, held: string[]) {
  const dense = await trainTextClassifier({ ...input, layout: 'dense' });
  const compact = await trainTextClassifier(input);
  return { dense, compact, denseProbs: await probsOf(dense.artifact, held), compactProbs: await probsOf(compact.artifact, held) };
}

describe('compact artifacts', () => {
  it('score held-out and unseen texts like the dense artifact of the same training, at under 10% of its size', async () => {
    // Default 2^18 buckets and 1,000 annotations: the case the layout is for.
    const ds = generateSynthetic(PRESETS.threeClass(1300, 41));
    const labels = ds.labels;
    const input = { texts: ds.texts.slice(0, 1000), targets: (ds.targets as number[]).slice(0, 1000), labels, mode: 'single' as const };
    const { dense, compact, denseProbs, compactProbs } = await denseVsCompact(input, heldOut(ds.texts.slice(1000)));

    expect(dense.metadata.layout).toBe('dense');
    expect(compact.metadata.layout).toBe('compact');
    expect(compact.metadata.rows).toBeLessThan(2 ** 18 / 8);
    expect(compact.artifact.length).toBeLessThan(dense.artifact.length * 0.1);
    expect(maxAbsDiff(compactProbs, denseProbs)).toBeLessThanOrEqual(1e-4);
    expect(compact.metrics).toEqual(dense.metrics);
  });

  it('keep the shared idf of unseen buckets: with idf off, unknown n-grams still dilute the norm', async () => {
    // Every unseen bucket has idf 1 here, so the shared last row must carry 1, not 0.
    const ds = generateSynthetic(PRESETS.fiveClassHard(700, 42));
    const input = { texts: ds.texts.slice(0, 600), targets: (ds.targets as number[]).slice(0, 600), labels: ds.labels, mode: 'single' as const, idf: false, bits: 16 };
    const { compact, denseProbs, compactProbs } = await denseVsCompact(input, heldOut(ds.texts.slice(600)));
    expect(compact.metadata.layout).toBe('compact');
    expect(maxAbsDiff(compactProbs, denseProbs)).toBeLessThanOrEqual(1e-4);
  });

  it('score multiple-choice models like the dense artifact', async () => {
    const ds = generateSynthetic(PRESETS.multiLabel(600, 43));
    const input = { texts: ds.texts.slice(0, 500), targets: (ds.targets as number[][]).slice(0, 500), labels: ds.labels, mode: 'multiple' as const, bits: 16 };
    const { compact, denseProbs, compactProbs } = await denseVsCompact(input, heldOut(ds.texts.slice(500)));
    expect(compact.metadata.layout).toBe('compact');
    expect(maxAbsDiff(compactProbs, denseProbs)).toBeLessThanOrEqual(1e-4);
  });

  it('report the memory they hold: a compact model well under half of a dense one', async () => {
    const { texts, targets } = fixtureTrainingSet();
    const input = { texts, targets, labels: FIXTURE_LABELS, mode: 'single' as const };
    const [dense, compact] = await Promise.all([
      trainTextClassifier({ ...input, layout: 'dense' }).then((r) => loadClassifier(r.artifact)),
      trainTextClassifier(input).then((r) => loadClassifier(r.artifact)),
    ]);
    // Dense: W + idf = 2^18 × 4 × 4 bytes = 4 MiB before the session.
    expect(dense.memoryBytes).toBeGreaterThan(4 * 2 ** 20);
    expect(compact.memoryBytes).toBeLessThan(dense.memoryBytes / 2);
    await Promise.all([dense.release(), compact.release()]);
  });
});

describe('the remap table at serving time', () => {
  it('is one initializer with the graph\'s values, not nodes that rebuild it on every run', async () => {
    const ds = generateSynthetic(PRESETS.threeClass(400, 43));
    const trained = await trainTextClassifier({ texts: ds.texts, targets: ds.targets as number[], labels: ds.labels, mode: 'single' });
    const stored = decodeModel(trained.artifact);
    expect(stored.graph!.node!.some((n) => n.opType === 'ScatterElements')).toBe(true);
    const served = withRemapTable(decodeModel(trained.artifact));
    const ops = served.graph!.node!.map((n) => n.opType);
    expect(ops).not.toContain('ScatterElements');
    expect(ops).not.toContain('ConstantOfShape');
    const remap = served.graph!.initializer!.find((t) => t.name === 'remap')!;
    const kept = stored.graph!.initializer!.find((t) => t.name === 'kept_buckets')!;
    const buckets = readInt32RawTensor(kept);
    const bytes = Uint8Array.from(remap.rawData!).buffer;
    const table = buckets.length + 1 <= 2 ** 15 ? new Int16Array(bytes) : new Int32Array(bytes);
    // One entry per feature column: 2^18 word buckets, and as many again when characters were chosen.
    const columns = featureColumns(trained.metadata.featurizer);
    expect(table.length).toBe(columns);
    expect(Array.from(buckets, (bucket) => table[bucket])).toEqual(Array.from(buckets, (_, row) => row));
    expect(table.filter((row) => row === buckets.length).length).toBe(columns - buckets.length);
    // A dense model has no table to build and comes back as it was.
    const dense = await trainTextClassifier({ texts: ds.texts, targets: ds.targets as number[], labels: ds.labels, mode: 'single', layout: 'dense' });
    expect(Buffer.from(encodeModel(withRemapTable(decodeModel(dense.artifact)))).equals(Buffer.from(encodeModel(decodeModel(dense.artifact))))).toBe(true);
  });
});

describe('dense artifacts from before the compact layout', () => {
  const old = new Uint8Array(readFileSync(fixture('dense-v1.onnx')));
  const recorded = JSON.parse(readFileSync(fixture('dense-v1.probs.json'), 'utf8')) as number[];

  it('still load and score exactly as when they were written', async () => {
    const meta = validateArtifact(old);
    expect(meta).toMatchObject({ layout: 'dense', rows: 2 ** 10, labels: FIXTURE_LABELS });
    expect(maxAbsDiff(await probsOf(old, FIXTURE_PROBE_TEXTS), recorded)).toBeLessThanOrEqual(1e-6);
  });

  it('are what the dense exporter still writes from the same weights, byte for byte', () => {
    const meta = validateArtifact(old);
    const model = decodeModel(old);
    const tensor = (name: string) => readFloatTensor(model.graph!.initializer!.find((t) => t.name === name)!);
    const again = encodeArtifact({
      labels: meta.labels,
      mode: meta.mode,
      featurizer: meta.featurizer,
      W: tensor('W'),
      b: tensor('b'),
      idf: tensor('idf'),
      threshold: meta.threshold,
      maxTextChars: meta.maxTextChars,
      ...(meta.metrics ? { metrics: meta.metrics } : {}),
      extra: meta.extra,
      layout: 'dense',
    });
    expect(Buffer.from(again).equals(Buffer.from(old))).toBe(true);
  });

  it('train again (without model selection, as then) into a compact artifact that scores the same', async () => {
    const { texts, targets } = fixtureTrainingSet();
    const input = { texts, targets, labels: FIXTURE_LABELS, mode: 'single' as const, bits: 10, metadata: { project: 'fixture' }, select: false };
    const compact = await trainTextClassifier(input);
    expect(compact.metadata.layout).toBe('compact');
    expect(maxAbsDiff(await probsOf(compact.artifact, FIXTURE_PROBE_TEXTS), recorded)).toBeLessThanOrEqual(1e-4);
  });
});

describe('compactWeights', () => {
  it('keeps buckets with a non-zero row or an idf other than the shared one, in order', () => {
    const W = new Float32Array([0, 0, 1, 2, 0, 0, 0, 0, 0, -3, 0, 0]); // 6 buckets × 2 classes
    const idf = new Float32Array([0, 2, 0, 5, 0, 0]);
    const c = compactWeights(W, idf, 2);
    expect(Array.from(c.buckets)).toEqual([1, 3, 4]);
    expect(Array.from(c.W)).toEqual([1, 2, 0, 0, 0, -3, 0, 0]);
    expect(Array.from(c.idf)).toEqual([2, 5, 0, 0]);
  });

  it('shares the idf of the first bucket with a zero row, whatever it is', () => {
    const c = compactWeights(new Float32Array([0, 7, 0, 0]), new Float32Array([1, 1, 1, 1]), 1);
    expect(Array.from(c.buckets)).toEqual([1]);
    expect(Array.from(c.idf)).toEqual([1, 1]);
  });

  it('writes a model that keeps no bucket at all (all zero), and it loads and scores the bias', async () => {
    const bits = 12;
    const artifact = encodeArtifact({
      labels: ['a', 'b'],
      mode: 'single',
      featurizer: { bits, ngramOrder: 2, hashSeed: 0 },
      W: new Float32Array(2 ** bits * 2),
      b: new Float32Array([1, 0]),
      idf: new Float32Array(2 ** bits),
    });
    expect(validateArtifact(artifact)).toMatchObject({ layout: 'compact', rows: 1 });
    const probs = await probsOf(artifact, ['hello world', '']);
    expect(maxAbsDiff(probs, [0.7310586, 0.2689414, 0.7310586, 0.2689414])).toBeLessThan(1e-6);
  });

  it('falls back to the dense file when a model uses (nearly) every bucket', () => {
    const bits = 10;
    const W = randomFloats(2 ** bits * 2, 5);
    const artifact = encodeArtifact({ labels: ['a', 'b'], mode: 'single', featurizer: { bits, ngramOrder: 2, hashSeed: 0 }, W, b: new Float32Array(2) });
    expect(validateArtifact(artifact).layout).toBe('dense');
  });
});

describe('validation of compact artifacts', () => {
  const { texts, targets } = fixtureTrainingSet();
  // Words only (format 2): selection could add the character block, which has its own tests below.
  const compactPromise = trainTextClassifier({ texts, targets, labels: FIXTURE_LABELS, mode: 'single', bits: 12, refit: false, charNgrams: false });

  function tamper(bytes: Uint8Array, change: (m: ModelProto) => void): Uint8Array {
    const model = decodeModel(bytes);
    change(model);
    return encodeModel(model);
  }
  const setMeta = (key: string, value: string | undefined) => (m: ModelProto) => {
    m.metadataProps = m.metadataProps.filter((p) => p.key !== key);
    if (value !== undefined) m.metadataProps.push({ key, value });
  };
  const kept = (m: ModelProto) => m.graph!.initializer!.find((t) => t.name === 'kept_buckets')!;
  function expectStructureError(bytes: Uint8Array, code: ArtifactError['code'], message: RegExp): void {
    expect(() => validateArtifact(bytes)).toThrow(ArtifactError);
    try {
      validateArtifact(bytes);
    } catch (error) {
      expect((error as ArtifactError).code).toBe(code);
      expect((error as Error).message).toMatch(message);
    }
  }

  it('refuses a version marker that disagrees with the kept-bucket count, and unknown versions', async () => {
    const { artifact, metadata } = await compactPromise;
    expect(metadata.layout).toBe('compact');
    expectStructureError(tamper(artifact, setMeta('kept_buckets', undefined)), 'metadata', /kept_buckets.*required with format_version 2/);
    expectStructureError(tamper(artifact, setMeta('format_version', '1')), 'metadata', /kept_buckets/);
    expectStructureError(tamper(artifact, setMeta('format_version', '4')), 'metadata', /format_version/);
    expectStructureError(tamper(artifact, setMeta('kept_buckets', String(metadata.rows))), 'structure', /W has shape/);
  });

  it('refuses a remap table that is not strictly increasing or leaves the bucket range', async () => {
    const { artifact, metadata } = await compactPromise;
    const rewrite = (edit: (ids: Int32Array) => void) =>
      tamper(artifact, (m) => {
        const tensor = kept(m);
        const ids = new Int32Array(new Uint8Array(tensor.rawData!).buffer);
        edit(ids);
        tensor.rawData = new Uint8Array(ids.buffer);
      });
    expectStructureError(rewrite((ids) => ids.reverse()), 'structure', /strictly increasing/);
    const columns = featureColumns(metadata.featurizer);
    expectStructureError(rewrite((ids) => (ids[ids.length - 1] = columns)), 'structure', new RegExp(`below ${columns}`));
    const short = tamper(artifact, (m) => {
      kept(m).rawData = kept(m).rawData!.subarray(4);
    });
    expectStructureError(short, 'structure', /kept_buckets/);
  });
});

describe('format 3: artifacts with a character block', () => {
  const featurizer = { bits: 10, ngramOrder: 1 as const, hashSeed: 0, charNgrams: { min: 2, max: 4, maxChars: 50 } };
  const C = 2;
  const columns = featureColumns(featurizer);
  const W = new Float32Array(columns * C).map((_, k) => (k % 97 === 0 ? 0.5 : 0));
  const idf = new Float32Array(columns).map((_, j) => (j % 97 === 0 ? 1.5 : 0));
  const setMeta = (key: string, value: string | undefined) => (m: ModelProto) => {
    m.metadataProps = m.metadataProps.filter((p) => p.key !== key);
    if (value !== undefined) m.metadataProps.push({ key, value });
  };
  const tamper = (bytes: Uint8Array, change: (m: ModelProto) => void) => {
    const model = decodeModel(bytes);
    change(model);
    return encodeModel(model);
  };

  it.each(['compact', 'dense'] as const)('are written as format 3 with their character settings (%s)', (layout) => {
    const artifact = encodeArtifact({ labels: ['a', 'b'], mode: 'single', featurizer, W, b: new Float32Array(C), idf, layout });
    const meta = validateArtifact(artifact);
    expect(meta).toMatchObject({ layout, featurizer });
    const props = Object.fromEntries(decodeModel(artifact).metadataProps.map((p) => [p.key, p.value]));
    expect(props).toMatchObject({ format_version: '3', char_ngrams: '2-4', char_max_chars: '50' });
    expect(() => validateArtifact(tamper(artifact, setMeta('char_ngrams', undefined)))).toThrow(/char_ngrams/);
    expect(() => validateArtifact(tamper(artifact, setMeta('char_ngrams', '4-2')))).toThrow(/orders/);
  });

  it('words-only artifacts keep format 1 / 2 and refuse character keys', () => {
    const words = { bits: 10, ngramOrder: 2 as const, hashSeed: 0 };
    const artifact = encodeArtifact({ labels: ['a', 'b'], mode: 'single', featurizer: words, W: W.subarray(0, 2 ** 10 * C), b: new Float32Array(C), idf: idf.subarray(0, 2 ** 10) });
    expect(decodeModel(artifact).metadataProps.find((p) => p.key === 'format_version')?.value).toBe('2');
    expect(() => validateArtifact(tamper(artifact, setMeta('char_ngrams', '2-4')))).toThrow(/char_ngrams/);
  });
});
