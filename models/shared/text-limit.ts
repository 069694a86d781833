/**
 * How much of a text the model reads. onnxruntime's cost and memory grow with a text's length (a 50 MB
 * text took ~7 s in one uninterruptible run and 2.4 GB of RSS), and one text cannot be split across runs,
 * so every text is cut to its first `maxTextChars` UTF-16 code units before featurizing or scoring. A
 * classifier gains nothing from megabytes of one document. Training records the limit in the artifact
 * and serving applies the artifact's value, so both always see the same prefix.
 */

/** ~6 ms of onnxruntime for one text of this length. */
export const DEFAULT_MAX_TEXT_CHARS = 100_000;
/** Upper bound of the setting: one text is one run, and a run of 10^6 characters blocks ~55 ms. */
export const MAX_MAX_TEXT_CHARS = 1_000_000;

export function assertMaxTextChars(value: number): void {
  if (!Number.isInteger(value) || value < 1 || value > MAX_MAX_TEXT_CHARS) {
    throw new RangeError(`maxTextChars must be an integer in [1, ${MAX_MAX_TEXT_CHARS}], got ${value}`);
  }
}

/** The first `maxChars` code units, one fewer when the cut would split a surrogate pair (a lone half becomes U+FFFD). */
export function truncateText(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const last = text.charCodeAt(maxChars - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? maxChars - 1 : maxChars);
}

/** The same array when nothing is too long (the common case allocates nothing). */
export function truncateTexts(texts: readonly string[], maxChars: number): readonly string[] {
  let i = 0;
  while (i < texts.length && texts[i]!.length <= maxChars) i++;
  if (i === texts.length) return texts;
  return texts.map((t) => truncateText(t, maxChars));
}
