/**
 * Deterministic synthetic text-classification data (seeded), for accuracy benchmarks and tests.
 *
 * Each class has a pool of topic words, part of which it shares with the next class (overlapping
 * vocabulary), plus class-specific two-word phrases whose single words are shared by all classes
 * (so only bigrams separate them). Every text is mostly Zipf-distributed filler words; a fraction
 * of labels is flipped (label noise). Words are pronounceable pseudo-words, so nothing is copied.
 */
import { createRandom, randomInt, type Random } from '../../models/shared/random.js';

export interface SyntheticOptions {
  name: string;
  seed: number;
  size: number;
  classes: number;
  /** 'single': one label per text; 'multiple': 1..maxLabelsPerText labels (multi-hot) */
  mode: 'single' | 'multiple';
  maxLabelsPerText?: number;
  minWords: number;
  maxWords: number;
  /** chance that a word is a topic word of (one of) the text's classes */
  topicRate: number;
  /** chance that a position starts a class phrase (two words, both shared across classes) */
  phraseRate: number;
  /** share of each class's topic pool that is also in the next class's pool */
  overlap: number;
  topicWordsPerClass: number;
  fillerWords: number;
  /** fraction of texts whose label is replaced (single) or one label toggled (multiple) */
  labelNoise: number;
}

export interface SyntheticDataset {
  name: string;
  mode: 'single' | 'multiple';
  labels: string[];
  texts: string[];
  /** label index per text (single) or sorted label indices per text (multiple) */
  targets: number[] | number[][];
}

const CONSONANTS = ['b', 'd', 'f', 'g', 'k', 'l', 'm', 'n', 'p', 'r', 's', 't', 'v', 'z', 'ch', 'sh', 'tr', 'pl'];
const VOWELS = ['a', 'e', 'i', 'o', 'u', 'ai', 'ou'];

function pseudoWords(count: number, random: Random): string[] {
  const words = new Set<string>();
  while (words.size < count) {
    const syllables = 2 + randomInt(random, 2);
    let w = '';
    for (let s = 0; s < syllables; s++) w += CONSONANTS[randomInt(random, CONSONANTS.length)]! + VOWELS[randomInt(random, VOWELS.length)]!;
    words.add(w);
  }
  return [...words];
}

/** Sampler for ranks 0..n-1 with P(rank r) ∝ 1/(r+1): natural-language-like frequencies. */
function zipfSampler(n: number, random: Random): () => number {
  const cdf = new Float64Array(n);
  let total = 0;
  for (let r = 0; r < n; r++) cdf[r] = total += 1 / (r + 1);
  return () => {
    const u = random() * total;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

interface Vocabulary {
  filler: string[];
  topicPools: string[][];
  phrases: [string, string][][];
}

function buildVocabulary(o: SyntheticOptions, random: Random): Vocabulary {
  const phrasesPerClass = 6;
  const words = pseudoWords(o.fillerWords + o.classes * o.topicWordsPerClass + 24, random);
  const filler = words.slice(0, o.fillerWords);
  const topicStart = o.fillerWords;
  const own = (c: number) => words.slice(topicStart + c * o.topicWordsPerClass, topicStart + (c + 1) * o.topicWordsPerClass);
  const shared = Math.round(o.overlap * o.topicWordsPerClass);
  const topicPools = Array.from({ length: o.classes }, (_, c) => [...own(c), ...own((c + 1) % o.classes).slice(0, shared)]);
  const phraseWords = words.slice(topicStart + o.classes * o.topicWordsPerClass);
  const modifiers = phraseWords.slice(0, 12);
  const heads = phraseWords.slice(12, 24);
  // Every (modifier, head) pair belongs to at most one class; each word appears in many classes.
  const pairs = modifiers.flatMap((m) => heads.map((h) => [m, h] as [string, string]));
  const phrases = Array.from({ length: o.classes }, (_, c) => pairs.filter((_, k) => k % o.classes === c).slice(0, phrasesPerClass * 4));
  return { filler, topicPools, phrases };
}

function sentence(words: string[], random: Random): string {
  const first = words[0];
  if (first && random() < 0.5) words[0] = first[0]!.toUpperCase() + first.slice(1);
  const withCommas = words.map((w, i) => (i > 0 && i < words.length - 1 && random() < 0.06 ? `${w},` : w));
  return withCommas.join(' ') + (random() < 0.7 ? '.' : random() < 0.5 ? '!' : '');
}

function generateText(classes: number[], o: SyntheticOptions, v: Vocabulary, random: Random, fillerRank: () => number): string {
  const length = o.minWords + randomInt(random, o.maxWords - o.minWords + 1);
  const words: string[] = [];
  while (words.length < length) {
    const c = classes[randomInt(random, classes.length)]!;
    const u = random();
    if (u < o.phraseRate) {
      const phrases = v.phrases[c]!;
      words.push(...phrases[randomInt(random, phrases.length)]!);
    } else if (u < o.phraseRate + o.topicRate) {
      const pool = v.topicPools[c]!;
      words.push(pool[randomInt(random, pool.length)]!);
    } else {
      words.push(v.filler[fillerRank()]!);
    }
  }
  return sentence(words, random);
}

function drawLabelSet(o: SyntheticOptions, random: Random): number[] {
  if (o.mode === 'single') return [randomInt(random, o.classes)];
  const count = 1 + randomInt(random, o.maxLabelsPerText ?? 2);
  const set = new Set<number>();
  while (set.size < Math.min(count, o.classes)) set.add(randomInt(random, o.classes));
  return [...set].sort((a, b) => a - b);
}

function noisyLabels(truth: number[], o: SyntheticOptions, random: Random): number[] {
  if (random() >= o.labelNoise) return truth;
  if (o.mode === 'single') return [(truth[0]! + 1 + randomInt(random, o.classes - 1)) % o.classes];
  const toggled = randomInt(random, o.classes);
  const set = new Set(truth);
  if (set.has(toggled) && set.size > 1) set.delete(toggled);
  else set.add(toggled);
  return [...set].sort((a, b) => a - b);
}

export function generateSynthetic(o: SyntheticOptions): SyntheticDataset {
  const random = createRandom(o.seed);
  const vocabulary = buildVocabulary(o, random);
  const fillerRank = zipfSampler(o.fillerWords, random);
  const texts: string[] = [];
  const targets: number[][] = [];
  for (let i = 0; i < o.size; i++) {
    const truth = drawLabelSet(o, random);
    texts.push(generateText(truth, o, vocabulary, random, fillerRank));
    targets.push(noisyLabels(truth, o, random));
  }
  const labels = Array.from({ length: o.classes }, (_, c) => `class_${String.fromCharCode(65 + c)}`);
  return {
    name: o.name,
    mode: o.mode,
    labels,
    texts,
    targets: o.mode === 'single' ? targets.map((t) => t[0]!) : targets,
  };
}

/** The benchmark presets. Sizes are parameters so tests can draw small versions of the same data. */
export const PRESETS = {
  /** 3 classes, short texts, modest overlap, 2% noise: the "easy" reference case */
  threeClass: (size = 10_000, seed = 1): SyntheticOptions => ({
    name: 'synthetic-3class',
    seed,
    size,
    classes: 3,
    mode: 'single',
    minWords: 5,
    maxWords: 25,
    topicRate: 0.4,
    phraseRate: 0.03,
    overlap: 0.3,
    topicWordsPerClass: 150,
    fillerWords: 3000,
    labelNoise: 0.02,
  }),
  /** 5 classes, heavier overlap, fewer topic words, more phrases, 5% noise */
  fiveClassHard: (size = 10_000, seed = 2): SyntheticOptions => ({
    name: 'synthetic-5class-hard',
    seed,
    size,
    classes: 5,
    mode: 'single',
    minWords: 5,
    maxWords: 30,
    topicRate: 0.2,
    phraseRate: 0.04,
    overlap: 0.5,
    topicWordsPerClass: 200,
    fillerWords: 4000,
    labelNoise: 0.05,
  }),
  /** 4 labels, 1–2 labels per text (multi-hot), 3% of texts get one label toggled */
  multiLabel: (size = 10_000, seed = 3): SyntheticOptions => ({
    name: 'synthetic-multilabel-4',
    seed,
    size,
    classes: 4,
    mode: 'multiple',
    maxLabelsPerText: 2,
    minWords: 8,
    maxWords: 30,
    topicRate: 0.35,
    phraseRate: 0.03,
    overlap: 0.3,
    topicWordsPerClass: 150,
    fillerWords: 3000,
    labelNoise: 0.03,
  }),
} satisfies Record<string, (size?: number, seed?: number) => SyntheticOptions>;
