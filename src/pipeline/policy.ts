/**
 * When an event should train (README "Training policy"):
 * - START_TRAINING always trains.
 * - Annotation events train once the project has at least `min_annotations_to_start_training` finished
 *   tasks (TRAIN_MIN_ANNOTATIONS when Label Studio sends 0 or nothing) and at least TRAIN_EVERY_N_CHANGES
 *   annotation changes arrived since training was last requested (a requested training reads the store
 *   when it runs, so it covers every change made before it starts).
 * - Everything else never trains.
 */
import type { TrainingAction } from '../labelstudio/payloads.js';
import type { ProjectProgress } from '../store/stats.js';

export interface TrainingPolicy {
  minAnnotations: number;
  everyNChanges: number;
}

export type Decision = { train: true; reason: string } | { train: false; reason: string };

/** Where an annotation-triggered training stands: the thresholds in force and what is still missing. */
export interface TrainingOutlook {
  /** Finished tasks needed, and who set it: Label Studio's `min_annotations_to_start_training`, or TRAIN_MIN_ANNOTATIONS when that is 0 or unknown. */
  threshold: { value: number; source: 'label_studio' | 'TRAIN_MIN_ANNOTATIONS' };
  finishedTasks: number;
  everyNChanges: number;
  changesSinceRequest: number;
  /**
   * Annotation changes still needed before one trains (at least: each missing finished task takes one).
   * 0: the next annotation event trains.
   */
  changesUntilTraining: number;
}

/** The one place the thresholds are computed: `decideTraining` and the stats endpoints both read it. */
export function trainingOutlook(stats: ProjectProgress, finishedTasks: number, policy: TrainingPolicy): TrainingOutlook {
  const fromLabelStudio = stats.labelStudio.min_annotations_to_start_training;
  const threshold = fromLabelStudio
    ? { value: fromLabelStudio, source: 'label_studio' as const }
    : { value: policy.minAnnotations, source: 'TRAIN_MIN_ANNOTATIONS' as const };
  const tasksMissing = Math.max(0, threshold.value - finishedTasks);
  const changesMissing = Math.max(0, policy.everyNChanges - stats.changedSinceRequest);
  return {
    threshold,
    finishedTasks,
    everyNChanges: policy.everyNChanges,
    changesSinceRequest: stats.changedSinceRequest,
    changesUntilTraining: Math.max(tasksMissing, changesMissing),
  };
}

export function decideTraining(action: string, stats: ProjectProgress, finishedTasks: number, policy: TrainingPolicy): Decision {
  if (action === 'START_TRAINING') return { train: true, reason: 'START_TRAINING' };
  if (!ANNOTATION_ACTIONS.has(action)) return { train: false, reason: `${action} does not train` };
  const outlook = trainingOutlook(stats, finishedTasks, policy);
  if (finishedTasks < outlook.threshold.value) {
    return { train: false, reason: `${finishedTasks} finished tasks, training starts at ${outlook.threshold.value}` };
  }
  if (outlook.changesSinceRequest < outlook.everyNChanges) {
    return { train: false, reason: `${outlook.changesSinceRequest} changes since training was last requested, need ${outlook.everyNChanges}` };
  }
  return { train: true, reason: `${finishedTasks} finished tasks, ${outlook.changesSinceRequest} changes` };
}

/** Actions that change annotations (and count towards TRAIN_EVERY_N_CHANGES). */
export function isAnnotationAction(action: string): boolean {
  return ANNOTATION_ACTIONS.has(action);
}

const ANNOTATION_ACTIONS: ReadonlySet<string> = new Set<TrainingAction>([
  'ANNOTATION_CREATED',
  'ANNOTATION_UPDATED',
  'ANNOTATIONS_CREATED',
  'ANNOTATION_DELETED',
  'ANNOTATIONS_DELETED',
]);
