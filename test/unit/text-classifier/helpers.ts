/** Shared helpers for the text-classifier tests (real onnxruntime sessions, no mocks). */
import * as ort from 'onnxruntime-node';
import type { SparseRows } from '../../../models/text-classifier/lib/featurizer.js';
import { createRandom } from '../../../models/shared/random.js';
import { createSession } from '../../../models/shared/session.js';

/** Texts that exercise the normaliser and tokenizer: non-ASCII, empty, punctuation-only, one token. */
export const TRICKY_TEXTS = [
  'İstanbul is big',
  'ΟΔΟΣ and οδός',
  'Straße ÉCOLE ﬁne',
  'emoji 😀🎉 party',
  '東京タワーに行きました',
  'नमस्ते दुनिया',
  '',
  '!!! ... ???',
  'single',
  "don't stop believing, don't",
  'repeat repeat repeat repeat',
];

export async function runModel(model: Uint8Array, texts: string[]): Promise<Record<string, ort.Tensor>> {
  const session = await createSession(model);
  try {
    return await session.run({ text: new ort.Tensor('string', texts, [texts.length]) });
  } finally {
    await session.release();
  }
}

export function randomFloats(n: number, seed: number, scale = 1): Float32Array {
  const random = createRandom(seed);
  return Float32Array.from({ length: n }, () => (random() * 2 - 1) * scale);
}

/** Dense reference scoring of CSR rows in float64: z = x · W + b → softmax | sigmoid. */
export function scoreCsr(x: SparseRows, W: Float32Array, b: Float32Array, mode: 'single' | 'multiple'): Float64Array {
  const C = b.length;
  const out = new Float64Array(x.rows * C);
  for (let i = 0; i < x.rows; i++) {
    const z = Float64Array.from(b);
    for (let k = x.indptr[i]!; k < x.indptr[i + 1]!; k++) {
      for (let c = 0; c < C; c++) z[c] = z[c]! + x.values[k]! * W[x.indices[k]! * C + c]!;
    }
    if (mode === 'single') {
      const max = Math.max(...z);
      const sum = z.reduce((s, v) => s + Math.exp(v - max), 0);
      z.forEach((v, c) => (out[i * C + c] = Math.exp(v - max) / sum));
    } else {
      z.forEach((v, c) => (out[i * C + c] = 1 / (1 + Math.exp(-v))));
    }
  }
  return out;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

/** Row i of a CSR matrix as a bucket → value map. */
export function rowMap(x: SparseRows, i: number): Map<number, number> {
  const m = new Map<number, number>();
  for (let k = x.indptr[i]!; k < x.indptr[i + 1]!; k++) m.set(x.indices[k]!, x.values[k]!);
  return m;
}

/**
 * MurmurHash3 x86 32-bit over UTF-8, written here from the published algorithm, to check
 * independently that the graph hashes exactly the n-gram strings we expect.
 */
export function murmur3(text: string, seed = 0): number {
  const bytes = new TextEncoder().encode(text);
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  let h = seed >>> 0;
  const blocks = bytes.length >> 2;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < blocks; i++) {
    let k = view.getUint32(i * 4, true);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = blocks * 4;
  const remainder = bytes.length & 3;
  if (remainder > 0) {
    let k = 0;
    if (remainder >= 3) k ^= bytes[tail + 2]! << 16;
    if (remainder >= 2) k ^= bytes[tail + 1]! << 8;
    k ^= bytes[tail]!;
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
  }
  h ^= bytes.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export function bucketOf(ngram: string, bits: number, seed = 0): number {
  return murmur3(ngram, seed) & (2 ** bits - 1);
}
