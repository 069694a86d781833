import type { ProjectVersions, VersionStore } from '../types.js';
import type { SqliteDatabase } from './database.js';

export class SqliteVersionStore implements VersionStore {
  private readonly select;
  private readonly upsert;
  private readonly selectAll;

  constructor(private readonly db: SqliteDatabase) {
    this.select = db.prepare<[string], { doc: string }>('SELECT doc FROM versions WHERE project_id = ?');
    this.upsert = db.prepare(
      'INSERT INTO versions (project_id, doc) VALUES (?, ?) ON CONFLICT(project_id) DO UPDATE SET doc = excluded.doc',
    );
    this.selectAll = db.prepare<[], { project_id: string; doc: string }>('SELECT project_id, doc FROM versions ORDER BY project_id');
  }

  async get(projectId: string): Promise<ProjectVersions | undefined> {
    const row = this.select.get(projectId);
    return row ? (JSON.parse(row.doc) as ProjectVersions) : undefined;
  }

  async update(
    projectId: string,
    initial: () => ProjectVersions,
    change: (current: ProjectVersions) => ProjectVersions,
  ): Promise<ProjectVersions> {
    // A synchronous transaction is atomic with respect to every other writer of this file.
    return this.db.transaction(() => {
      const row = this.select.get(projectId);
      const next = change(row ? (JSON.parse(row.doc) as ProjectVersions) : initial());
      this.upsert.run(projectId, JSON.stringify(next));
      return next;
    }).immediate();
  }

  async list(): Promise<Array<{ projectId: string; versions: ProjectVersions }>> {
    return this.selectAll.all().map((r) => ({ projectId: r.project_id, versions: JSON.parse(r.doc) as ProjectVersions }));
  }
}
