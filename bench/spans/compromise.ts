/**
 * compromise (https://github.com/spencermountain/compromise, rule-based English NLP: a lexicon plus tagging
 * rules, no training) as an off-the-shelf span labeller. Each paragraph is parsed once and every variant is
 * read from the same parse:
 *
 *   Name:   people() · people() + places() + organizations() · every #ProperNoun term · those and #Month
 *   Number: numbers() · #Cardinal terms
 *
 * compromise's offsets (`.json({ offset: true })`, per term: start + length) are JavaScript string indices into
 * the text it was given (checked here term by term, see `offsetMismatches`). A match is snapped onto the gold's
 * words (words.ts): every word a matched term overlaps, grouped into runs of adjacent words the way the gold
 * groups tokens (punctuation or a possessive ends a span, the possessive itself left out). So compromise is
 * not penalised for its own punctuation conventions ("Jr" without its period, "5." with the sentence's).
 */
import nlp from 'compromise';
import type { LabeledSpan } from '../../models/span-tagger/lib/metrics.js';
import { possessiveCut, words, type Word } from './words.js';

export const NAME_VARIANTS = ['people', 'people+places+orgs', 'ProperNoun', 'ProperNoun+Month'] as const;
export const NUMBER_VARIANTS = ['numbers', 'Cardinal'] as const;
export type NameVariant = (typeof NAME_VARIANTS)[number];
export type NumberVariant = (typeof NUMBER_VARIANTS)[number];

/** The part of compromise's `.json({ offset: true })` output read here (its typings declare `any`). */
interface JsonTerm {
  text: string;
  offset: { start: number; length: number };
}
interface JsonMatch {
  terms: JsonTerm[];
}

type Doc = ReturnType<typeof nlp>;
/** What every compromise view (people(), numbers(), match() …) offers and this file reads. */
type Matches = Pick<Doc, 'json'>;

const NAME_MATCHES: Record<NameVariant, (doc: Doc) => Matches[]> = {
  people: (doc) => [doc.people()],
  'people+places+orgs': (doc) => [doc.people(), doc.places(), doc.organizations()],
  ProperNoun: (doc) => [doc.match('#ProperNoun+')],
  // compromise tags month names #Month (a #Date), not #ProperNoun; the corpus tags them as proper nouns.
  'ProperNoun+Month': (doc) => [doc.match('#ProperNoun+'), doc.match('#Month')],
};
const NUMBER_MATCHES: Record<NumberVariant, (doc: Doc) => Matches[]> = {
  numbers: (doc) => [doc.numbers()],
  Cardinal: (doc) => [doc.match('#Cardinal+')],
};

export interface CompromiseResult {
  name: Record<NameVariant, LabeledSpan[]>;
  number: Record<NumberVariant, LabeledSpan[]>;
  /** terms whose offset does not slice their own text out of the paragraph (expected 0) */
  offsetMismatches: number;
}

export function compromiseSpans(text: string): CompromiseResult {
  const doc = nlp(text);
  const ws = words(text);
  let offsetMismatches = 0;
  const read = (views: Matches[], label: string): LabeledSpan[] => {
    const covered = new Set<number>();
    for (const view of views) {
      for (const match of view.json({ offset: true }) as JsonMatch[]) {
        for (const term of match.terms) {
          const { start, length } = term.offset;
          if (text.slice(start, start + length) !== term.text) offsetMismatches++;
          for (const w of overlapping(ws, start, start + length)) covered.add(w);
        }
      }
    }
    return runs(ws, covered, label);
  };
  const name = Object.fromEntries(NAME_VARIANTS.map((v) => [v, read(NAME_MATCHES[v](doc), 'Name')])) as CompromiseResult['name'];
  const number = Object.fromEntries(NUMBER_VARIANTS.map((v) => [v, read(NUMBER_MATCHES[v](doc), 'Number')])) as CompromiseResult['number'];
  return { name, number, offsetMismatches };
}

/** Indices of the words that share at least one character with [start, end). */
function* overlapping(ws: readonly Word[], start: number, end: number): Generator<number> {
  // Binary search for the first word ending after `start`.
  let lo = 0;
  let hi = ws.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ws[mid]!.end <= start) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo; i < ws.length && ws[i]!.start < end; i++) yield i;
}

/** Covered words grouped into spans: adjacent, only a space between, split after a possessive. */
function runs(ws: readonly Word[], covered: Set<number>, label: string): LabeledSpan[] {
  const spans: LabeledSpan[] = [];
  const sorted = [...covered].sort((a, b) => a - b);
  let k = 0;
  while (k < sorted.length) {
    const first = sorted[k]!;
    let last = first;
    while (sorted[k + 1] === last + 1 && ws[last]!.joinsNext && !possessiveCut(ws[last]!).possessive) last = sorted[++k]!;
    spans.push({ start: ws[first]!.start, end: possessiveCut(ws[last]!).end, label });
    k++;
  }
  return spans;
}
