import type { ProjectRecord, ProjectStore } from '../types.js';
import type { SqliteDatabase } from './database.js';

export class SqliteProjectStore implements ProjectStore {
  private readonly select;
  private readonly upsert;
  private readonly selectAll;

  constructor(db: SqliteDatabase) {
    this.select = db.prepare<[string], { record: string }>('SELECT record FROM projects WHERE id = ?');
    this.upsert = db.prepare('INSERT INTO projects (id, record) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET record = excluded.record');
    this.selectAll = db.prepare<[], { record: string }>('SELECT record FROM projects ORDER BY id');
  }

  async get(projectId: string): Promise<ProjectRecord | undefined> {
    const row = this.select.get(projectId);
    return row ? (JSON.parse(row.record) as ProjectRecord) : undefined;
  }

  async put(record: ProjectRecord): Promise<void> {
    this.upsert.run(record.id, JSON.stringify(record));
  }

  async list(): Promise<ProjectRecord[]> {
    return this.selectAll.all().map((r) => JSON.parse(r.record) as ProjectRecord);
  }
}
