import type { JobRecord, JobStore } from '../types.js';
import type { SqliteDatabase } from './database.js';

export class SqliteJobStore implements JobStore {
  private readonly upsert;
  private readonly select;
  private readonly selectRecent;
  private readonly selectUnfinished;
  private readonly maxSeq;
  private seq: number;

  constructor(db: SqliteDatabase) {
    this.upsert = db.prepare(
      'INSERT INTO jobs (id, project_id, created_seq, doc) VALUES (?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET doc = excluded.doc',
    );
    this.select = db.prepare<[string], { doc: string }>('SELECT doc FROM jobs WHERE id = ?');
    this.selectRecent = db.prepare<[string, number], { doc: string }>(
      'SELECT doc FROM jobs WHERE project_id = ? ORDER BY created_seq DESC LIMIT ?',
    );
    this.selectUnfinished = db.prepare<[], { doc: string }>(
      `SELECT doc FROM jobs WHERE json_extract(doc, '$.status') IN ('waiting', 'delayed', 'active') ORDER BY created_seq`,
    );
    this.maxSeq = db.prepare<[], { seq: number | null }>('SELECT MAX(created_seq) AS seq FROM jobs');
    this.seq = this.maxSeq.get()?.seq ?? 0;
  }

  async nextId(): Promise<string> {
    return String(++this.seq);
  }

  async put(job: JobRecord): Promise<void> {
    this.upsert.run(job.id, job.projectId, Number(job.id) || this.seq, JSON.stringify(job));
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const row = this.select.get(id);
    return row ? (JSON.parse(row.doc) as JobRecord) : undefined;
  }

  async recent(projectId: string, limit: number): Promise<JobRecord[]> {
    return this.selectRecent.all(projectId, limit).map((r) => JSON.parse(r.doc) as JobRecord);
  }

  async unfinished(): Promise<JobRecord[]> {
    return this.selectUnfinished.all().map((r) => JSON.parse(r.doc) as JobRecord);
  }
}
