/**
 * The embedded mode's single SQLite file (MODEL_DIR/state.db). better-sqlite3 is synchronous, which is
 * what we want here: each statement takes microseconds, and WAL keeps readers and the writer apart.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

export type SqliteDatabase = Database.Database;

const MIGRATIONS = [
  `CREATE TABLE IF NOT EXISTS projects (id TEXT PRIMARY KEY, record TEXT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS state (project_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
     PRIMARY KEY (project_id, key))`,
  `CREATE TABLE IF NOT EXISTS versions (project_id TEXT PRIMARY KEY, doc TEXT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS annotations (project_id TEXT NOT NULL, annotation_id INTEGER NOT NULL,
     task_id INTEGER NOT NULL, updated_at INTEGER NOT NULL, cancelled INTEGER NOT NULL, ground_truth INTEGER NOT NULL,
     usable INTEGER NOT NULL, result TEXT NOT NULL, task_data TEXT NOT NULL, PRIMARY KEY (project_id, annotation_id))`,
  `CREATE INDEX IF NOT EXISTS annotations_by_task ON annotations (project_id, task_id)`,
  `CREATE TABLE IF NOT EXISTS annotation_tombstones (project_id TEXT NOT NULL, annotation_id INTEGER NOT NULL,
     PRIMARY KEY (project_id, annotation_id))`,
  `CREATE TABLE IF NOT EXISTS annotation_revisions (project_id TEXT PRIMARY KEY, revision INTEGER NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS stats (project_id TEXT PRIMARY KEY, doc TEXT NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS jobs (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, created_seq INTEGER NOT NULL, doc TEXT NOT NULL)`,
  `CREATE INDEX IF NOT EXISTS jobs_by_project ON jobs (project_id, created_seq)`,
];

export function openDatabase(modelDir: string, extraMigrations: string[] = []): SqliteDatabase {
  fs.mkdirSync(modelDir, { recursive: true });
  const db = new Database(path.join(modelDir, 'state.db'));
  db.pragma('journal_mode = WAL');
  // NORMAL is durable across process crashes in WAL mode; only an OS crash can lose the last commits.
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  for (const sql of [...MIGRATIONS, ...extraMigrations]) db.exec(sql);
  return db;
}
