/**
 * The capitalisation baseline: what a labeller's "pre-annotate every capitalised word" script would give.
 *
 *   Name   = a run of adjacent capitalised words (only a space between them, so punctuation ends a run; a
 *            possessive "'s" ends it too and is left out). Capitalised function words (The, In, He, I, ...)
 *            never count. A run of ONE word that starts a sentence is dropped: a sentence's first word is
 *            capitalised anyway, so only a second capitalised word next to it is evidence of a name.
 *   Number = a run of adjacent words made of digits with "," or "." inside (1,250 · 3.5 · 1961);
 *            with `numberWords` also the cardinal words one … ninety, hundred, thousand, million, billion.
 */
import type { LabeledSpan } from '../../models/span-tagger/lib/metrics.js';
import { possessiveCut, words, type Word } from './words.js';

/** Closed-class words that are capitalised only because they start a sentence or a title. */
const FUNCTION_WORDS = new Set(
  (
    'a an the this that these those some any no every each all both either neither another such what which who whom whose ' +
    'i me my mine we us our you your he him his she her it its they them their there here ' +
    'in on at by for from with without of to into onto over under after before during since until about above below ' +
    'between through against among upon within as like than and or but nor so yet if when while where whether because ' +
    'though although unless once then now not is are was were be been am do does did have has had will would shall ' +
    'should can could may might must how why yes oh well also still even just only perhaps however'
  ).split(' '),
);

const NUMBER_WORDS = new Set(
  (
    'one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen ' +
    'eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred thousand million billion'
  ).split(' '),
);

export interface CapitalisationOptions {
  /** also label spelled-out cardinals (and hyphenated ones: twenty-five) as Number */
  numberWords?: boolean;
}

type Kind = 'Name' | 'Number' | undefined;

function kindOf(word: Word, options: CapitalisationOptions): Kind {
  const t = word.text;
  if (/^\d+([.,]\d+)*$/.test(t)) return 'Number';
  if (options.numberWords && t.toLowerCase().split('-').every((part) => NUMBER_WORDS.has(part))) return 'Number';
  // "I'm", "He's": the part before the apostrophe decides.
  const core = t.split("'")[0]!;
  if (/^[A-Z]/.test(t) && !FUNCTION_WORDS.has(core.toLowerCase())) return 'Name';
  return undefined;
}

export function capitalisationBaseline(text: string, options: CapitalisationOptions = {}): LabeledSpan[] {
  const ws = words(text);
  const spans: LabeledSpan[] = [];
  let i = 0;
  while (i < ws.length) {
    const kind = kindOf(ws[i]!, options);
    if (!kind) {
      i++;
      continue;
    }
    // Extend the run while the next word is of the same kind, directly after a space, and this one is not possessive.
    let j = i;
    while (j + 1 < ws.length && ws[j]!.joinsNext && !possessiveCut(ws[j]!).possessive && kindOf(ws[j + 1]!, options) === kind) j++;
    const lone = j === i;
    if (!(kind === 'Name' && lone && ws[i]!.sentenceStart)) {
      spans.push({ start: ws[i]!.start, end: possessiveCut(ws[j]!).end, label: kind });
    }
    i = j + 1;
  }
  return spans;
}
