/**
 * `trainingOutlook` (what `/projects/:id/stats` reports as `nextTraining`) and `decideTraining` read the same
 * thresholds: an annotation event trains exactly when the outlook says 0 more changes, and the N it predicts
 * is the number of changes after which one trains.
 */
import { describe, expect, it } from 'vitest';
import { decideTraining, trainingOutlook, type TrainingPolicy } from '../../src/pipeline/policy.js';
import { emptyStats, progressOf, type ProjectProgress } from '../../src/store/stats.js';

const POLICY: TrainingPolicy = { minAnnotations: 4, everyNChanges: 3 };

function progress(opts: { revision: number; requested: number; lsMin?: number | null }): ProjectProgress {
  const labelStudio: Record<string, number | null> = opts.lsMin === undefined ? {} : { min_annotations_to_start_training: opts.lsMin };
  const stats = { ...emptyStats('7'), requestedRevision: opts.requested, labelStudio };
  return progressOf(stats, opts.revision);
}

describe('trainingOutlook', () => {
  it("names the threshold in force: Label Studio's when it sends one above 0, TRAIN_MIN_ANNOTATIONS otherwise", () => {
    expect(trainingOutlook(progress({ revision: 0, requested: 0, lsMin: 6 }), 0, POLICY).threshold).toEqual({ value: 6, source: 'label_studio' });
    expect(trainingOutlook(progress({ revision: 0, requested: 0, lsMin: 0 }), 0, POLICY).threshold).toEqual({ value: 4, source: 'TRAIN_MIN_ANNOTATIONS' });
    expect(trainingOutlook(progress({ revision: 0, requested: 0, lsMin: null }), 0, POLICY).threshold).toEqual({ value: 4, source: 'TRAIN_MIN_ANNOTATIONS' });
    expect(trainingOutlook(progress({ revision: 0, requested: 0 }), 0, POLICY).threshold).toEqual({ value: 4, source: 'TRAIN_MIN_ANNOTATIONS' });
  });

  it('says 0 changes exactly when decideTraining would train an annotation event (every state of a grid)', () => {
    for (const lsMin of [undefined, 0, 1, 5]) {
      for (let finished = 0; finished <= 7; finished++) {
        for (let changed = 0; changed <= 5; changed++) {
          const p = progress({ revision: 10 + changed, requested: 10, lsMin });
          const outlook = trainingOutlook(p, finished, POLICY);
          const decision = decideTraining('ANNOTATION_CREATED', p, finished, POLICY);
          expect(decision.train, JSON.stringify({ lsMin, finished, changed, outlook })).toBe(outlook.changesUntilTraining === 0);
          expect(outlook.changesSinceRequest).toBe(changed);
        }
      }
    }
  });

  it('predicts after how many new annotations (each finishing a task) the next annotation event trains', () => {
    for (const [finishedAtStart, changedAtStart] of [[0, 0], [2, 0], [3, 2], [5, 1], [6, 3]] as const) {
      let finished = finishedAtStart;
      let revision = 20 + changedAtStart;
      const predicted = trainingOutlook(progress({ revision, requested: 20 }), finished, POLICY).changesUntilTraining;
      let events = 0;
      for (;;) {
        events++;
        finished++;
        revision++;
        if (decideTraining('ANNOTATION_CREATED', progress({ revision, requested: 20 }), finished, POLICY).train) break;
      }
      // 0 means the next event trains even if it changes nothing; otherwise the N-th new annotation does.
      expect(events, `from ${finishedAtStart} finished tasks and ${changedAtStart} changes`).toBe(Math.max(1, predicted));
    }
  });

  it('never goes below 0 and does not count START_TRAINING, which always trains', () => {
    const p = progress({ revision: 50, requested: 10, lsMin: 2 });
    expect(trainingOutlook(p, 40, POLICY).changesUntilTraining).toBe(0);
    expect(decideTraining('START_TRAINING', progress({ revision: 0, requested: 0 }), 0, POLICY).train).toBe(true);
  });
});
