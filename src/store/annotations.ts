import type { StoredAnnotation } from './types.js';

/** Cancelled (skipped) annotations and empty results are kept but never trained on. */
export function isUsable(a: Pick<StoredAnnotation, 'cancelled' | 'result'>): boolean {
  return !a.cancelled && a.result.length > 0;
}
