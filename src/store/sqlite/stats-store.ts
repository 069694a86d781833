import type { ProjectStats, StatsStore } from '../types.js';
import { applyEvent, emptyStats } from '../stats.js';
import type { SqliteDatabase } from './database.js';

export class SqliteStatsStore implements StatsStore {
  private readonly select;
  private readonly upsert;
  private readonly selectAll;

  constructor(private readonly db: SqliteDatabase) {
    this.select = db.prepare<[string], { doc: string }>('SELECT doc FROM stats WHERE project_id = ?');
    this.upsert = db.prepare('INSERT INTO stats (project_id, doc) VALUES (?, ?) ON CONFLICT(project_id) DO UPDATE SET doc = excluded.doc');
    this.selectAll = db.prepare<[], { doc: string }>('SELECT doc FROM stats ORDER BY project_id');
  }

  async get(projectId: string): Promise<ProjectStats | undefined> {
    const row = this.select.get(projectId);
    return row ? (JSON.parse(row.doc) as ProjectStats) : undefined;
  }

  private change(projectId: string, fn: (s: ProjectStats) => ProjectStats): ProjectStats {
    return this.db.transaction(() => {
      const row = this.select.get(projectId);
      const next = fn(row ? (JSON.parse(row.doc) as ProjectStats) : emptyStats(projectId));
      this.upsert.run(projectId, JSON.stringify(next));
      return next;
    }).immediate();
  }

  async recordEvent(
    projectId: string,
    event: { counters?: Record<string, number | null>; changes: number; labelConfigChanged?: boolean },
  ): Promise<ProjectStats> {
    return this.change(projectId, (s) => applyEvent(s, event));
  }

  async consumeChanges(projectId: string, consumed: number): Promise<void> {
    this.change(projectId, (s) => ({ ...s, changedSinceTraining: Math.max(0, s.changedSinceTraining - consumed) }));
  }

  async consumeRequested(projectId: string, consumed: number): Promise<void> {
    this.change(projectId, (s) => ({ ...s, changedSinceRequest: Math.max(0, (s.changedSinceRequest ?? 0) - consumed) }));
  }

  async list(): Promise<ProjectStats[]> {
    return this.selectAll.all().map((r) => JSON.parse(r.doc) as ProjectStats);
  }
}
