/** Builds the store bundle for the configured mode: SQLite + files (embedded) or Redis (distributed). */
import path from 'node:path';
import type { Config } from '../config.js';
import { FileArtifactStore } from './files/artifact-store.js';
import { MemoryChangeFeed } from './memory-feed.js';
import { openDatabase } from './sqlite/database.js';
import { SqliteAnnotationStore } from './sqlite/annotation-store.js';
import { SqliteJobStore } from './sqlite/job-store.js';
import { SqliteProjectStore } from './sqlite/project-store.js';
import { SqliteStateStore } from './sqlite/state-store.js';
import { SqliteStatsStore } from './sqlite/stats-store.js';
import { SqliteVersionStore } from './sqlite/version-store.js';
import type {
  AnnotationStore,
  ArtifactStore,
  ChangeFeed,
  JobStore,
  ProjectStore,
  StateStore,
  StatsStore,
  VersionStore,
} from './types.js';

export interface Stores {
  mode: 'embedded' | 'distributed';
  projects: ProjectStore;
  state: StateStore;
  versions: VersionStore;
  artifacts: ArtifactStore;
  annotations: AnnotationStore;
  stats: StatsStore;
  /** Job records of the in-process queue (embedded mode only; BullMQ keeps its own). */
  jobs: JobStore | undefined;
  feed: ChangeFeed;
  close(): Promise<void>;
}

export async function createStores(config: Config): Promise<Stores> {
  if (config.redisUrl) {
    const { createRedisStores } = await import('./redis/index.js');
    return createRedisStores(config);
  }
  return createEmbeddedStores(config);
}

export function createEmbeddedStores(config: Pick<Config, 'modelDir'>): Stores {
  const db = openDatabase(config.modelDir);
  const feed = new MemoryChangeFeed();
  return {
    mode: 'embedded',
    projects: new SqliteProjectStore(db),
    state: new SqliteStateStore(db),
    versions: new SqliteVersionStore(db),
    artifacts: new FileArtifactStore(path.join(config.modelDir, 'artifacts')),
    annotations: new SqliteAnnotationStore(db),
    stats: new SqliteStatsStore(db),
    jobs: new SqliteJobStore(db),
    feed,
    async close() {
      await feed.close();
      db.close();
    },
  };
}
