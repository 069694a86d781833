import { describe, expect, it } from 'vitest';
import { TextOffsets } from '../../src/sdk/index.js';

/** Python-style slicing: offsets in code points, as Label Studio stores them. */
const codePointSlice = (text: string, start: number, end: number) => [...text].slice(start, end).join('');

describe('TextOffsets', () => {
  it('maps one to one on text without characters outside the BMP', () => {
    const offsets = new TextOffsets('Zoë met Åsa in 東京.');
    expect(offsets.length).toBe('Zoë met Åsa in 東京.'.length);
    expect(offsets.toIndex(8)).toBe(8);
    expect(offsets.toOffset(15)).toBe(15);
    expect(offsets.spanValue(8, 11, ['Name'])).toEqual({ start: 8, end: 11, text: 'Åsa', labels: ['Name'] });
  });

  it('counts an emoji as one code point, the way Label Studio does', () => {
    const text = '👩‍🚒 Jane 🚒 met 𝐁𝐨𝐛 at 10:30 🙂';
    const offsets = new TextOffsets(text);
    expect(offsets.length).toBe([...text].length);
    for (const word of ['Jane', 'met', '𝐁𝐨𝐛', '10:30']) {
      const index = text.indexOf(word);
      const value = offsets.spanValue(index, index + word.length, ['X']);
      // The Label Studio offsets cover the same text when sliced by code points…
      expect(codePointSlice(text, value.start, value.end)).toBe(word);
      expect(value.text).toBe(word);
      // …and map back to the JavaScript indices.
      expect(offsets.locate(value)).toEqual({ start: index, end: index + word.length });
    }
    expect(offsets.toIndex(offsets.length)).toBe(text.length);
  });

  it('clamps offsets outside the text and treats an index inside a pair as the pair', () => {
    const offsets = new TextOffsets('a😀b');
    expect(offsets.toIndex(-3)).toBe(0);
    expect(offsets.toIndex(99)).toBe(4);
    expect(offsets.toOffset(2)).toBe(1); // the low surrogate of 😀
    expect(offsets.toOffset(3)).toBe(2);
  });

  it('re-places a span whose offsets were counted in UTF-16 units, by its text', () => {
    const text = '😀😀 Paris and Rome';
    const offsets = new TextOffsets(text);
    const utf16Start = text.indexOf('Rome');
    expect(offsets.locate({ start: utf16Start, end: utf16Start + 4, text: 'Rome' })).toEqual({ start: utf16Start, end: utf16Start + 4 });
  });

  it('picks the occurrence nearest to the offsets when the text repeats, and gives up when it is absent', () => {
    const text = 'Rome, then Rome again, then Rome.';
    const offsets = new TextOffsets(text);
    expect(offsets.locate({ start: 13, end: 17, text: 'Rome' })).toEqual({ start: 11, end: 15 });
    expect(offsets.locate({ start: 0, end: 4, text: 'Oslo' })).toBeUndefined();
    expect(offsets.locate({ start: 5, end: 5 })).toBeUndefined();
    expect(offsets.locate({ start: 0, end: 4 })).toEqual({ start: 0, end: 4 });
  });
});
