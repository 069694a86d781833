/**
 * Token features, hashed into 2^bits buckets. A feature template names one to three (attribute, offset)
 * pairs, written `word@-1|shape@0`: "the lowercased previous word together with this token's shape".
 * Every token gets exactly one bucket per template (a neighbour past either end of the text reads a
 * boundary value), so a text of T tokens becomes a dense int32 [T, F] matrix: the ONNX model's input.
 *
 * Templates are stored in the artifact by name and parsed back at load, so a model always featurizes the
 * way it was trained, and an artifact naming an attribute this code does not know is refused.
 */
import { combine, finish, hashString } from './hash.js';
import type { Tokens } from './tokenizer.js';

/** Per-token attributes a template can read. */
export const ATTRIBUTES = [
  'bias', // one constant value: a per-tag prior
  'word', // lowercased token
  'cased', // token as written
  'shape', // character classes with runs collapsed: `Xx`, `d`, `X.X.`, punctuation as itself
  'length', // length in UTF-16 units, capped at 6
  'start', // sentence start: first token, or after `.` `!` `?` (and an opening quote or bracket), or after a line break
  'prefix1',
  'prefix2',
  'prefix3',
  'suffix1',
  'suffix2',
  'suffix3',
  'suffix4',
] as const;
export type Attribute = (typeof ATTRIBUTES)[number];

export interface TemplatePart {
  attribute: Attribute;
  offset: number;
}

export interface FeatureTemplate {
  name: string;
  parts: TemplatePart[];
  /** the template's own hash seed part, so `word@0` and `word@1` of the same word differ */
  id: number;
}

/** Measured on Brown (README): words ±2, shapes ±1, pairs with the neighbour, prefixes/suffixes up to 4. */
export const DEFAULT_TEMPLATES: readonly string[] = [
  'bias@0',
  'word@0',
  'cased@0',
  'word@-1',
  'word@1',
  'word@-2',
  'word@2',
  'shape@0',
  'shape@-1',
  'shape@1',
  'prefix2@0',
  'prefix3@0',
  'suffix2@0',
  'suffix3@0',
  'suffix4@0',
  'word@-1|word@0',
  'word@0|word@1',
  'shape@-1|shape@0',
  'shape@0|shape@1',
  'shape@-1|shape@0|shape@1',
  'start@0|shape@0',
  'start@0|word@0',
  'word@-1|shape@0',
  'shape@0|word@1',
  'shape@0|length@0',
];

const MAX_OFFSET = 3;
const PART = /^([a-z0-9]+)@(-?\d)$/;

/** Parses template names; throws RangeError naming the first bad one. */
export function parseTemplates(names: readonly string[]): FeatureTemplate[] {
  if (names.length === 0) throw new RangeError('at least one feature template is needed');
  if (new Set(names).size !== names.length) throw new RangeError('feature templates must be unique');
  return names.map((name) => {
    const parts = name.split('|').map((text) => {
      const match = PART.exec(text);
      const attribute = match?.[1] as Attribute | undefined;
      const offset = Number(match?.[2]);
      if (!attribute || !ATTRIBUTES.includes(attribute)) throw new RangeError(`feature template "${name}": unknown attribute in "${text}"`);
      if (Math.abs(offset) > MAX_OFFSET) throw new RangeError(`feature template "${name}": offset ${offset} is beyond ±${MAX_OFFSET}`);
      return { attribute, offset };
    });
    if (parts.length > 3) throw new RangeError(`feature template "${name}": at most 3 parts`);
    return { name, parts, id: hashString(name) };
  });
}

export interface FeatureConfig {
  templates: readonly FeatureTemplate[];
  bits: number;
  hashSeed: number;
}

/** Values a neighbour past the text's start / end reads (any two distinct constants). */
const BEFORE = 0x2545f491;
const AFTER = 0x6c8e9cf5;

const SENTENCE_END = new Set(['.', '!', '?']);
const OPENERS = new Set(['"', "'", '(', '[', '“', '‘', '«']);
const LENGTH_CAP = 6;

/** Character class of one code point in a word's shape. */
function shapeChar(cp: number): string {
  if (cp >= 0x41 && cp <= 0x5a) return 'X';
  if (cp >= 0x61 && cp <= 0x7a) return 'x';
  if (cp >= 0x30 && cp <= 0x39) return 'd';
  if (cp < 128) return String.fromCharCode(cp);
  const ch = String.fromCodePoint(cp);
  if (/\p{M}/u.test(ch)) return '';
  if (/\p{N}/u.test(ch)) return 'd';
  if (ch.toLowerCase() !== ch) return 'X';
  if (ch.toUpperCase() !== ch) return 'x';
  if (/\p{L}/u.test(ch)) return 'o';
  return ch;
}

function shapeOf(text: string, start: number, end: number): string {
  let shape = '';
  let last = '';
  for (let i = start; i < end; ) {
    const cp = text.codePointAt(i)!;
    i += cp > 0xffff ? 2 : 1;
    const c = shapeChar(cp);
    if (c !== '' && c !== last) shape += c;
    if (c !== '') last = c;
  }
  return shape;
}

type AttributeTable = Partial<Record<Attribute, Int32Array>>;

/** A line break between two tokens starts a sentence too (headings, lists). */
function lineBreakBetween(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0a || c === 0x0d || c === 0x2028 || c === 0x2029) return true;
  }
  return false;
}

const AFFIX: Partial<Record<Attribute, [from: 'start' | 'end', length: number]>> = {
  prefix1: ['start', 1],
  prefix2: ['start', 2],
  prefix3: ['start', 3],
  suffix1: ['end', 1],
  suffix2: ['end', 2],
  suffix3: ['end', 3],
  suffix4: ['end', 4],
};

/** Hashes the attributes the templates read, once per token; templates then only combine integers. */
function attributeTable(text: string, tokens: Tokens, used: ReadonlySet<Attribute>): AttributeTable {
  const n = tokens.count;
  const table: AttributeTable = {};
  for (const a of used) table[a] = new Int32Array(n);
  const affixes = [...used].flatMap((a) => (AFFIX[a] ? [[table[a]!, ...AFFIX[a]!] as const] : []));
  const { word, cased, shape, length, start, bias } = table;
  let sentenceStart = true;
  for (let i = 0; i < n; i++) {
    const s = tokens.starts[i]!;
    const e = tokens.ends[i]!;
    const raw = text.slice(s, e);
    const lower = raw.toLowerCase();
    const len = lower.length;
    if (i > 0 && lineBreakBetween(text, tokens.ends[i - 1]!, s)) sentenceStart = true;
    if (bias) bias[i] = 1;
    if (word) word[i] = hashString(lower);
    if (cased) cased[i] = hashString(raw);
    if (shape) shape[i] = hashString(shapeOf(text, s, e));
    if (length) length[i] = Math.min(e - s, LENGTH_CAP);
    if (start) start[i] = sentenceStart ? 1 : 0;
    for (const [out, from, size] of affixes) out[i] = from === 'start' ? hashString(lower, 0, Math.min(size, len)) : hashString(lower, Math.max(0, len - size));
    // The next token starts a sentence after a terminator; an opening quote or bracket passes the flag on.
    sentenceStart = SENTENCE_END.has(raw) || (sentenceStart && OPENERS.has(raw));
  }
  return table;
}

/** Buckets of every token, row-major [tokens.count, templates.length]. */
export function featurize(text: string, tokens: Tokens, config: FeatureConfig): Int32Array {
  const n = tokens.count;
  const F = config.templates.length;
  const out = new Int32Array(n * F);
  if (n === 0) return out;
  const table = attributeTable(text, tokens, new Set(config.templates.flatMap((t) => t.parts.map((p) => p.attribute))));
  const mask = 2 ** config.bits - 1;
  for (let f = 0; f < F; f++) {
    const template = config.templates[f]!;
    const base = combine(config.hashSeed, template.id);
    const parts = template.parts.map((p) => ({ values: table[p.attribute]!, offset: p.offset }));
    for (let i = 0; i < n; i++) {
      let h = base;
      for (let p = 0; p < parts.length; p++) {
        const { values, offset } = parts[p]!;
        const j = i + offset;
        h = combine(h, j < 0 ? BEFORE : j >= n ? AFTER : values[j]!);
      }
      out[i * F + f] = finish(h) & mask;
    }
  }
  return out;
}
