/**
 * 32-bit hashing for features, in plain integer arithmetic so training and serving (both TypeScript) agree
 * on every platform. Strings are hashed once per token (FNV-1a over UTF-16 code units); a feature then
 * combines a template id with one or two of those values (MurmurHash3's block mix) and is finalised with
 * MurmurHash3's fmix32, so no feature string is ever built.
 */

export function hashString(text: string, start = 0, end = text.length): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h | 0;
}

/** Mixes one 32-bit value into a running hash (MurmurHash3 body step). */
export function combine(h: number, value: number): number {
  let k = Math.imul(value, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** MurmurHash3 finaliser: every input bit affects every output bit, so the low bits make a good bucket. */
export function finish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
