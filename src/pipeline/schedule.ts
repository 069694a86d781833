/**
 * When a requested training may start: the pure arithmetic both queues share (README "Training policy").
 * - Debounce: `debounceMs` after the newest request it folded, so a burst becomes one training …
 * - … but at the latest `maxWaitMs` after the first request it folded, so steady annotation cannot
 *   postpone a project's training for ever;
 * - and never before `spacedUntil` (the end of the project's last training plus `spacingFactor` times its
 *   duration), so training takes a bounded share of the CPU however fast requests come. A training that a
 *   user asked for (`START_TRAINING`) is not spaced.
 */

export interface ScheduleOptions {
  debounceMs: number;
  maxWaitMs: number;
  spacingFactor: number;
}

export interface PendingTraining {
  /** Epoch ms of the first request folded into the waiting job. */
  firstRequestAt: number;
  /** Epoch ms of the newest request folded into it. */
  lastRequestAt: number;
  /** True when any folded request was `START_TRAINING`: the user waits, spacing does not apply. */
  unspaced: boolean;
}

/** Epoch ms at which the waiting training becomes due. */
export function dueAt(pending: PendingTraining, options: ScheduleOptions, spacedUntil: number): number {
  const debounced = Math.min(pending.lastRequestAt + options.debounceMs, pending.firstRequestAt + options.maxWaitMs);
  return pending.unspaced ? debounced : Math.max(debounced, spacedUntil);
}

/** Epoch ms before which the project's next (spaced) training must not start, after a run of `durationMs` ending at `endedAt`. */
export function spacedUntil(endedAt: number, durationMs: number, spacingFactor: number): number {
  return endedAt + Math.max(0, durationMs) * Math.max(0, spacingFactor);
}

/** Folds one more request into a pending training (or starts one): the first request's time is kept. */
export function fold(pending: PendingTraining | undefined, now: number, urgent: boolean): PendingTraining {
  return pending
    ? { firstRequestAt: pending.firstRequestAt, lastRequestAt: now, unspaced: pending.unspaced || urgent }
    : { firstRequestAt: now, lastRequestAt: now, unspaced: urgent };
}
