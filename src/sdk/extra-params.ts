/**
 * `extra_params` from the ML backend's settings in Label Studio. Its form sends the textarea's text as a
 * string; API clients may send any JSON value. A model reads one parsed value either way.
 */
import type { Json } from '../util/json.js';

/**
 * A string holding JSON becomes that value (`'{"control":"topic"}'` → `{ control: 'topic' }`); any other
 * string stays as it is (`'fast'` → `'fast'`, `''` → `''`); a non-string value is returned unchanged;
 * `undefined` becomes `null`.
 */
export function parseExtraParams(raw: Json | undefined): Json {
  if (raw === undefined) return null;
  if (typeof raw !== 'string') return raw;
  try {
    return JSON.parse(raw) as Json;
  } catch {
    return raw;
  }
}
