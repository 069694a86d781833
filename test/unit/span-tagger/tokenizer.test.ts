import { describe, expect, it } from 'vitest';
import { tokenize } from '../../../models/span-tagger/lib/tokenizer.js';

function words(text: string): string[] {
  const t = tokenize(text);
  return Array.from({ length: t.count }, (_, i) => text.slice(t.starts[i], t.ends[i]));
}

const isHighSurrogate = (c: number) => c >= 0xd800 && c <= 0xdbff;
const isLowSurrogate = (c: number) => c >= 0xdc00 && c <= 0xdfff;

/** Tokens are in order, non-empty, never overlap, never split a surrogate pair, and cover every non-space character. */
function expectWellFormed(text: string): void {
  const t = tokenize(text);
  const covered = new Uint8Array(text.length);
  for (let i = 0; i < t.count; i++) {
    const [s, e] = [t.starts[i]!, t.ends[i]!];
    expect(e).toBeGreaterThan(s);
    if (i > 0) expect(s).toBeGreaterThanOrEqual(t.ends[i - 1]!);
    expect(isHighSurrogate(text.charCodeAt(e - 1))).toBe(false);
    expect(isLowSurrogate(text.charCodeAt(s)) && isHighSurrogate(text.charCodeAt(s - 1))).toBe(false);
    covered.fill(1, s, e);
  }
  for (let i = 0; i < text.length; i++) {
    if (!/\s/u.test(text[i]!)) expect(covered[i], `character ${i} (${JSON.stringify(text[i])}) is in no token`).toBe(1);
    else expect(covered[i], `space ${i} is inside a token`).toBe(0);
  }
}

describe('tokenize', () => {
  it('splits words from punctuation, with possessives and inner punctuation as tokens of their own', () => {
    expect(words("Atlanta's mayor (U.S.) left on Jan. 3rd, well-known O'Brien!")).toEqual(
      ['Atlanta', "'", 's', 'mayor', '(', 'U', '.', 'S', '.', ')', 'left', 'on', 'Jan', '.', '3rd', ',', 'well', '-', 'known', 'O', "'", 'Brien', '!'],
    );
  });

  it('keeps , . : / inside numbers, only between two digits', () => {
    expect(words('paid $1,000.50 at 2:36, 1/2 of 3. 4,x 5.')).toEqual(['paid', '$', '1,000.50', 'at', '2:36', ',', '1/2', 'of', '3', '.', '4', ',', 'x', '5', '.']);
  });

  it('gives exact JavaScript offsets around emoji, flags, ZWJ sequences and skin tones', () => {
    const text = '😀 Ann 👨‍👩‍👧 met 🇫🇷Bob 👍🏽!';
    expect(words(text)).toEqual(['😀', 'Ann', '👨‍👩‍👧', 'met', '🇫🇷', 'Bob', '👍🏽', '!']);
    const t = tokenize(text);
    expect(t.starts[1]).toBe(3); // after a surrogate pair and a space
    expect(t.starts[5]).toBe(text.indexOf('Bob'));
    expectWellFormed(text);
  });

  it('keeps combining sequences together, precomposed or not', () => {
    const decomposed = 'Jose\u0301 cafe\u0301 n\u0303o';
    expect(words(decomposed)).toEqual(['Jose\u0301', 'cafe\u0301', 'n\u0303o']);
    expect(words('José Müller ÉCOLE')).toEqual(['José', 'Müller', 'ÉCOLE']);
    // A mark after punctuation stays with it; a leading mark is a token of its own.
    expect(words('a.\u0301 \u0301b')).toEqual(['a', '.\u0301', '\u0301', 'b']);
    expectWellFormed(decomposed);
  });

  it('makes every Han, Hiragana and Katakana character a token, and keeps other scripts as words', () => {
    expect(words('東京タワーに行きました2020年')).toEqual(['東', '京', 'タ', 'ワ', 'ー', 'に', '行', 'き', 'ま', 'し', 'た', '2020', '年']);
    expect(words('नमस्ते दुनिया')).toEqual(['नमस्ते', 'दुनिया']);
    expect(words('서울에서 만나요')).toEqual(['서울에서', '만나요']);
    expect(words('Ελλάδα и Россия')).toEqual(['Ελλάδα', 'и', 'Россия']);
  });

  it('treats \\r\\n, tabs and Unicode spaces as separators', () => {
    const text = 'one\r\ntwo\tthree\u00a0four\u2003five\r\n';
    expect(words(text)).toEqual(['one', 'two', 'three', 'four', 'five']);
    const t = tokenize(text);
    expect([t.starts[1], t.ends[1]]).toEqual([5, 8]);
    expectWellFormed(text);
  });

  it('handles the empty text, spaces only, and lone surrogates', () => {
    expect(tokenize('').count).toBe(0);
    expect(tokenize(' \n\t ').count).toBe(0);
    expect(words('a\ud800b\udc00')).toEqual(['a', '\ud800', 'b', '\udc00']);
  });

  it('is well-formed on mixed random text', () => {
    const pieces = ['Ann', ' ', '😀', 'é', '\u0301', '東', '\r\n', '1,5', '.', '👩‍💻', '🇯🇵', "'", 'ß', '\u200d', '-', 'x'];
    let seed = 7;
    for (let n = 0; n < 200; n++) {
      let text = '';
      for (let k = 0; k < 12; k++) {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        text += pieces[seed % pieces.length];
      }
      expectWellFormed(text);
    }
  });
});
