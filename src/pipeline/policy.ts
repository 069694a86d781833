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

export function decideTraining(action: string, stats: ProjectProgress, finishedTasks: number, policy: TrainingPolicy): Decision {
  if (action === 'START_TRAINING') return { train: true, reason: 'START_TRAINING' };
  if (!ANNOTATION_ACTIONS.has(action)) return { train: false, reason: `${action} does not train` };
  const threshold = stats.labelStudio.min_annotations_to_start_training || policy.minAnnotations;
  if (finishedTasks < threshold) {
    return { train: false, reason: `${finishedTasks} finished tasks, training starts at ${threshold}` };
  }
  if (stats.changedSinceRequest < policy.everyNChanges) {
    return { train: false, reason: `${stats.changedSinceRequest} changes since training was last requested, need ${policy.everyNChanges}` };
  }
  return { train: true, reason: `${finishedTasks} finished tasks, ${stats.changedSinceRequest} changes` };
}

const ANNOTATION_ACTIONS: ReadonlySet<string> = new Set<TrainingAction>([
  'ANNOTATION_CREATED',
  'ANNOTATION_UPDATED',
  'ANNOTATIONS_CREATED',
  'ANNOTATION_DELETED',
  'ANNOTATIONS_DELETED',
]);
