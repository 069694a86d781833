/**
 * The text classifier as ONE self-contained ONNX graph (no vocabulary, no tokenizer outside):
 *
 *   text:string[N] → StringNormalizer(LOWER, C.UTF-8) → Tokenizer(regexp) → word n-grams
 *     → MurmurHash3 → bucket = hash & (2^bits − 1) [→ row = remap[bucket], compact layout only]
 *     → weight = idf[row] / ‖idf over the text's n-grams‖₂ (tf-idf, L2-normalised)
 *     → Gather(W[rows, C]) · weight → Σ over n-grams + b → Softmax | Sigmoid → probs:float[N, C]
 *
 * With a character block (format 3) the text also goes through character n-grams (charNodes) hashed into
 * buckets [2^bits, 2^(bits+1)), and each block is tf-idf weighted and normalised on its own.
 *
 * The featurizer variant stops after the weights and outputs (indices, weights) per n-gram slot.
 * Training runs it (with raw-count weights, since idf is learned from the training set) through
 * onnxruntime, so train and serve tokenise, lowercase and hash with the very same kernels
 * (JS `toLowerCase` disagrees with glibc on 'İ' and final sigma). Against plain normalised counts,
 * idf measured +1 point of accuracy on the 5-class benchmark and +0.4 on the 3-class one, and was
 * within noise (−0.3 / −0.5) on the spam corpus and the multi-label set (bench/accuracy/README.md).
 */
import {
  DataType,
  MS_DOMAIN,
  buildModel,
  encodeModel,
  floatTensor,
  int32RawTensor,
  int32Tensor,
  intTensor,
  int64Tensor,
  node,
  readInt32RawTensor,
  stringTensor,
  valueInfo,
  type ModelProto,
  type NodeProto,
  type TensorProto,
} from '../../shared/onnx-builder.js';

export type ClassifierMode = 'single' | 'multiple';
export type NgramOrder = 1 | 2 | 3;

/**
 * Tokens: one CJK/kana/Thai-family character at a time (those scripts write no spaces, so single
 * characters and their bigrams are the useful features; U+30FC is the kana length mark),
 * otherwise maximal runs of letters, digits, underscore and combining marks (marks keep
 * Devanagari/Arabic words whole). RE2 syntax; `[^\P{L}...]` reads "a letter that is not one of ...".
 */
const SPACELESS_SCRIPTS = '\\p{Han}\\p{Hiragana}\\p{Katakana}\\x{30FC}\\p{Thai}\\p{Lao}\\p{Khmer}\\p{Myanmar}';
export const TOKEN_PATTERN = `[${SPACELESS_SCRIPTS}]|(?:[^\\P{L}${SPACELESS_SCRIPTS}]|[\\p{N}\\p{M}_])+`;

/** Pads the Tokenizer output; it can never be a token because the pattern excludes '#'. */
const PAD = '#';
const NGRAM_SEPARATOR = ' ';
export const OPSET_AI_ONNX = 20;
export const OPSET_MS = 1;
export const MIN_BITS = 8;
export const MAX_BITS = 22;
/** Slice end meaning "to the end of the axis". */
const SLICE_END = 2 ** 62;

export interface FeaturizerOptions {
  /** log2 of the hash table size (of each block: words, and characters when on) */
  bits: number;
  /** longest word n-gram (1 = unigrams only) */
  ngramOrder: NgramOrder;
  /** MurmurHash3 seed */
  hashSeed: number;
  /** character n-grams, a second block hashed into buckets [2^bits, 2^(bits+1)); absent = words only */
  charNgrams?: CharNgrams;
}

/**
 * Character n-grams of orders min..max over the first `maxChars` code points of the lowercased text,
 * preceded by one space (so the text's start is a feature, and an empty text still has a character).
 */
export interface CharNgrams {
  min: number;
  max: number;
  maxChars: number;
}

export const MAX_CHAR_ORDER = 6;
/** RE2 refuses a repetition count above 1000, and the prefix is one `.{1,maxChars}` match. */
export const MAX_CHAR_PREFIX = 1000;

/** Defaults measured in bench/accuracy: trigrams did not beat bigrams on any benchmark set. */
export const DEFAULT_FEATURIZER_OPTIONS: FeaturizerOptions = { bits: 18, ngramOrder: 2, hashSeed: 0 };

export interface ClassifierGraphOptions extends Partial<FeaturizerOptions> {
  bits: number;
  labels: string[];
  mode: ClassifierMode;
  /**
   * W: 2^bits × C row-major, b: C, idf: 2^bits. Omitted W/b → zeros (uniform softmax / 0.5
   * sigmoid); omitted idf → all ones (plain L2-normalised counts).
   */
  weights?: { W: Float32Array; b: Float32Array; idf?: Float32Array };
  /**
   * Compact layout (compact.ts): the sorted buckets the model keeps. Bucket `buckets[k]` reads row k of
   * W and idf; every other bucket reads the last row (K), shared. W is then (K + 1) × C and idf K + 1.
   */
  buckets?: Int32Array;
  metadata: Record<string, string>;
}

/** Tensor names shared by the builder, the featurizer, the artifact checks and the tests. */
export const NAMES = {
  input: 'text',
  output: 'probs',
  indices: 'indices',
  weights: 'weights',
  W: 'W',
  b: 'b',
  idf: 'idf',
  /** compact layout: the kept bucket ids (int32 [K], strictly increasing) */
  kept: 'kept_buckets',
  /** compact layout: the row of W / idf each n-gram slot reads (int32 [N, G]) */
  rows: 'rows',
} as const;

/** Picks the featurizer fields (callers pass larger option objects) and fills in defaults. */
export function resolveFeaturizerOptions(options: Partial<FeaturizerOptions>): FeaturizerOptions {
  const resolved: FeaturizerOptions = {
    bits: options.bits ?? DEFAULT_FEATURIZER_OPTIONS.bits,
    ngramOrder: options.ngramOrder ?? DEFAULT_FEATURIZER_OPTIONS.ngramOrder,
    hashSeed: options.hashSeed ?? DEFAULT_FEATURIZER_OPTIONS.hashSeed,
    // Only present when on, so word-only options (and their metadata) look exactly as before.
    ...(options.charNgrams ? { charNgrams: { ...options.charNgrams } } : {}),
  };
  assertFeaturizerOptions(resolved);
  return resolved;
}

/** Columns of the feature space: the word block, plus as many again for the character block. */
export function featureColumns(o: FeaturizerOptions): number {
  return 2 ** o.bits * (o.charNgrams ? 2 : 1);
}

export function assertFeaturizerOptions(o: FeaturizerOptions): void {
  if (!Number.isInteger(o.bits) || o.bits < MIN_BITS || o.bits > MAX_BITS) {
    throw new RangeError(`bits must be an integer in [${MIN_BITS}, ${MAX_BITS}], got ${o.bits}`);
  }
  if (![1, 2, 3].includes(o.ngramOrder)) throw new RangeError(`ngramOrder must be 1, 2 or 3, got ${o.ngramOrder}`);
  if (!Number.isInteger(o.hashSeed) || o.hashSeed < 0 || o.hashSeed > 0x7fffffff) {
    throw new RangeError(`hashSeed must be a non-negative 31-bit integer, got ${o.hashSeed}`);
  }
  const c = o.charNgrams;
  if (c && !(Number.isInteger(c.min) && Number.isInteger(c.max) && c.min >= 1 && c.min <= c.max && c.max <= MAX_CHAR_ORDER)) {
    throw new RangeError(`charNgrams orders must be integers with 1 ≤ min ≤ max ≤ ${MAX_CHAR_ORDER}, got ${c.min}..${c.max}`);
  }
  if (c && !(Number.isInteger(c.maxChars) && c.maxChars >= 1 && c.maxChars <= MAX_CHAR_PREFIX)) {
    throw new RangeError(`charNgrams.maxChars must be an integer in [1, ${MAX_CHAR_PREFIX}], got ${c.maxChars}`);
  }
}

/**
 * How n-gram slots are weighted:
 * - 'counts': 1 per real n-gram, 0 on padding (the trainer's input: summed per bucket = counts);
 * - 'tfidf': count · idf[bucket], L2-normalised per text (what the classifier scores).
 *   The norm runs over n-gram occurrences, i.e. ‖x‖² = Σ_bucket count · idf², which equals the
 *   usual L2 norm whenever no n-gram repeats in a text; trainer.ts applies the same formula.
 */
export type Weighting = 'counts' | 'tfidf';

/** Keeps token-less texts at weight 0 instead of 0/0 = NaN. */
export const NORM_EPSILON = 1e-12;

/** Lowercasing, word tokens and the shifted word n-grams (strings), with their validity masks, per order. */
function wordGramNodes(o: FeaturizerOptions): { nodes: NodeProto[]; gramNames: string[]; validNames: string[] } {
  const nodes: NodeProto[] = [
    // The default locale (en_US.UTF-8) is not installed on slim images and fails session creation;
    // C.UTF-8 always exists and still lowercases all of Unicode.
    node('StringNormalizer', [NAMES.input], ['lower'], { case_change_action: 'LOWER', locale: 'C.UTF-8' }),
    node('Tokenizer', ['lower'], ['tokens'], { mark: 0, mincharnum: 1, pad_value: PAD, tokenexp: TOKEN_PATTERN }, MS_DOMAIN),
    node('Equal', ['tokens', 'pad'], ['is_pad']),
    node('Not', ['is_pad'], ['token_valid']),
  ];
  const gramNames = ['tokens'];
  const validNames = ['token_valid'];
  for (let n = 2; n <= o.ngramOrder; n++) {
    nodes.push(...ngramNodes(n));
    gramNames.push(`gram${n}`);
    // Pads only trail, so an n-gram is real exactly when its last token is.
    nodes.push(node('Slice', ['token_valid', `start${n - 1}`, 'end_max', 'axis1'], [`gram${n}_valid`]));
    validNames.push(`gram${n}_valid`);
  }
  return { nodes, gramNames, validNames };
}

function wordInitializers(o: FeaturizerOptions): TensorProto[] {
  return [
    stringTensor('pad', [], [PAD]),
    stringTensor('separator', [], [NGRAM_SEPARATOR]),
    int64Tensor('axis1', [1], [1]),
    int64Tensor('end_max', [1], [SLICE_END]),
    int32Tensor('bucket_mask', [], [2 ** o.bits - 1]),
    ...Array.from({ length: o.ngramOrder }, (_, k) => int64Tensor(`start${k}`, [1], [k])),
    ...Array.from({ length: o.ngramOrder - 1 }, (_, k) => int64Tensor(`end_minus${k + 1}`, [1], [-(k + 1)])),
  ];
}

/** Nodes + constants of the shared front half: raw strings → (bucket indices, weights), both [N, G]. */
function featurizerNodes(
  o: FeaturizerOptions,
  weighting: Weighting,
  buckets?: Int32Array,
): { nodes: NodeProto[]; initializers: TensorProto[]; rows: string } {
  if (o.charNgrams || weighting === 'counts') return blockFeaturizerNodes(o, weighting, buckets);
  // Words only: this exact graph (names and order) is what format 1 and 2 artifacts hold.
  const { nodes, gramNames, validNames } = wordGramNodes(o);
  nodes.push(
    node('Concat', gramNames, ['grams'], { axis: 1 }),
    node('Concat', validNames, ['grams_valid'], { axis: 1 }),
    node('Cast', ['grams_valid'], ['mask'], { to: DataType.FLOAT }),
    // positive=0 gives int32 (positive=1 would force uint32); the mask keeps the low bits either way.
    node('MurmurHash3', ['grams'], ['hash'], { positive: 0, seed: o.hashSeed }, MS_DOMAIN),
    node('BitwiseAnd', ['hash', 'bucket_mask'], [NAMES.indices]),
  );
  const rows = buckets ? NAMES.rows : NAMES.indices;
  if (buckets) nodes.push(...remapTableNodes(buckets.length), ...remapGatherNodes(buckets.length, NAMES.indices, NAMES.rows, 'rows16'));
  nodes.push(...tfidfNodes('', rows, 'mask', NAMES.weights));
  const initializers = [
    ...wordInitializers(o),
    floatTensor('epsilon', [], new Float32Array([NORM_EPSILON])),
    ...(buckets ? remapInitializers(featureColumns(o), buckets) : []),
  ];
  return { nodes, initializers, rows };
}

/** weight = mask · idf[row] / ‖mask · idf‖₂ over the block's slots of each text. */
function tfidfNodes(prefix: string, rows: string, mask: string, weights: string): NodeProto[] {
  return [
    node('Gather', [NAMES.idf, rows], [`${prefix}gram_idf`], { axis: 0 }),
    node('Mul', [mask, `${prefix}gram_idf`], [`${prefix}unnormalised`]),
    node('Mul', [`${prefix}unnormalised`, `${prefix}unnormalised`], [`${prefix}squared`]),
    node('ReduceSum', [`${prefix}squared`, 'axis1'], [`${prefix}sum_squares`], { keepdims: 1 }),
    node('Max', [`${prefix}sum_squares`, 'epsilon'], [`${prefix}sum_squares_safe`]),
    node('Sqrt', [`${prefix}sum_squares_safe`], [`${prefix}norm`]),
    node('Div', [`${prefix}unnormalised`, `${prefix}norm`], [weights]),
  ];
}

/** Output names of the training featurizer's blocks: one per word n-gram order, then the characters. */
export function featurizerBlocks(o: FeaturizerOptions): { name: string; indices: string; weights: string }[] {
  const names = [...Array.from({ length: o.ngramOrder }, (_, k) => `w${k + 1}`), ...(o.charNgrams ? ['c'] : [])];
  return names.map((name) => ({ name, indices: `${NAMES.indices}_${name}`, weights: `${NAMES.weights}_${name}` }));
}

/**
 * Front half by blocks. 'counts' (training) outputs every word order and the characters separately, so
 * model selection can combine them without featurizing again. 'tfidf' (serving, with a character
 * block): each block (word n-grams, character n-grams) is tf-idf weighted and L2-normalised on its
 * own, like concatenating two vectorisers, so the many character n-grams do not drown the words.
 */
function blockFeaturizerNodes(
  o: FeaturizerOptions,
  weighting: Weighting,
  buckets?: Int32Array,
): { nodes: NodeProto[]; initializers: TensorProto[]; rows: string } {
  const { nodes, gramNames, validNames } = wordGramNodes(o);
  const chars = o.charNgrams;
  if (chars) nodes.push(...charNodes(o, chars));
  const initializers = [...wordInitializers(o), ...(chars ? charInitializers(o, chars) : [])];
  if (weighting === 'counts') {
    const blocks = featurizerBlocks(o);
    gramNames.forEach((gram, k) => {
      nodes.push(
        node('MurmurHash3', [gram], [`hash_w${k + 1}`], { positive: 0, seed: o.hashSeed }, MS_DOMAIN),
        node('BitwiseAnd', [`hash_w${k + 1}`, 'bucket_mask'], [blocks[k]!.indices]),
        node('Cast', [validNames[k]!], [blocks[k]!.weights], { to: DataType.FLOAT }),
      );
    });
    const charBlock = blocks.at(-1)!;
    if (chars) nodes.push(node('Identity', ['char_indices'], [charBlock.indices]), node('Cast', ['char_valid'], [charBlock.weights], { to: DataType.FLOAT }));
    return { nodes, initializers, rows: NAMES.indices };
  }
  nodes.push(
    node('Concat', gramNames, ['grams'], { axis: 1 }),
    node('Concat', validNames, ['grams_valid'], { axis: 1 }),
    node('Cast', ['grams_valid'], ['word_mask'], { to: DataType.FLOAT }),
    node('MurmurHash3', ['grams'], ['hash'], { positive: 0, seed: o.hashSeed }, MS_DOMAIN),
    node('BitwiseAnd', ['hash', 'bucket_mask'], ['word_indices']),
    node('Cast', ['char_valid'], ['char_mask'], { to: DataType.FLOAT }),
    node('Concat', ['word_indices', 'char_indices'], [NAMES.indices], { axis: 1 }),
  );
  let wordRows = 'word_indices';
  let charRows = 'char_indices';
  if (buckets) {
    nodes.push(
      ...remapTableNodes(buckets.length),
      ...remapGatherNodes(buckets.length, 'word_indices', 'word_rows', 'word_rows16'),
      ...remapGatherNodes(buckets.length, 'char_indices', 'char_rows', 'char_rows16'),
      node('Concat', ['word_rows', 'char_rows'], [NAMES.rows], { axis: 1 }),
    );
    wordRows = 'word_rows';
    charRows = 'char_rows';
  }
  nodes.push(
    ...tfidfNodes('word_', wordRows, 'word_mask', 'word_weights'),
    ...tfidfNodes('char_', charRows, 'char_mask', 'char_weights'),
    node('Concat', ['word_weights', 'char_weights'], [NAMES.weights], { axis: 1 }),
  );
  initializers.push(floatTensor('epsilon', [], new Float32Array([NORM_EPSILON])), ...(buckets ? remapInitializers(featureColumns(o), buckets) : []));
  return { nodes, initializers, rows: buckets ? NAMES.rows : NAMES.indices };
}

/** Marks padding after the characters; longer than one code point, so it is never a character. */
const CHAR_PAD = '##';
/**
 * Character n-gram hashing: MurmurHash3 of each character (uint32), then a polynomial rolling hash
 * h_n = (h_{n−1} · BASE + u_last) mod PRIME in int64. Every product stays below 2^62, so the
 * arithmetic is exact, and a handful of integer ops per position replaces building n-gram strings
 * (StringConcat and string Slices copy every string).
 */
export const CHAR_HASH_PRIME = 2 ** 31 - 1;
export const CHAR_HASH_BASE = 1_000_003;

function charNodes(o: FeaturizerOptions, c: CharNgrams): NodeProto[] {
  const nodes: NodeProto[] = [
    node('StringConcat', ['char_lead', 'lower'], ['char_text']),
    // One match anchored at the start: the first maxChars code points (the leading space makes it non-empty).
    node('Tokenizer', ['char_text'], ['char_prefix2d'], { mark: 0, mincharnum: 1, pad_value: '', tokenexp: `(?s)^.{1,${c.maxChars}}` }, MS_DOMAIN),
    node('Squeeze', ['char_prefix2d', 'axis1'], ['char_prefix']),
    // An empty separator splits into code points (not bytes).
    node('Tokenizer', ['char_prefix'], ['chars'], { mark: 0, mincharnum: 1, pad_value: CHAR_PAD, separators: { strings: [''] } }, MS_DOMAIN),
    node('Equal', ['chars', 'char_pad'], ['char_is_pad']),
    node('Not', ['char_is_pad'], ['char_valid1']),
    node('MurmurHash3', ['chars'], ['char_u32'], { positive: 1, seed: o.hashSeed }, MS_DOMAIN),
    node('Cast', ['char_u32'], ['char_h1'], { to: DataType.INT64 }),
  ];
  for (let n = 2; n <= c.max; n++) {
    nodes.push(
      node('Slice', [`char_h${n - 1}`, 'char_start0', 'char_end_minus1', 'axis1'], [`char_h${n}_head`]),
      node('Mul', [`char_h${n}_head`, 'char_base'], [`char_h${n}_shifted`]),
      node('Slice', ['char_h1', `char_start${n - 1}`, 'end_max', 'axis1'], [`char_h${n}_last`]),
      node('Add', [`char_h${n}_shifted`, `char_h${n}_last`], [`char_h${n}_sum`]),
      node('Mod', [`char_h${n}_sum`, 'char_prime'], [`char_h${n}`]),
      // Pads only trail, so an n-gram is real exactly when its last character is.
      node('Slice', ['char_valid1', `char_start${n - 1}`, 'end_max', 'axis1'], [`char_valid${n}`]),
    );
  }
  const orders = Array.from({ length: c.max - c.min + 1 }, (_, k) => c.min + k);
  nodes.push(
    node('Concat', orders.map((n) => `char_h${n}`), ['char_hash'], { axis: 1 }),
    node('Concat', orders.map((n) => `char_valid${n}`), ['char_valid'], { axis: 1 }),
    node('BitwiseAnd', ['char_hash', 'char_bucket_mask'], ['char_low']),
    node('Add', ['char_low', 'char_offset'], ['char_bucket']),
    node('Cast', ['char_bucket'], ['char_indices'], { to: DataType.INT32 }),
  );
  return nodes;
}

function charInitializers(o: FeaturizerOptions, c: CharNgrams): TensorProto[] {
  return [
    stringTensor('char_lead', [], [' ']),
    stringTensor('char_pad', [], [CHAR_PAD]),
    int64Tensor('char_base', [], [CHAR_HASH_BASE]),
    int64Tensor('char_prime', [], [CHAR_HASH_PRIME]),
    int64Tensor('char_bucket_mask', [], [2 ** o.bits - 1]),
    int64Tensor('char_offset', [], [2 ** o.bits]),
    int64Tensor('char_end_minus1', [1], [-1]),
    ...Array.from({ length: c.max }, (_, k) => int64Tensor(`char_start${k}`, [1], [k])),
  ];
}

/** Rows below this fit an int16 remap table: half the memory of int32 (512 KiB at 2^18 buckets). */
export const INT16_REMAP_ROWS = 2 ** 15;

/**
 * Compact layout: bucket → row through a dense table remap[columns] (kept bucket k → k, every other
 * bucket → K), built inside the graph from the K kept ids: the file stores 4 bytes per kept bucket.
 * onnxruntime does not fold these nodes, so serving loads the graph through `withRemapTable` (the table
 * as an initializer) and does one Gather per n-gram. The table is int16 while K + 1 fits (Gather then needs a Cast of
 * the looked-up rows, which are few). An ai.onnx.ml LabelEncoder map measured ~200 bytes of RSS per key,
 * and its int64 attributes cost ~1 µs per key to encode and decode in protobufjs.
 */
function remapTableNodes(kept: number): NodeProto[] {
  const type = kept + 1 <= INT16_REMAP_ROWS ? DataType.INT16 : DataType.INT32;
  return [
    node('ConstantOfShape', ['remap_shape'], ['remap_default'], { value: { tensor: intTensor('other_row', [1], [kept], type) } }),
    node('Range', ['zero', 'kept_count', 'one'], ['kept_rows']),
    node('ScatterElements', ['remap_default', NAMES.kept, 'kept_rows'], ['remap'], { axis: 0 }),
  ];
}

function remapGatherNodes(kept: number, indices: string, rows: string, narrowRows: string): NodeProto[] {
  return kept + 1 <= INT16_REMAP_ROWS
    ? [node('Gather', ['remap', indices], [narrowRows], { axis: 0 }), node('Cast', [narrowRows], [rows], { to: DataType.INT32 })]
    : [node('Gather', ['remap', indices], [rows], { axis: 0 })];
}

function remapInitializers(columns: number, buckets: Int32Array): TensorProto[] {
  const type = buckets.length + 1 <= INT16_REMAP_ROWS ? DataType.INT16 : DataType.INT32;
  return [
    int32RawTensor(NAMES.kept, [buckets.length], buckets),
    int64Tensor('remap_shape', [1], [columns]),
    intTensor('zero', [], [0], type),
    intTensor('one', [], [1], type),
    intTensor('kept_count', [], [buckets.length], type),
  ];
}

/**
 * n-gram k of a row = tokens[k] ␠ tokens[k+1] ␠ … ␠ tokens[k+n−1], built from n shifted slices.
 * With fewer than n tokens the slices are empty ([N, 0]) and so is the n-gram block.
 */
function ngramNodes(n: number): NodeProto[] {
  const nodes: NodeProto[] = [];
  const shifted = (i: number) => `gram${n}_part${i}`;
  for (let i = 0; i < n; i++) {
    const end = i === n - 1 ? 'end_max' : `end_minus${n - 1 - i}`;
    nodes.push(node('Slice', ['tokens', `start${i}`, end, 'axis1'], [shifted(i)]));
  }
  let acc = shifted(0);
  for (let i = 1; i < n; i++) {
    const withSep = `gram${n}_acc${i}_sep`;
    const next = i === n - 1 ? `gram${n}` : `gram${n}_acc${i}`;
    nodes.push(node('StringConcat', [acc, 'separator'], [withSep]), node('StringConcat', [withSep, shifted(i)], [next]));
    acc = next;
  }
  return nodes;
}

/** Scores: Σ_g weight[g] · W[index[g], :] + b — a Gather-based embedding bag over the n-grams. */
function headNodes(mode: ClassifierMode, rows: string): NodeProto[] {
  return [
    node('Gather', [NAMES.W, rows], ['gathered'], { axis: 0 }), // [N, G, C]
    node('Unsqueeze', [NAMES.weights, 'axis2'], ['weights3']), // [N, G, 1]
    node('Mul', ['gathered', 'weights3'], ['weighted']),
    node('ReduceSum', ['weighted', 'axis1'], ['scores'], { keepdims: 0 }), // [N, C]
    node('Add', ['scores', NAMES.b], ['logits']),
    mode === 'single'
      ? node('Softmax', ['logits'], [NAMES.output], { axis: -1 })
      : node('Sigmoid', ['logits'], [NAMES.output]),
  ];
}

const OPSETS = { '': OPSET_AI_ONNX, [MS_DOMAIN]: OPSET_MS };

function idfTensor(idf: Float32Array | undefined, rows: number): TensorProto {
  const table = idf ?? new Float32Array(rows).fill(1);
  if (table.length !== rows) throw new RangeError(`idf must have ${rows} values (one per row of W), got ${table.length}`);
  return floatTensor(NAMES.idf, [rows], table);
}

/** The remap table must be strictly increasing bucket ids (the artifact checks rely on it). */
export function assertBuckets(buckets: Int32Array, columns: number): void {
  for (let k = 0; k < buckets.length; k++) {
    const bucket = buckets[k]!;
    if (bucket < 0 || bucket >= columns || (k > 0 && bucket <= buckets[k - 1]!)) {
      throw new RangeError(`buckets must be strictly increasing ids in [0, ${columns}), got ${bucket} at ${k}`);
    }
  }
}

/** The featurizer's output pairs: one per block for raw counts with characters, else the one (indices, weights). */
export function featurizerOutputs(o: FeaturizerOptions, weighting: Weighting): { name: string; indices: string; weights: string }[] {
  return weighting === 'counts' ? featurizerBlocks(o) : [{ name: 'all', indices: NAMES.indices, weights: NAMES.weights }];
}

export interface FeaturizerGraphOptions extends Partial<FeaturizerOptions> {
  /**
   * Given: weights are the classifier's own tf-idf weights (the front half of the serving graph,
   * e.g. for parity checks or external clients). Omitted: raw counts, for training.
   */
  idf?: Float32Array;
}

/**
 * Featurizer-only model: `text[N]` → `indices:int32[N, G]`, `weights:float[N, G]` (0 on padding).
 * Raw counts with a character block: one (indices, weights) pair per block instead (`featurizerOutputs`).
 */
export function buildFeaturizerGraph(options: FeaturizerGraphOptions = {}): Uint8Array {
  const o = resolveFeaturizerOptions(options);
  const weighting: Weighting = options.idf ? 'tfidf' : 'counts';
  const { nodes, initializers } = featurizerNodes(o, weighting);
  return encodeModel(
    buildModel({
      name: 'text_featurizer',
      nodes,
      initializers: weighting === 'tfidf' ? [...initializers, idfTensor(options.idf, featureColumns(o))] : initializers,
      inputs: [valueInfo(NAMES.input, DataType.STRING, ['N'])],
      outputs: featurizerOutputs(o, weighting).flatMap((block) => [
        valueInfo(block.indices, DataType.INT32, ['N', `G_${block.name}`]),
        valueInfo(block.weights, DataType.FLOAT, ['N', `G_${block.name}`]),
      ]),
      opsets: OPSETS,
    }),
  );
}

export function buildTextClassifierGraph(options: ClassifierGraphOptions): Uint8Array {
  const o = resolveFeaturizerOptions(options);
  const classes = options.labels.length;
  if (classes < 1) throw new RangeError('at least one label is required');
  const buckets = options.buckets;
  if (buckets) assertBuckets(buckets, featureColumns(o));
  const rows = buckets ? buckets.length + 1 : featureColumns(o);
  const W = options.weights?.W ?? new Float32Array(rows * classes);
  const b = options.weights?.b ?? new Float32Array(classes);
  if (W.length !== rows * classes) throw new RangeError(`W must have ${rows} × ${classes} = ${rows * classes} values, got ${W.length}`);
  if (b.length !== classes) throw new RangeError(`b must have ${classes} values, got ${b.length}`);

  const front = featurizerNodes(o, 'tfidf', buckets);
  return encodeModel(
    buildModel({
      name: 'text_classifier',
      nodes: [...front.nodes, ...headNodes(options.mode, front.rows)],
      initializers: [
        ...front.initializers,
        int64Tensor('axis2', [1], [2]),
        idfTensor(options.weights?.idf, rows),
        floatTensor(NAMES.W, [rows, classes], W),
        floatTensor(NAMES.b, [classes], b),
      ],
      inputs: [valueInfo(NAMES.input, DataType.STRING, ['N'])],
      outputs: [valueInfo(NAMES.output, DataType.FLOAT, ['N', classes])],
      opsets: OPSETS,
      metadata: options.metadata,
      docString:
        `Hashed ${o.ngramOrder}-gram${o.charNgrams ? ` + character ${o.charNgrams.min}-${o.charNgrams.max}-gram` : ''} tf-idf linear text classifier (${options.mode} choice, ${classes} labels, ${o.charNgrams ? '2 × ' : ''}2^${o.bits} buckets` +
        (buckets ? `, ${buckets.length} kept)` : ')'),
    }),
  );
}

/**
 * The compact layout's remap table, computed here instead of inside onnxruntime: the graph builds it from
 * constants, but onnxruntime does not fold ConstantOfShape (nor an Expand in its place) into an initializer,
 * so every run rebuilt the 2^bits table (~75 µs a run, doubling a one-text /predict). Serving loads the
 * model through this: the three table-building nodes become one initializer with the same values, so the
 * served graph computes exactly what the stored one does. A dense model comes back unchanged.
 */
export function withRemapTable(model: ModelProto): ModelProto {
  const graph = model.graph;
  const scatter = graph?.node?.find((n) => n.opType === 'ScatterElements' && n.output?.[0] === 'remap');
  const defaults = graph?.node?.find((n) => n.opType === 'ConstantOfShape' && n.output?.[0] === 'remap_default');
  const kept = graph?.initializer?.find((t) => t.name === NAMES.kept);
  const shape = graph?.initializer?.find((t) => t.name === 'remap_shape');
  if (!graph || !scatter || !defaults || !kept || !shape) return model;
  const type = defaults.attribute?.find((a) => a.name === 'value')?.t?.dataType ?? DataType.INT32;
  const buckets = readInt32RawTensor(kept);
  const size = Number(shape.int64Data?.[0] ?? 0);
  const table = type === DataType.INT16 ? new Int16Array(size) : new Int32Array(size);
  table.fill(buckets.length);
  for (let row = 0; row < buckets.length; row++) table[buckets[row]!] = row;
  const built = new Set(['remap_default', 'kept_rows', 'remap']);
  graph.node = graph.node!.filter((n) => !built.has(n.output?.[0] ?? ''));
  graph.initializer = [...graph.initializer!, { name: 'remap', dims: [size], dataType: type, rawData: new Uint8Array(table.buffer) }];
  return model;
}
