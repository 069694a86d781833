/**
 * Span offsets between Label Studio and JavaScript. Label Studio counts the `start`/`end` of a `<Labels>` region
 * on `<Text>` in Unicode code points (as Python indexes a str); a JavaScript string indexes UTF-16 code units, so
 * every character outside the Basic Multilingual Plane (most emoji, some CJK) before a span shifts it by one.
 *
 *   const offsets = new TextOffsets(text);
 *   const where = offsets.locate(value);                         // Label Studio span → JS indices (or undefined)
 *   span('ner', 'text', offsets.spanValue(start, end, ['Person'])); // JS indices → Label Studio span
 *
 * Text without such characters (the common case) maps one to one and costs nothing.
 */
import type { SpanValue } from './regions.js';

export class TextOffsets {
  readonly text: string;
  /** code-point offset → string index, for offsets 0..codePoints; undefined when they are equal */
  readonly #indexOf: Uint32Array | undefined;
  /** string index → code-point offset, for indices 0..length; undefined when they are equal */
  readonly #offsetOf: Uint32Array | undefined;

  constructor(text: string) {
    this.text = text;
    if (!/[\uD800-\uDBFF][\uDC00-\uDFFF]/.test(text)) return;
    this.#offsetOf = new Uint32Array(text.length + 1);
    const indexOf: number[] = [];
    let offset = 0;
    for (let i = 0; i < text.length; offset++) {
      indexOf.push(i);
      const step = isPair(text, i) ? 2 : 1;
      for (let k = 0; k < step; k++) this.#offsetOf[i + k] = offset;
      i += step;
    }
    indexOf.push(text.length);
    this.#offsetOf[text.length] = offset;
    this.#indexOf = Uint32Array.from(indexOf);
  }

  /** Length in code points: Label Studio's length of the text. */
  get length(): number {
    return this.#indexOf ? this.#indexOf.length - 1 : this.text.length;
  }

  /** Label Studio offset (code points) → string index, clamped to the text. */
  toIndex(offset: number): number {
    const clamped = Math.max(0, Math.min(Math.trunc(offset), this.length));
    return this.#indexOf ? this.#indexOf[clamped]! : clamped;
  }

  /** String index → Label Studio offset; an index inside a surrogate pair counts as the pair's start. */
  toOffset(index: number): number {
    const clamped = Math.max(0, Math.min(Math.trunc(index), this.text.length));
    return this.#offsetOf ? this.#offsetOf[clamped]! : clamped;
  }

  /** A span for a prediction: string indices [start, end) → Label Studio offsets, with the covered text. */
  spanValue(start: number, end: number, labels: readonly string[]): SpanValue {
    return { start: this.toOffset(start), end: this.toOffset(end), text: this.text.slice(start, end), labels: [...labels] };
  }

  /**
   * Where an annotated span lies, in string indices. Its offsets are read as code points; when the text they
   * cover is not the span's own `text` (a client that counted UTF-16 units, or an edited task), the nearest
   * occurrence of that text is taken instead. Undefined when the span cannot be placed in this text.
   */
  locate(value: Pick<SpanValue, 'start' | 'end'> & { text?: string }): { start: number; end: number } | undefined {
    const start = this.toIndex(value.start);
    const end = this.toIndex(value.end);
    const expected = value.text;
    if (!expected) return end > start ? { start, end } : undefined;
    if (this.text.slice(start, end) === expected) return { start, end };
    const found = nearestOccurrence(this.text, expected, start);
    return found === undefined ? undefined : { start: found, end: found + expected.length };
  }
}

const isPair = (text: string, i: number): boolean => {
  const high = text.charCodeAt(i);
  const low = text.charCodeAt(i + 1);
  return high >= 0xd800 && high <= 0xdbff && low >= 0xdc00 && low <= 0xdfff;
};

function nearestOccurrence(text: string, needle: string, around: number): number | undefined {
  const after = text.indexOf(needle, around);
  const before = text.lastIndexOf(needle, around);
  if (after < 0) return before < 0 ? undefined : before;
  if (before < 0) return after;
  return around - before <= after - around ? before : after;
}
