import type { Json } from '../../util/json.js';
import type { StateStore } from '../types.js';
import type { SqliteDatabase } from './database.js';

export class SqliteStateStore implements StateStore {
  private readonly select;
  private readonly upsert;
  private readonly remove;

  constructor(db: SqliteDatabase) {
    this.select = db.prepare<[string, string], { value: string }>('SELECT value FROM state WHERE project_id = ? AND key = ?');
    this.upsert = db.prepare(
      'INSERT INTO state (project_id, key, value) VALUES (?, ?, ?) ON CONFLICT(project_id, key) DO UPDATE SET value = excluded.value',
    );
    this.remove = db.prepare('DELETE FROM state WHERE project_id = ? AND key = ?');
  }

  async get(projectId: string, key: string): Promise<Json | undefined> {
    const row = this.select.get(projectId, key);
    return row ? (JSON.parse(row.value) as Json) : undefined;
  }

  async set(projectId: string, key: string, value: Json): Promise<void> {
    this.upsert.run(projectId, key, JSON.stringify(value));
  }

  async delete(projectId: string, key: string): Promise<void> {
    this.remove.run(projectId, key);
  }
}
