/** The scheduling arithmetic both training queues share (src/pipeline/schedule.ts). */
import { describe, expect, it } from 'vitest';
import { dueAt, fold, spacedUntil, type ScheduleOptions } from '../../src/pipeline/schedule.js';

const OPTIONS: ScheduleOptions = { debounceMs: 500, maxWaitMs: 60_000, spacingFactor: 2 };

describe('training schedule', () => {
  it('is due a debounce after the newest request while that is before the max wait', () => {
    const pending = fold(fold(undefined, 1_000, false), 3_000, false);
    expect(pending).toEqual({ firstRequestAt: 1_000, lastRequestAt: 3_000, unspaced: false });
    expect(dueAt(pending, OPTIONS, 0)).toBe(3_500);
  });

  it('is due at the latest max wait after the first request, however many requests follow', () => {
    let pending = fold(undefined, 0, false);
    for (let t = 100; t <= 120_000; t += 100) pending = fold(pending, t, false);
    expect(pending.firstRequestAt).toBe(0);
    expect(dueAt(pending, OPTIONS, 0)).toBe(60_000);
  });

  it('waits out the spacing of the last run, unless a folded request was START_TRAINING', () => {
    const until = spacedUntil(10_000, 1_500, 2);
    expect(until).toBe(13_000);
    const spaced = fold(undefined, 10_100, false);
    expect(dueAt(spaced, OPTIONS, until)).toBe(13_000);
    // One START_TRAINING anywhere in the fold keeps the job unspaced, even if annotation requests follow it.
    const clicked = fold(fold(spaced, 10_200, true), 10_300, false);
    expect(clicked.unspaced).toBe(true);
    expect(dueAt(clicked, OPTIONS, until)).toBe(10_800);
  });

  it('spacing may push a training past the max wait: the cost bound wins', () => {
    const pending = fold(undefined, 0, false);
    expect(dueAt(pending, { ...OPTIONS, maxWaitMs: 1_000 }, spacedUntil(0, 5_000, 2))).toBe(10_000);
  });

  it('a factor of 0 (or a negative duration) does not space', () => {
    expect(spacedUntil(10_000, 2_000, 0)).toBe(10_000);
    expect(spacedUntil(10_000, -5, 2)).toBe(10_000);
  });
});
