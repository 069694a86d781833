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

/** The pure state transition both stats stores apply (SQLite in a transaction). */
export function applyEvent(
  stats: ProjectStats,
  event: { counters?: Record<string, number | null>; labelConfigChanged?: boolean },
  now = new Date().toISOString(),
): ProjectStats {
  return {
    ...stats,
    labelStudio: event.counters ? { ...stats.labelStudio, ...event.counters } : stats.labelStudio,
    labelStudioUpdatedAt: event.counters ? now : stats.labelStudioUpdatedAt,
    eventsReceived: stats.eventsReceived + 1,
    lastEventAt: now,
    labelConfigChangedAt: event.labelConfigChanged ? now : stats.labelConfigChangedAt,
  };
}
