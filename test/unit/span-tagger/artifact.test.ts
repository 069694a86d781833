import { describe, expect, it } from 'vitest';
import { expectArtifactError as expectArtifactErrorOf, setMeta, tamper } from '../../support/artifacts.js';
import {
  ARTIFACT_FORMAT,
  ArtifactError,
  DEFAULT_TEMPLATES,
  encodeArtifact,
  loadSpanTagger,
  readArtifactMetadata,
  validateArtifact,
} from '../../../models/span-tagger/lib/index.js';
import { NAMES } from '../../../models/span-tagger/lib/graph.js';
import { tagCount } from '../../../models/span-tagger/lib/tags.js';
import { encodeArtifact as encodeClassifier } from '../../../models/text-classifier/lib/artifact.js';
import { int32RawTensor } from '../../../models/shared/onnx-builder.js';
import { createRandom } from '../../../models/shared/random.js';

const BITS = 10;
const LABELS = ['Name', 'Number'];
const K = tagCount(LABELS.length);

/** Random weights on every third bucket (the others stay zero, so the file keeps a third of them). */
function weights(seed: number): Float32Array {
  const random = createRandom(seed);
  const W = new Float32Array(2 ** BITS * K);
  for (let r = 0; r < 2 ** BITS; r += 3) for (let k = 0; k < K; k++) W[r * K + k] = random() * 2 - 1;
  return W;
}

const input = {
  labels: LABELS,
  templates: DEFAULT_TEMPLATES,
  bits: BITS,
  hashSeed: 5,
  W: weights(1),
  transitions: new Float64Array((K + 1) * K).map((_, i) => (i % 7) / 10),
  metrics: { heldOut: null, trainSize: 3 },
  extra: { project: '42' },
};
const good = encodeArtifact(input);



const expectArtifactError = (fn: () => unknown, code: ArtifactError['code'], message: RegExp) => expectArtifactErrorOf(ArtifactError, fn, code, message);

describe('span-tagger artifact', () => {
  it('keeps only the buckets with a weight, and reads its metadata back', () => {
    const { meta, kept } = validateArtifact(good);
    expect(kept.length).toBe(Math.ceil(2 ** BITS / 3));
    expect(Array.from(kept.slice(0, 3))).toEqual([0, 3, 6]);
    expect(meta.rows).toBe(kept.length + 1);
    expect(meta.labels).toEqual(LABELS);
    expect(meta.features).toMatchObject({ bits: BITS, hashSeed: 5 });
    expect(meta.features.templates.map((t) => t.name)).toEqual(DEFAULT_TEMPLATES);
    expect(Array.from(meta.transitions)).toEqual(Array.from(Float32Array.from(input.transitions)));
    expect(meta.extra).toEqual({ project: '42' });
    expect(readArtifactMetadata(good).metrics).toEqual({ heldOut: null, trainSize: 3 });
    // A third of the dense weights plus 4 bytes per kept id, and a little metadata.
    expect(good.length).toBeLessThan((2 ** BITS / 3) * (K + 1) * 4 + 4096);
  });

  it('serves exactly the stored weights: a token\'s scores are the sum of its features\' rows', async () => {
    const tagger = await loadSpanTagger(good);
    try {
      const encoded = tagger.encode('Ann paid 3 dollars.');
      const [scores] = await tagger.score([encoded]);
      const F = DEFAULT_TEMPLATES.length;
      for (let t = 0; t < encoded.tokens.count; t++) {
        for (let k = 0; k < K; k++) {
          let sum = 0;
          for (let f = 0; f < F; f++) sum += input.W[encoded.feats[t * F + f]! * K + k]!;
          expect(scores![t * K + k]).toBeCloseTo(sum, 5);
        }
      }
    } finally {
      await tagger.release();
    }
  });

  it('refuses bytes that are not an ONNX model', () => {
    expectArtifactError(() => validateArtifact(new Uint8Array(0)), 'decode', /empty/);
    expectArtifactError(() => validateArtifact(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f])), 'decode', /not a decodable ONNX model/);
  });

  it('refuses another format, another version, and broken metadata', () => {
    const classifier = encodeClassifier({ labels: ['a', 'b'], mode: 'single', featurizer: { bits: 8, ngramOrder: 1, hashSeed: 0 }, W: new Float32Array(2 ** 8 * 2), b: new Float32Array(2) });
    expectArtifactError(() => validateArtifact(classifier), 'metadata', /format is "ls-ml-backend.text-classifier", expected "ls-ml-backend.span-tagger"/);
    expect(ARTIFACT_FORMAT).toBe('ls-ml-backend.span-tagger');
    expectArtifactError(() => validateArtifact(tamper(good, setMeta('format_version', '2'))), 'metadata', /format_version/);
    expectArtifactError(() => validateArtifact(tamper(good, setMeta('labels', '["a","a"]'))), 'metadata', /unique/);
    expectArtifactError(() => validateArtifact(tamper(good, setMeta('feature_templates', '["word@0","color@0"]'))), 'metadata', /unknown attribute/);
    expectArtifactError(() => validateArtifact(tamper(good, setMeta('transitions', '[1,2,3]'))), 'metadata', /transitions/);
    expectArtifactError(() => validateArtifact(tamper(good, setMeta('tokenizer', 'other'))), 'metadata', /tokenizer/);
    expectArtifactError(() => validateArtifact(tamper(good, setMeta('bits', '99'))), 'metadata', /bits/);
  });

  it('refuses a graph that disagrees with its metadata', () => {
    const narrowOutput = tamper(good, (m) => void (m.graph!.output![0]!.type!.tensorType!.shape!.dim![1]!.dimValue = 4));
    expectArtifactError(() => validateArtifact(narrowOutput), 'structure', /output "scores" of shape \[T, 5\]/);
    expectArtifactError(() => validateArtifact(tamper(good, setMeta('feature_templates', '["word@0"]'))), 'structure', /\[T, 1\]/);
    expectArtifactError(() => validateArtifact(tamper(good, setMeta('kept_features', '12'))), 'structure', /W must be float \[13, 5\]/);
    const unsorted = tamper(good, (m) => {
      const kept = validateArtifact(good).kept.slice();
      [kept[0], kept[1]] = [kept[1]!, kept[0]!];
      m.graph!.initializer = m.graph!.initializer!.map((t) => (t.name === NAMES.kept ? int32RawTensor(NAMES.kept, [kept.length], kept) : t));
    });
    expectArtifactError(() => validateArtifact(unsorted), 'structure', /strictly increasing/);
    expectArtifactError(() => validateArtifact(tamper(good, (m) => void (m.graph!.node = m.graph!.node!.slice(0, 1)))), 'structure', /Gather, ReduceSum/);
    expectArtifactError(() => validateArtifact(tamper(good, (m) => void (m.graph!.initializer = m.graph!.initializer!.filter((t) => t.name !== 'W')))), 'structure', /"W" is missing/);
  });

  it('fails to load, with the artifact error, when onnxruntime rejects the graph', async () => {
    const broken = tamper(good, (m) => void (m.graph!.node![1]!.opType = 'NoSuchOp'));
    // Static checks catch a changed op first; a missing input name only onnxruntime notices.
    expectArtifactError(() => validateArtifact(broken), 'structure', /NoSuchOp/);
    const dangling = tamper(good, (m) => void (m.graph!.node![1]!.input = ['nowhere', 'axis1']));
    await expect(loadSpanTagger(dangling)).rejects.toMatchObject({ name: 'ArtifactError', code: 'session' });
  });

  it('refuses reserved metadata keys and malformed weights when encoding', () => {
    expect(() => encodeArtifact({ ...input, extra: { labels: 'x' } })).toThrow(/reserved/);
    expect(() => encodeArtifact({ ...input, W: new Float32Array(7) })).toThrow(/W must have/);
    expect(() => encodeArtifact({ ...input, templates: ['word@9'] })).toThrow(/offset/);
  });
});
