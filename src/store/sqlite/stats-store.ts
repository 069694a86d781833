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
    this.selectAll = db.prepare<[], { project_id: string; doc: string }>('SELECT project_id, doc FROM stats ORDER BY project_id');
  }

  async get(projectId: string): Promise<ProjectStats | undefined> {
    const row = this.select.get(projectId);
    return row ? parse(projectId, row.doc) : undefined;
  }

  private change(projectId: string, fn: (s: ProjectStats) => ProjectStats): ProjectStats {
    return this.db.transaction(() => {
      const row = this.select.get(projectId);
      const next = fn(row ? parse(projectId, row.doc) : emptyStats(projectId));
      this.upsert.run(projectId, JSON.stringify(next));
      return next;
    }).immediate();
  }

  async recordEvent(projectId: string, event: { counters?: Record<string, number | null>; labelConfigChanged?: boolean; annotation?: boolean }): Promise<ProjectStats> {
    return this.change(projectId, (s) => applyEvent(s, event));
  }

  async markTrained(projectId: string, revision: number): Promise<void> {
    this.change(projectId, (s) => ({ ...s, trainedRevision: Math.max(s.trainedRevision, revision) }));
  }

  async markRequested(projectId: string, revision: number): Promise<void> {
    this.change(projectId, (s) => ({ ...s, requestedRevision: Math.max(s.requestedRevision, revision) }));
  }

  async list(): Promise<ProjectStats[]> {
    return this.selectAll.all().map((r) => parse(r.project_id, r.doc));
  }
}

/** Fields added since a document was written read as their defaults. */
function parse(projectId: string, doc: string): ProjectStats {
  return { ...emptyStats(projectId), ...(JSON.parse(doc) as Partial<ProjectStats>) };
}
