/**
 * Tokens with exact offsets (JavaScript string indices, end exclusive), so a predicted span maps straight
 * back to the text Label Studio shows.
 *
 *   word   = a run of letters, digits and combining marks (`Atlanta`, `1961`, `café`, `नमस्ते`);
 *   other  = any other non-space character on its own (`.`, `'`, `$`, `😀`), with what belongs to it:
 *            combining marks, variation selectors, skin-tone modifiers, zero-width-joiner sequences and
 *            regional-indicator pairs (a flag), so an emoji or a combining sequence is never split;
 *   CJK    = a Han, Hiragana or Katakana character is a token of its own (no spaces between words there,
 *            so a span may start at any character).
 *
 * Iteration is by code point, so a surrogate pair is never split. One exception to "punctuation is its own
 * token": `,` `.` `:` `/` between two ASCII digits stays inside the number (`1,000`, `3.5`, `2:36`, `1/2`);
 * on Brown that raised Number F1 by ~0.35 points. Other inner punctuation (`U.S.`, `O'Brien`) stays
 * separate (joining `U.S.` changed nothing measurable), so a possessive `'s` never sticks to a name.
 */

export interface Tokens {
  count: number;
  /** token i is text.slice(starts[i], ends[i]) */
  starts: Int32Array;
  ends: Int32Array;
}

const enum Kind {
  Space,
  Word,
  /** a character that makes a token of its own (punctuation, symbols, emoji, CJK) */
  Single,
  /** combining mark, variation selector, skin-tone modifier: belongs to what precedes it */
  Extend,
  /** U+200D: joins the character before and after it */
  Joiner,
  RegionalIndicator,
}

const ASCII_KIND = new Uint8Array(128).map((_, c) => {
  if (c === 0x20 || (c >= 0x09 && c <= 0x0d)) return Kind.Space;
  if ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) return Kind.Word;
  return Kind.Single;
});

const SPACE = /^\s$/u;
const CJK = /^[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]$/u;
const WORD = /^[\p{L}\p{N}]$/u;
const EXTEND = /^[\p{M}\p{Emoji_Modifier}]$/u;

function kindOf(cp: number): Kind {
  if (cp < 128) return ASCII_KIND[cp]!;
  if (cp === 0x200d) return Kind.Joiner;
  if (cp >= 0x1f1e6 && cp <= 0x1f1ff) return Kind.RegionalIndicator;
  const ch = String.fromCodePoint(cp);
  if (EXTEND.test(ch)) return Kind.Extend;
  if (SPACE.test(ch)) return Kind.Space;
  if (CJK.test(ch)) return Kind.Single;
  if (WORD.test(ch)) return Kind.Word;
  return Kind.Single;
}

/** `,` `.` `:` `/`: kept inside a number when digits surround them. */
const NUMBER_INNER = new Set([0x2c, 0x2e, 0x3a, 0x2f]);
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;

function width(cp: number): number {
  return cp > 0xffff ? 2 : 1;
}

/** Growable pair of offset arrays. */
class TokenWriter {
  starts = new Int32Array(64);
  ends = new Int32Array(64);
  count = 0;

  push(start: number, end: number): void {
    if (this.count === this.starts.length) {
      const grow = (a: Int32Array) => {
        const b = new Int32Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.starts = grow(this.starts);
      this.ends = grow(this.ends);
    }
    this.starts[this.count] = start;
    this.ends[this.count] = end;
    this.count++;
  }

  finish(): Tokens {
    return { count: this.count, starts: this.starts.subarray(0, this.count), ends: this.ends.subarray(0, this.count) };
  }
}

/** End of the extensions (marks, modifiers, ZWJ + next character) that follow position `i`. */
function skipExtensions(text: string, i: number): number {
  while (i < text.length) {
    const cp = text.codePointAt(i)!;
    const kind = kindOf(cp);
    if (kind === Kind.Extend) {
      i += width(cp);
    } else if (kind === Kind.Joiner) {
      i += 1;
      // ZWJ glues the next character (👨‍👩‍👧): take it whole, whatever it is, unless it is a space.
      if (i < text.length) {
        const next = text.codePointAt(i)!;
        if (kindOf(next) !== Kind.Space) i += width(next);
      }
    } else {
      break;
    }
  }
  return i;
}

export function tokenize(text: string): Tokens {
  const out = new TokenWriter();
  let i = 0;
  while (i < text.length) {
    const cp = text.codePointAt(i)!;
    const kind = kindOf(cp);
    const start = i;
    i += width(cp);
    if (kind === Kind.Space) continue;
    if (kind === Kind.Word) {
      // Letters, digits and their marks; a joiner stays inside when letters continue after it (Indic scripts).
      while (i < text.length) {
        const next = text.codePointAt(i)!;
        const k = kindOf(next);
        if (k === Kind.Word || k === Kind.Extend) i += width(next);
        else if (NUMBER_INNER.has(next) && isDigit(text.charCodeAt(i - 1)) && isDigit(text.charCodeAt(i + 1))) i += 1;
        else if (k === Kind.Joiner && i + 1 < text.length && kindOf(text.codePointAt(i + 1)!) === Kind.Word) i += 1;
        else break;
      }
      i = skipExtensions(text, i);
    } else {
      // A flag is two regional indicators.
      if (kind === Kind.RegionalIndicator && i < text.length) {
        const next = text.codePointAt(i)!;
        if (kindOf(next) === Kind.RegionalIndicator) i += width(next);
      }
      i = skipExtensions(text, i);
    }
    out.push(start, i);
  }
  return out.finish();
}
