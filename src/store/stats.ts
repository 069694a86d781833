import type { ProjectStats } from './types.js';

export function emptyStats(projectId: string): ProjectStats {
  return {
    projectId,
    labelStudio: {},
    labelStudioUpdatedAt: null,
    trainedRevision: 0,
    requestedRevision: 0,
    eventsReceived: 0,
    lastEventAt: null,
    annotationEventAt: null,
    labelConfigChangedAt: null,
  };
}

/** Stats seen against the project's current annotation revision. */
export interface ProjectProgress extends ProjectStats {
  /** Annotation changes since the last successful training read the store. */
  changedSinceTraining: number;
  /** Annotation changes since training was last requested (what the policy counts). */
  changedSinceRequest: number;
}

export function progressOf(stats: ProjectStats, revision: number): ProjectProgress {
  return {
    ...stats,
    changedSinceTraining: Math.max(0, revision - stats.trainedRevision),
    changedSinceRequest: Math.max(0, revision - stats.requestedRevision),
  };
}

/** How far the served model lags the annotations (README "Training policy"). */
export interface Staleness {
  /** Annotation changes the last successful training did not read: the project's revision minus the trained one. */
  annotations: number;
  /** Seconds since the newest of those changes arrived (0 when the model is current). */
  seconds: number;
}

export function stalenessOf(progress: Pick<ProjectProgress, 'changedSinceTraining' | 'annotationEventAt'>, nowMs = Date.now()): Staleness {
  const annotations = progress.changedSinceTraining;
  const newest = progress.annotationEventAt ? Date.parse(progress.annotationEventAt) : Number.NaN;
  if (annotations === 0 || Number.isNaN(newest)) return { annotations, seconds: 0 };
  return { annotations, seconds: Math.max(0, Math.round((nowMs - newest) / 100) / 10) };
}

/** The pure state transition both stats stores apply (SQLite in a transaction). */
export function applyEvent(
  stats: ProjectStats,
  event: { counters?: Record<string, number | null>; labelConfigChanged?: boolean; annotation?: boolean },
  now = new Date().toISOString(),
): ProjectStats {
  return {
    ...stats,
    labelStudio: event.counters ? { ...stats.labelStudio, ...event.counters } : stats.labelStudio,
    labelStudioUpdatedAt: event.counters ? now : stats.labelStudioUpdatedAt,
    eventsReceived: stats.eventsReceived + 1,
    lastEventAt: now,
    annotationEventAt: event.annotation ? now : stats.annotationEventAt,
    labelConfigChangedAt: event.labelConfigChanged ? now : stats.labelConfigChangedAt,
  };
}
