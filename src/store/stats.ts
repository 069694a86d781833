import type { ProjectStats } from './types.js';

export function emptyStats(projectId: string): ProjectStats {
  return {
    projectId,
    labelStudio: {},
    labelStudioUpdatedAt: null,
    changedSinceTraining: 0,
    changedSinceRequest: 0,
    eventsReceived: 0,
    lastEventAt: null,
    labelConfigChangedAt: null,
  };
}

/** The pure state transition both stats stores apply (SQLite in a transaction, Redis under WATCH). */
export function applyEvent(
  stats: ProjectStats,
  event: { counters?: Record<string, number | null>; changes: number; labelConfigChanged?: boolean },
  now = new Date().toISOString(),
): ProjectStats {
  return {
    ...stats,
    labelStudio: event.counters ? { ...stats.labelStudio, ...event.counters } : stats.labelStudio,
    labelStudioUpdatedAt: event.counters ? now : stats.labelStudioUpdatedAt,
    changedSinceTraining: stats.changedSinceTraining + event.changes,
    changedSinceRequest: (stats.changedSinceRequest ?? 0) + event.changes,
    eventsReceived: stats.eventsReceived + 1,
    lastEventAt: now,
    labelConfigChangedAt: event.labelConfigChanged ? now : stats.labelConfigChangedAt,
  };
}
