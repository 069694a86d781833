import { describe, expect, it } from 'vitest';
import {
  buildFeaturizerGraph,
  buildTextClassifierGraph,
  CHAR_HASH_BASE,
  CHAR_HASH_PRIME,
  featurizerOutputs,
  NAMES,
  OPSET_AI_ONNX,
  resolveFeaturizerOptions,
  type CharNgrams,
  type NgramOrder,
} from '../../../models/text-classifier/lib/graph.js';
import { DataType, decodeModel, IR_VERSION, MS_DOMAIN, type ModelProto } from '../../../models/shared/onnx-builder.js';
import { bucketOf, murmur3, randomFloats, runModel, TRICKY_TEXTS } from './helpers.js';

const BITS = 12;
const LABELS = ['pos', 'neg', 'neutral'];

function classifier(mode: 'single' | 'multiple' = 'single', ngramOrder: NgramOrder = 2): Uint8Array {
  const rows = 2 ** BITS;
  return buildTextClassifierGraph({
    bits: BITS,
    ngramOrder,
    labels: LABELS,
    mode,
    weights: { W: randomFloats(rows * LABELS.length, 1, 2), b: randomFloats(LABELS.length, 2), idf: randomFloats(rows, 3).map(Math.abs) },
    metadata: { purpose: 'test' },
  });
}

/** Every node input must exist before the node runs: a graph input, an initializer or an earlier output. */
function undefinedInputs(model: ModelProto): string[] {
  const graph = model.graph!;
  const available = new Set<string>([...graph.input!.map((i) => i.name!), ...graph.initializer!.map((t) => t.name!)]);
  const missing: string[] = [];
  for (const node of graph.node!) {
    for (const input of node.input!) if (input !== '' && !available.has(input)) missing.push(`${node.opType}:${input}`);
    for (const output of node.output!) available.add(output);
  }
  for (const output of graph.output!) if (!available.has(output.name!)) missing.push(`graph output:${output.name}`);
  return missing;
}

function shapeOf(info: { type?: { tensorType?: { shape?: { dim?: { dimValue?: unknown; dimParam?: string | null }[] | null } | null } | null } | null }) {
  return (info.type?.tensorType?.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : Number(d.dimValue)));
}

describe('classifier graph structure', () => {
  const model = decodeModel(classifier());

  it('decodes with onnx-proto and declares IR, opsets and metadata', () => {
    expect(Number(model.irVersion)).toBe(IR_VERSION);
    const opsets = Object.fromEntries(model.opsetImport.map((o) => [o.domain, Number(o.version)]));
    expect(opsets).toEqual({ '': OPSET_AI_ONNX, [MS_DOMAIN]: 1 });
    expect(model.metadataProps.map((p) => [p.key, p.value])).toEqual([['purpose', 'test']]);
  });

  it('is topologically ordered: every input is produced before use', () => {
    expect(undefinedInputs(model)).toEqual([]);
  });

  it('declares a string [N] input and a float [N, C] output', () => {
    const graph = model.graph!;
    expect(graph.input!.map((i) => [i.name, i.type?.tensorType?.elemType, shapeOf(i)])).toEqual([[NAMES.input, DataType.STRING, ['N']]]);
    expect(graph.output!.map((o) => [o.name, o.type?.tensorType?.elemType, shapeOf(o)])).toEqual([[NAMES.output, DataType.FLOAT, ['N', 3]]]);
  });

  it('stores W [2^bits, C], idf [2^bits] and b [C] as raw float data', () => {
    const init = new Map(model.graph!.initializer!.map((t) => [t.name, t]));
    expect(init.get('W')!.dims!.map(Number)).toEqual([2 ** BITS, 3]);
    expect(init.get('W')!.rawData!.length).toBe(2 ** BITS * 3 * 4);
    expect(init.get('idf')!.dims!.map(Number)).toEqual([2 ** BITS]);
    expect(init.get('b')!.dims!.map(Number)).toEqual([3]);
  });

  it('uses the contrib Tokenizer and MurmurHash3 and the C.UTF-8 locale', () => {
    const ops = model.graph!.node!.map((n) => `${n.domain || 'ai.onnx'}:${n.opType}`);
    expect(ops).toContain(`${MS_DOMAIN}:Tokenizer`);
    expect(ops).toContain(`${MS_DOMAIN}:MurmurHash3`);
    const normalizer = model.graph!.node!.find((n) => n.opType === 'StringNormalizer')!;
    const locale = normalizer.attribute!.find((a) => a.name === 'locale')!;
    expect(new TextDecoder().decode(locale.s!)).toBe('C.UTF-8');
  });

  it('ends with Softmax for single choice and Sigmoid for multiple choice', () => {
    expect(model.graph!.node!.at(-1)!.opType).toBe('Softmax');
    expect(decodeModel(classifier('multiple')).graph!.node!.at(-1)!.opType).toBe('Sigmoid');
  });

  it('rejects inconsistent options', () => {
    expect(() => buildTextClassifierGraph({ bits: 4, labels: LABELS, mode: 'single', metadata: {} })).toThrow(/bits/);
    expect(() => buildTextClassifierGraph({ bits: BITS, labels: [], mode: 'single', metadata: {} })).toThrow(/label/);
    expect(() =>
      buildTextClassifierGraph({ bits: BITS, labels: LABELS, mode: 'single', metadata: {}, weights: { W: new Float32Array(5), b: new Float32Array(3) } }),
    ).toThrow(/W must have/);
    expect(() => buildFeaturizerGraph({ bits: BITS, ngramOrder: 4 as NgramOrder })).toThrow(/ngramOrder/);
  });
});

describe('classifier graph in onnxruntime', () => {
  it('loads in a fresh session and returns one probability row per text', async () => {
    const out = await runModel(classifier(), TRICKY_TEXTS);
    const probs = out[NAMES.output]!;
    expect(probs.dims).toEqual([TRICKY_TEXTS.length, 3]);
    const data = probs.data as Float32Array;
    for (let i = 0; i < TRICKY_TEXTS.length; i++) {
      expect(data[i * 3]! + data[i * 3 + 1]! + data[i * 3 + 2]!).toBeCloseTo(1, 5);
    }
  });

  it('gives identical outputs from two independently created sessions', async () => {
    const bytes = classifier('single', 3);
    const [a, b] = await Promise.all([runModel(bytes, TRICKY_TEXTS), runModel(bytes, TRICKY_TEXTS)]);
    expect(Array.from(a[NAMES.output]!.data as Float32Array)).toEqual(Array.from(b[NAMES.output]!.data as Float32Array));
  });

  it('scores texts without tokens by the bias alone, also when no text in the batch has a token', async () => {
    const b = new Float32Array([1, 0, -1]);
    const bytes = buildTextClassifierGraph({
      bits: BITS,
      labels: LABELS,
      mode: 'single',
      weights: { W: randomFloats(2 ** BITS * 3, 4, 5), b },
      metadata: {},
    });
    const expected = softmax([1, 0, -1]).map((p) => expect.closeTo(p, 6));
    // [batch, how many leading texts have no token]
    const cases: [string[], number][] = [[[''], 1], [['', '!!!', '  \n\t '], 3], [['?', 'word'], 1]];
    for (const [batch, tokenless] of cases) {
      const data = (await runModel(bytes, batch))[NAMES.output]!.data as Float32Array;
      for (let i = 0; i < tokenless; i++) expect(Array.from(data.subarray(i * 3, i * 3 + 3))).toEqual(expected);
      if (tokenless < batch.length) expect(Array.from(data.subarray(tokenless * 3, tokenless * 3 + 3))).not.toEqual(expected);
    }
  });

  it('multiple choice outputs independent sigmoids (rows need not sum to 1)', async () => {
    const b = new Float32Array([2, 2, 2]);
    const bytes = buildTextClassifierGraph({ bits: BITS, labels: LABELS, mode: 'multiple', weights: { W: new Float32Array(2 ** BITS * 3), b }, metadata: {} });
    const data = (await runModel(bytes, ['anything at all']))[NAMES.output]!.data as Float32Array;
    expect(Array.from(data)).toEqual([1, 2, 3].map(() => expect.closeTo(1 / (1 + Math.exp(-2)), 6)));
  });
});

describe('featurizer graph', () => {
  /** Every (bucket, count) slot of every output block, per text. */
  async function features(texts: string[], ngramOrder: NgramOrder = 2, charNgrams?: CharNgrams) {
    const options = resolveFeaturizerOptions({ bits: BITS, ngramOrder, ...(charNgrams ? { charNgrams } : {}) });
    const out = await runModel(buildFeaturizerGraph(options), texts);
    const rows = texts.map(() => [] as [number, number][]);
    for (const block of featurizerOutputs(options, 'counts')) {
      const indices = out[block.indices]!;
      const weights = out[block.weights]!;
      const width = texts.length === 0 ? 0 : (indices.dims[1] as number);
      rows.forEach((grams, i) => {
        for (let k = i * width; k < (i + 1) * width; k++) {
          const w = (weights.data as Float32Array)[k]!;
          if (w !== 0) grams.push([(indices.data as Int32Array)[k]!, w]);
        }
      });
    }
    return rows.map((grams) => grams.sort((a, b) => a[0] - b[0] || a[1] - b[1]));
  }
  const expectedBuckets = (grams: string[]) => grams.map((g) => [bucketOf(g, BITS), 1] as [number, number]).sort((a, b) => a[0] - b[0]);

  it('emits lowercased unigrams and bigrams hashed with MurmurHash3 (x86, 32-bit, seed 0)', async () => {
    const [row] = await features(['Hello, World!  Foo']);
    expect(row).toEqual(expectedBuckets(['hello', 'world', 'foo', 'hello world', 'world foo']));
  });

  it('emits trigrams when asked, and no bigram/trigram for a single token', async () => {
    const [three, one, two] = await features(['a b c', 'solo', 'x y'], 3);
    expect(three).toEqual(expectedBuckets(['a', 'b', 'c', 'a b', 'b c', 'a b c']));
    expect(one).toEqual(expectedBuckets(['solo']));
    expect(two).toEqual(expectedBuckets(['x', 'y', 'x y']));
  });

  it('returns no features for empty and punctuation-only texts, alone or in a batch', async () => {
    expect(await features(['', '...'])).toEqual([[], []]);
    const [empty, punctuation, real] = await features(['', '?!', 'ok']);
    expect(empty).toEqual([]);
    expect(punctuation).toEqual([]);
    expect(real).toEqual(expectedBuckets(['ok']));
  });

  it('tokenises spaceless scripts per character and keeps combining marks inside words', async () => {
    const [japanese, hindi] = await features(['東京タワー', 'नमस्ते दुनिया']);
    expect(japanese).toEqual(expectedBuckets(['東', '京', 'タ', 'ワ', 'ー', '東 京', '京 タ', 'タ ワ', 'ワ ー']));
    expect(hindi).toEqual(expectedBuckets(['नमस्ते', 'दुनिया', 'नमस्ते दुनिया']));
  });

  it("lowercases with glibc's C.UTF-8 rules, not JavaScript's", async () => {
    // JS: 'İ'.toLowerCase() is 'i̇' (two code points) and final Σ becomes 'ς'; glibc maps İ→i and Σ→σ.
    const [dotted, plain, upperSigma, lowerSigma] = await features(['İstanbul', 'istanbul', 'ΟΔΟΣ', 'οδοσ']);
    expect(dotted).toEqual(plain);
    expect(upperSigma).toEqual(lowerSigma);
    expect(dotted).toEqual(expectedBuckets(['istanbul']));
    expect(plain).not.toEqual(expectedBuckets(['İstanbul'.toLowerCase()]));
  });

  it("gives a text the same features whatever else is in its batch (padding is masked)", async () => {
    const [alone] = await features(['short text']);
    const [batched] = await features(['short text', 'a much longer text with many more words in it', '']);
    expect(batched).toEqual(alone);
  });

  describe('character n-grams', () => {
    const CHARS: CharNgrams = { min: 2, max: 4, maxChars: 12 };
    /**
     * Independent reference: code points of ' ' + lowercased text (first maxChars), MurmurHash3 of each
     * (unsigned), rolling hash (h · BASE + u) mod PRIME in BigInt, low bits, offset by 2^bits.
     */
    function charBuckets(lowered: string, c: CharNgrams): [number, number][] {
      const chars = [...` ${lowered}`].slice(0, c.maxChars);
      const u = chars.map((ch) => BigInt(murmur3(ch)));
      const counts = new Map<number, number>();
      for (let n = c.min; n <= c.max; n++) {
        for (let i = 0; i + n <= chars.length; i++) {
          let h = u[i]!;
          for (let k = 1; k < n; k++) h = (h * BigInt(CHAR_HASH_BASE) + u[i + k]!) % BigInt(CHAR_HASH_PRIME);
          const bucket = Number(h & BigInt(2 ** BITS - 1)) + 2 ** BITS;
          counts.set(bucket, (counts.get(bucket) ?? 0) + 1);
        }
      }
      return [...counts];
    }
    const wordsOnly = async (text: string) => (await features([text], 1))[0]!;
    const charsOnly = async (texts: string[]) => (await features(texts, 1, CHARS)).map((row) => row.filter(([bucket]) => bucket >= 2 ** BITS));
    /** Slots of one text summed per bucket (a bucket can take several n-grams). */
    const summed = (row: [number, number][]) => {
      const m = new Map<number, number>();
      for (const [bucket, w] of row) m.set(bucket, (m.get(bucket) ?? 0) + w);
      return [...m].sort((a, b) => a[0] - b[0]);
    };

    it('hashes code points (not bytes or UTF-16 units) of the lowercased prefix into their own bucket range', async () => {
      const texts = ['Héllo 😀 東京', 'ab', '', 'A much longer text than twelve characters'];
      const rows = await charsOnly(texts);
      const lowered = ['héllo 😀 東京', 'ab', '', 'a much longer text than twelve characters'];
      rows.forEach((row, i) => expect(summed(row)).toEqual(charBuckets(lowered[i]!, CHARS).sort((a, b) => a[0] - b[0])));
      // The empty text still has its leading space: one character, no 2-gram.
      expect(rows[2]).toEqual([]);
      expect(rows[3]!.reduce((s, [, w]) => s + w, 0)).toBe(11 + 10 + 9); // 12 characters → 11 + 10 + 9 n-grams
    });

    it('keeps the word block as it was and pads characters per text, whatever the batch', async () => {
      const [withChars] = await features(['short text'], 1, CHARS);
      expect(withChars!.filter(([bucket]) => bucket < 2 ** BITS)).toEqual(await wordsOnly('short text'));
      const [alone] = await charsOnly(['short text']);
      const [batched] = await charsOnly(['short text', 'a much longer text with many more words in it', '']);
      expect(batched).toEqual(alone);
    });
  });
});

function softmax(z: number[]): number[] {
  const max = Math.max(...z);
  const e = z.map((v) => Math.exp(v - max));
  const sum = e.reduce((s, v) => s + v, 0);
  return e.map((v) => v / sum);
}
