import type { AnnotationCounts, AnnotationStore, AnnotationWrite, StoredAnnotation } from '../types.js';
import { isUsable } from '../annotations.js';
import type { SqliteDatabase } from './database.js';

interface Row {
  annotation_id: number;
  task_id: number;
  updated_at: number;
  cancelled: number;
  ground_truth: number;
  result: string;
  task_data: string;
}

export class SqliteAnnotationStore implements AnnotationStore {
  private readonly upsertOne;
  private readonly isTombstoned;
  private readonly deleteOne;
  private readonly addTombstone;
  private readonly deleteTask;
  private readonly selectTaskAnnotations;
  private readonly selectAll;
  private readonly countAll;
  private readonly bumpRevision;
  private readonly selectRevision;

  constructor(private readonly db: SqliteDatabase) {
    // Newer wins; an equal timestamp with different content is a same-millisecond edit, so the later delivery wins.
    this.upsertOne = db.prepare(`
      INSERT INTO annotations (project_id, annotation_id, task_id, updated_at, cancelled, ground_truth, usable, result, task_data)
      VALUES (@projectId, @annotationId, @taskId, @updatedAt, @cancelled, @groundTruth, @usable, @result, @taskData)
      ON CONFLICT (project_id, annotation_id) DO UPDATE SET
        task_id = excluded.task_id, updated_at = excluded.updated_at, cancelled = excluded.cancelled,
        ground_truth = excluded.ground_truth, usable = excluded.usable, result = excluded.result, task_data = excluded.task_data
      WHERE excluded.updated_at > annotations.updated_at
         OR (excluded.updated_at = annotations.updated_at AND (excluded.result <> annotations.result
             OR excluded.task_data <> annotations.task_data OR excluded.cancelled <> annotations.cancelled
             OR excluded.ground_truth <> annotations.ground_truth OR excluded.task_id <> annotations.task_id))`);
    this.isTombstoned = db.prepare<[string, number], { one: number }>(
      'SELECT 1 AS one FROM annotation_tombstones WHERE project_id = ? AND annotation_id = ?',
    );
    this.deleteOne = db.prepare('DELETE FROM annotations WHERE project_id = ? AND annotation_id = ?');
    this.addTombstone = db.prepare('INSERT OR IGNORE INTO annotation_tombstones (project_id, annotation_id) VALUES (?, ?)');
    this.deleteTask = db.prepare('DELETE FROM annotations WHERE project_id = ? AND task_id = ?');
    this.selectTaskAnnotations = db.prepare<[string, number], { annotation_id: number }>(
      'SELECT annotation_id FROM annotations WHERE project_id = ? AND task_id = ?',
    );
    this.selectAll = db.prepare<[string], Row>(
      'SELECT annotation_id, task_id, updated_at, cancelled, ground_truth, result, task_data FROM annotations WHERE project_id = ? ORDER BY task_id, updated_at DESC',
    );
    this.countAll = db.prepare<[string], { stored: number; usable: number | null; tasks: number }>(
      'SELECT COUNT(*) AS stored, SUM(usable) AS usable, COUNT(DISTINCT CASE WHEN usable = 1 THEN task_id END) AS tasks FROM annotations WHERE project_id = ?',
    );
    this.bumpRevision = db.prepare<[{ projectId: string; changed: number }], { revision: number }>(
      `INSERT INTO annotation_revisions (project_id, revision) VALUES (@projectId, @changed)
       ON CONFLICT (project_id) DO UPDATE SET revision = revision + @changed RETURNING revision`,
    );
    this.selectRevision = db.prepare<[string], { revision: number }>('SELECT revision FROM annotation_revisions WHERE project_id = ?');
  }

  /** Runs `write` (returning how many annotations it changed) and bumps the revision, in one IMMEDIATE transaction. */
  private write(projectId: string, write: () => number): AnnotationWrite {
    return this.db.transaction(() => {
      const changed = write();
      return { changed, revision: this.bumpRevision.get({ projectId, changed })!.revision };
    }).immediate();
  }

  // Write transactions are IMMEDIATE: a deferred one that reads first cannot wait for the training
  // thread's writer lock (SQLITE_BUSY at once), which lost webhooks under load.
  async upsert(projectId: string, annotations: StoredAnnotation[]): Promise<AnnotationWrite> {
    return this.write(projectId, () => {
      let changed = 0;
      for (const a of annotations) {
        if (this.isTombstoned.get(projectId, a.annotationId)) continue;
        changed += this.upsertOne.run({
          projectId,
          annotationId: a.annotationId,
          taskId: a.taskId,
          updatedAt: a.updatedAt,
          cancelled: a.cancelled ? 1 : 0,
          groundTruth: a.groundTruth ? 1 : 0,
          usable: isUsable(a) ? 1 : 0,
          result: JSON.stringify(a.result),
          taskData: JSON.stringify(a.taskData),
        }).changes;
      }
      return changed;
    });
  }

  async remove(projectId: string, annotationIds: number[]): Promise<AnnotationWrite> {
    return this.write(projectId, () => {
      let changed = 0;
      for (const id of annotationIds) {
        this.addTombstone.run(projectId, id);
        changed += this.deleteOne.run(projectId, id).changes;
      }
      return changed;
    });
  }

  /** Deletes the tasks' annotations and tombstones their ids, so a late update cannot bring one back. */
  async removeTasks(projectId: string, taskIds: number[]): Promise<AnnotationWrite> {
    return this.write(projectId, () => {
      let changed = 0;
      for (const taskId of taskIds) {
        for (const { annotation_id } of this.selectTaskAnnotations.all(projectId, taskId)) this.addTombstone.run(projectId, annotation_id);
        changed += this.deleteTask.run(projectId, taskId).changes;
      }
      return changed;
    });
  }

  async list(projectId: string): Promise<StoredAnnotation[]> {
    return this.selectAll.all(projectId).map((r) => ({
      annotationId: r.annotation_id,
      taskId: r.task_id,
      updatedAt: r.updated_at,
      cancelled: r.cancelled === 1,
      groundTruth: r.ground_truth === 1,
      result: JSON.parse(r.result) as StoredAnnotation['result'],
      taskData: JSON.parse(r.task_data) as StoredAnnotation['taskData'],
    }));
  }

  async counts(projectId: string): Promise<AnnotationCounts> {
    const row = this.countAll.get(projectId)!;
    return { stored: row.stored, usable: row.usable ?? 0, tasks: row.tasks };
  }

  async revision(projectId: string): Promise<number> {
    return this.selectRevision.get(projectId)?.revision ?? 0;
  }
}
