import { parseJobId } from '../../util/job-id.js';
import type { JobFilter, JobRecord, JobStatus, JobStore } from '../types.js';
import type { SqliteDatabase } from './database.js';

export class SqliteJobStore implements JobStore {
  private readonly upsert;
  private readonly select;
  private readonly selectRecent;
  private readonly selectUnfinished;
  private readonly selectCounts;
  private readonly db: SqliteDatabase;
  private readonly maxSeq;
  private seq: number;

  constructor(db: SqliteDatabase) {
    this.db = db;
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
    this.selectCounts = db.prepare<[], { status: JobStatus; n: number }>(
      `SELECT json_extract(doc, '$.status') AS status, COUNT(*) AS n FROM jobs GROUP BY status`,
    );
    this.maxSeq = db.prepare<[], { seq: number | null }>('SELECT MAX(created_seq) AS seq FROM jobs');
    this.seq = this.maxSeq.get()?.seq ?? 0;
  }

  async nextId(): Promise<string> {
    return String(++this.seq);
  }

  async put(job: JobRecord): Promise<void> {
    // Ids are `<project>.<n>` (plain `<n>` in databases written before): the order is n's.
    const seq = parseJobId(job.id)?.seq ?? (Number(job.id) || this.seq);
    this.upsert.run(job.id, job.projectId, seq, JSON.stringify(job));
  }

  async get(id: string): Promise<JobRecord | undefined> {
    const row = this.select.get(id);
    return row ? (JSON.parse(row.doc) as JobRecord) : undefined;
  }

  async recent(projectId: string, limit: number): Promise<JobRecord[]> {
    return this.selectRecent.all(projectId, limit).map((r) => JSON.parse(r.doc) as JobRecord);
  }

  async list(filter: JobFilter): Promise<JobRecord[]> {
    const where: string[] = [];
    const params: Array<string | number> = [];
    if (filter.projectId !== undefined) {
      where.push('project_id = ?');
      params.push(filter.projectId);
    }
    if (filter.status !== undefined) {
      where.push(`json_extract(doc, '$.status') = ?`);
      params.push(filter.status);
    }
    const sql = `SELECT doc FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_seq DESC LIMIT ?`;
    const rows = this.db.prepare<Array<string | number>, { doc: string }>(sql).all(...params, filter.limit);
    return rows.map((r) => JSON.parse(r.doc) as JobRecord);
  }

  async countByStatus(): Promise<Partial<Record<JobStatus, number>>> {
    return Object.fromEntries(this.selectCounts.all().map((r) => [r.status, r.n]));
  }

  async unfinished(): Promise<JobRecord[]> {
    return this.selectUnfinished.all().map((r) => JSON.parse(r.doc) as JobRecord);
  }
}
