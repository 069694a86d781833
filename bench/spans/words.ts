/**
 * Words of a paragraph the way the gold spans cut them (see brown.ts): whitespace-separated, with quotes,
 * brackets and sentence punctuation peeled off, but an abbreviation's own period kept ("Jr.", "U.S.", "Sept.").
 * The baselines build their spans from these words, and compromise's matches are snapped onto them, so every
 * system's span edges follow the same conventions as the gold.
 */
export interface Word {
  start: number;
  end: number;
  text: string;
  /** the first word of a sentence: the paragraph's first, the first after a line break, or after a word that ended one with . ! or ? */
  sentenceStart: boolean;
  /** the text after this word up to the next word is a single space (no punctuation in between) */
  joinsNext: boolean;
}

const OPENERS = new Set(['"', '(', '[', '{', '`']);
const CLOSERS = new Set(['"', ')', ']', '}', ',', ';', ':', "'", '!', '?']);

/** Titles, months, US states and a few others that the corpus writes with a period inside the word. */
const ABBREVIATIONS = new Set(
  (
    'Mr Mrs Ms Messrs Dr Jr Sr St Mt Ft Gen Col Maj Lt Sgt Capt Cmdr Adm Rev Gov Sen Rep Prof Pres Supt Hon Atty ' +
    'Co Corp Inc Ltd Bros Dept Ave Blvd Rd No Nos Vol vs etc ca cf ' +
    'Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec Mon Tue Tues Wed Thu Thurs Fri Sat Sun ' +
    'Ala Ariz Ark Calif Cal Colo Conn Del Fla Ga Ida Ill Ind Kan Kans Ky La Md Me Mass Mich Minn Miss Mo Mont ' +
    'Neb Nebr Nev Okla Ore Pa Penn Tenn Tex Ut Va Vt Wash Wis Wisc Wyo'
  ).split(' '),
);

/** Whether a period right after `core` belongs to it: an initial, a dotted abbreviation (U.S) or a listed one. */
export function isAbbreviation(core: string): boolean {
  return /^[A-Za-z]$/.test(core) || /^[A-Za-z]+(\.[A-Za-z]+)+$/.test(core) || ABBREVIATIONS.has(core);
}

export function words(text: string): Word[] {
  const out: Word[] = [];
  let sentenceStart = true;
  for (const chunk of text.matchAll(/\S+/g)) {
    let start = chunk.index;
    let end = start + chunk[0].length;
    while (start < end && OPENERS.has(text[start]!)) start++;
    let endsSentence = false;
    while (end > start) {
      const c = text[end - 1]!;
      if (c === '.') {
        // "Jr.." is the abbreviation "Jr." followed by the sentence's own period.
        if (text[end - 2] !== '.' && isAbbreviation(text.slice(start, end - 1))) break;
        endsSentence = true;
      } else if (CLOSERS.has(c)) {
        if (c === '!' || c === '?') endsSentence = true;
      } else break;
      end--;
    }
    const previous = out[out.length - 1];
    // A heading or a list item is a line of its own, ended by the line break rather than by punctuation.
    if (previous && text.slice(previous.end, start).includes('\n')) sentenceStart = true;
    if (end > start) {
      out.push({ start, end, text: text.slice(start, end), sentenceStart, joinsNext: false });
      if (previous) previous.joinsNext = text.slice(previous.end, start) === ' ';
      sentenceStart = false;
    }
    if (endsSentence) sentenceStart = true;
  }
  return out;
}

/** End of `word` without a possessive "'s" / "'" (the gold leaves it out of a span); the span closes there. */
export function possessiveCut(word: Word): { end: number; possessive: boolean } {
  const m = /'s?$/i.exec(word.text);
  return m && m.index > 0 ? { end: word.start + m.index, possessive: true } : { end: word.end, possessive: false };
}
