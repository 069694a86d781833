/** Staleness per project (src/store/stats.ts): annotation changes the served model lacks, and how long the newest has waited. */
import { describe, expect, it } from 'vitest';
import { applyEvent, emptyStats, progressOf, stalenessOf } from '../../src/store/stats.js';

describe('stalenessOf', () => {
  it('counts the changes since the last successful training and the seconds since the newest annotation event', () => {
    const stats = { ...emptyStats('1'), trainedRevision: 40, annotationEventAt: '2026-11-30T10:00:00.000Z' };
    const now = Date.parse('2026-11-30T10:00:12.340Z');
    expect(stalenessOf(progressOf(stats, 47), now)).toEqual({ annotations: 7, seconds: 12.3 });
  });

  it('is zero when the model read every change, however old the last annotation event', () => {
    const stats = { ...emptyStats('1'), trainedRevision: 47, annotationEventAt: '2026-11-30T09:00:00.000Z' };
    expect(stalenessOf(progressOf(stats, 47), Date.parse('2026-11-30T10:00:00.000Z'))).toEqual({ annotations: 0, seconds: 0 });
  });

  it('never reports negative seconds (a clock behind the store) or a count for a trained revision ahead of the store', () => {
    const stats = { ...emptyStats('1'), trainedRevision: 10, annotationEventAt: '2026-11-30T10:00:05.000Z' };
    expect(stalenessOf(progressOf(stats, 12), Date.parse('2026-11-30T10:00:00.000Z'))).toEqual({ annotations: 2, seconds: 0 });
    expect(stalenessOf(progressOf(stats, 3), Date.parse('2026-11-30T10:00:09.000Z'))).toEqual({ annotations: 0, seconds: 0 });
  });

  it('only annotation events move the time of the newest change', () => {
    const first = applyEvent(emptyStats('1'), { annotation: true }, '2026-11-30T10:00:00.000Z');
    const later = applyEvent(first, { counters: { finished_task_number: 3 } }, '2026-11-30T10:05:00.000Z');
    expect(later.annotationEventAt).toBe('2026-11-30T10:00:00.000Z');
    expect(later.lastEventAt).toBe('2026-11-30T10:05:00.000Z');
  });
});
