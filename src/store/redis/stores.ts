/**
 * The distributed mode's stores, shared by every API and worker process. Read-modify-write paths are
 * atomic on the server (Lua scripts for annotations and training marks, WATCH/MULTI for version
 * documents, hash increments for stats) so concurrent processes never lose each other's writes.
 */
import type { Redis } from 'ioredis';
import type { Json } from '../../util/json.js';
import { isUsable } from '../annotations.js';
import { emptyStats } from '../stats.js';
import type {
  AnnotationCounts,
  AnnotationStore,
  AnnotationWrite,
  ArtifactStore,
  ProjectRecord,
  ProjectStats,
  ProjectStore,
  ProjectVersions,
  StateStore,
  StatsStore,
  StoredAnnotation,
  VersionStore,
} from '../types.js';
import { KEY_PREFIX as P } from './connection.js';

export class RedisProjectStore implements ProjectStore {
  constructor(private readonly redis: Redis) {}
  async get(projectId: string): Promise<ProjectRecord | undefined> {
    const raw = await this.redis.hget(`${P}projects`, projectId);
    return raw ? (JSON.parse(raw) as ProjectRecord) : undefined;
  }
  async put(record: ProjectRecord): Promise<void> {
    await this.redis.hset(`${P}projects`, record.id, JSON.stringify(record));
  }
  async list(): Promise<ProjectRecord[]> {
    return Object.values(await this.redis.hgetall(`${P}projects`)).map((v) => JSON.parse(v) as ProjectRecord);
  }
}

export class RedisStateStore implements StateStore {
  constructor(private readonly redis: Redis) {}
  async get(projectId: string, key: string): Promise<Json | undefined> {
    const raw = await this.redis.hget(`${P}state:${projectId}`, key);
    return raw === null ? undefined : (JSON.parse(raw) as Json);
  }
  async set(projectId: string, key: string, value: Json): Promise<void> {
    await this.redis.hset(`${P}state:${projectId}`, key, JSON.stringify(value));
  }
  async delete(projectId: string, key: string): Promise<void> {
    await this.redis.hdel(`${P}state:${projectId}`, key);
  }
}

export class RedisVersionStore implements VersionStore {
  /** WATCH is per connection: one dedicated connection, used by one update at a time. */
  private watcher: Redis | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly redis: Redis) {}
  async get(projectId: string): Promise<ProjectVersions | undefined> {
    const raw = await this.redis.hget(`${P}versions`, projectId);
    return raw ? (JSON.parse(raw) as ProjectVersions) : undefined;
  }
  update(projectId: string, initial: () => ProjectVersions, change: (c: ProjectVersions) => ProjectVersions): Promise<ProjectVersions> {
    const run = this.queue.then(() => this.updateNow(projectId, initial, change));
    this.queue = run.catch(() => {});
    return run;
  }
  private async updateNow(projectId: string, initial: () => ProjectVersions, change: (c: ProjectVersions) => ProjectVersions): Promise<ProjectVersions> {
    if (!this.watcher) {
      this.watcher = this.redis.duplicate({ enableOfflineQueue: true });
      this.watcher.on('error', () => {}); // reconnects by itself; a failed update surfaces as a 503
    }
    const conn = this.watcher;
    for (let attempt = 0; attempt < 50; attempt++) {
      await conn.watch(`${P}versions`);
      const raw = await conn.hget(`${P}versions`, projectId);
      const next = change(raw ? (JSON.parse(raw) as ProjectVersions) : initial());
      // exec() is null when another process wrote the hash after WATCH: read again and retry.
      if (await conn.multi().hset(`${P}versions`, projectId, JSON.stringify(next)).exec()) return next;
    }
    throw new Error(`version update of project ${projectId} kept conflicting`);
  }
  close(): void {
    this.watcher?.disconnect();
  }
  async list(): Promise<Array<{ projectId: string; versions: ProjectVersions }>> {
    const all = await this.redis.hgetall(`${P}versions`);
    return Object.entries(all)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([projectId, raw]) => ({ projectId, versions: JSON.parse(raw) as ProjectVersions }));
  }
}

/** Artifacts live in Redis itself, so an API process with its own MODEL_DIR still gets every new model. */
export class RedisArtifactStore implements ArtifactStore {
  constructor(private readonly redis: Redis) {}
  private key(projectId: string, version: string) {
    return `${P}artifact:${projectId}:${version}`;
  }
  async put(projectId: string, version: string, bytes: Uint8Array): Promise<void> {
    // SET is atomic: readers see the old value or the whole new one, never a part.
    await this.redis.set(this.key(projectId, version), Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }
  async get(projectId: string, version: string): Promise<Uint8Array | undefined> {
    const buf = await this.redis.getBuffer(this.key(projectId, version));
    return buf ? new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength) : undefined;
  }
  async delete(projectId: string, version: string): Promise<void> {
    await this.redis.del(this.key(projectId, version));
  }
}

/**
 * Annotation writes are Lua scripts: the write and the revision bump are one atomic step.
 * KEYS: docs hash, timestamps hash, tombstone set, revision counter. Both return {changed, revision}.
 */
const UPSERT_ANNOTATIONS = `
local changed = 0
for i = 1, #ARGV, 3 do
  local id, ts, doc = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2]
  if redis.call('SISMEMBER', KEYS[3], id) == 0 then
    local old = redis.call('HGET', KEYS[2], id)
    if (not old) or ts > tonumber(old) or (ts == tonumber(old) and redis.call('HGET', KEYS[1], id) ~= doc) then
      redis.call('HSET', KEYS[1], id, doc)
      redis.call('HSET', KEYS[2], id, ts)
      changed = changed + 1
    end
  end
end
return {changed, redis.call('INCRBY', KEYS[4], changed)}`;

/** ARGV: annotation ids. They are tombstoned, so a late update cannot bring one back. */
const REMOVE_ANNOTATIONS = `
local changed = 0
for i = 1, #ARGV do
  redis.call('SADD', KEYS[3], ARGV[i])
  changed = changed + redis.call('HDEL', KEYS[1], ARGV[i])
  redis.call('HDEL', KEYS[2], ARGV[i])
end
return {changed, redis.call('INCRBY', KEYS[4], changed)}`;

/**
 * One event's stats in one command (the webhook's second write, sent beside the annotation write).
 * KEYS: stats hash, set of projects with stats. ARGV: project id, then field/value pairs. Returns HGETALL.
 */
const RECORD_EVENT = `
redis.call('HINCRBY', KEYS[1], 'eventsReceived', 1)
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('SADD', KEYS[2], ARGV[1])
return redis.call('HGETALL', KEYS[1])`;

/** KEYS: stats hash. ARGV: field, revision. Marks only move forward. */
const RAISE_MARK = `
if tonumber(ARGV[2]) > tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0') then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end`;

type RedisWithScripts = Redis & {
  lsmlUpsertAnnotations(...args: Array<string | number>): Promise<[number, number]>;
  lsmlRemoveAnnotations(...args: Array<string | number>): Promise<[number, number]>;
  lsmlRaiseMark(key: string, field: string, revision: number): Promise<null>;
  lsmlRecordEvent(statsKey: string, projectsKey: string, projectId: string, ...fields: string[]): Promise<string[]>;
};

/** defineCommand sends EVALSHA: a script's text crosses the wire once, not with every webhook. */
function withScripts(redis: Redis): RedisWithScripts {
  if (!('lsmlUpsertAnnotations' in redis)) {
    redis.defineCommand('lsmlUpsertAnnotations', { numberOfKeys: 4, lua: UPSERT_ANNOTATIONS });
    redis.defineCommand('lsmlRemoveAnnotations', { numberOfKeys: 4, lua: REMOVE_ANNOTATIONS });
    redis.defineCommand('lsmlRaiseMark', { numberOfKeys: 1, lua: RAISE_MARK });
    redis.defineCommand('lsmlRecordEvent', { numberOfKeys: 2, lua: RECORD_EVENT });
  }
  return redis as RedisWithScripts;
}

const toWrite = ([changed, revision]: [number, number]): AnnotationWrite => ({ changed: Number(changed), revision: Number(revision) });

export class RedisAnnotationStore implements AnnotationStore {
  private readonly scripts: RedisWithScripts;

  constructor(private readonly redis: Redis) {
    this.scripts = withScripts(redis);
  }
  private keys(projectId: string): [string, string, string, string] {
    return [`${P}ann:${projectId}`, `${P}ann-ts:${projectId}`, `${P}ann-deleted:${projectId}`, `${P}ann-rev:${projectId}`];
  }
  async upsert(projectId: string, annotations: StoredAnnotation[]): Promise<AnnotationWrite> {
    if (annotations.length === 0) return { changed: 0, revision: await this.revision(projectId) };
    const args = annotations.flatMap((a) => [String(a.annotationId), String(a.updatedAt), JSON.stringify(a)]);
    return toWrite(await this.scripts.lsmlUpsertAnnotations(...this.keys(projectId), ...args));
  }
  async remove(projectId: string, annotationIds: number[]): Promise<AnnotationWrite> {
    if (annotationIds.length === 0) return { changed: 0, revision: await this.revision(projectId) };
    return toWrite(await this.scripts.lsmlRemoveAnnotations(...this.keys(projectId), ...annotationIds.map(String)));
  }
  async removeTasks(projectId: string, taskIds: number[]): Promise<AnnotationWrite> {
    const doomed = new Set(taskIds);
    return this.remove(projectId, (await this.list(projectId)).filter((a) => doomed.has(a.taskId)).map((a) => a.annotationId));
  }
  async list(projectId: string): Promise<StoredAnnotation[]> {
    const all = Object.values(await this.redis.hgetall(this.keys(projectId)[0])).map((v) => JSON.parse(v) as StoredAnnotation);
    return all.sort((a, b) => a.taskId - b.taskId || b.updatedAt - a.updatedAt);
  }
  async counts(projectId: string): Promise<AnnotationCounts> {
    const all = await this.list(projectId);
    const usable = all.filter(isUsable);
    return { stored: all.length, usable: usable.length, tasks: new Set(usable.map((a) => a.taskId)).size };
  }
  async revision(projectId: string): Promise<number> {
    return Number((await this.redis.get(this.keys(projectId)[3])) ?? 0);
  }
}

/** Stats as a hash: increments, last-writer-wins fields and forward-only marks need no read-modify-write. */
export class RedisStatsStore implements StatsStore {
  private readonly scripts: RedisWithScripts;

  constructor(private readonly redis: Redis) {
    this.scripts = withScripts(redis);
  }
  async get(projectId: string): Promise<ProjectStats | undefined> {
    const h = await this.redis.hgetall(`${P}stats:${projectId}`);
    return Object.keys(h).length ? fromHash(projectId, h) : undefined;
  }
  async recordEvent(projectId: string, event: { counters?: Record<string, number | null>; labelConfigChanged?: boolean; annotation?: boolean }): Promise<ProjectStats> {
    const now = new Date().toISOString();
    const fields: string[] = ['lastEventAt', now];
    if (event.counters) {
      fields.push('labelStudioUpdatedAt', now);
      for (const [k, v] of Object.entries(event.counters)) fields.push(`ls:${k}`, v === null ? 'null' : String(v));
    }
    if (event.labelConfigChanged) fields.push('labelConfigChangedAt', now);
    if (event.annotation) fields.push('annotationEventAt', now);
    const flat = await this.scripts.lsmlRecordEvent(`${P}stats:${projectId}`, `${P}stats-projects`, projectId, ...fields);
    const hash: Record<string, string> = {};
    for (let i = 0; i < flat.length; i += 2) hash[flat[i]!] = flat[i + 1]!;
    return fromHash(projectId, hash);
  }
  async markTrained(projectId: string, revision: number): Promise<void> {
    await this.scripts.lsmlRaiseMark(`${P}stats:${projectId}`, 'trainedRevision', revision);
  }
  async markRequested(projectId: string, revision: number): Promise<void> {
    await this.scripts.lsmlRaiseMark(`${P}stats:${projectId}`, 'requestedRevision', revision);
  }
  async list(): Promise<ProjectStats[]> {
    const ids = await this.redis.smembers(`${P}stats-projects`);
    const stats = await Promise.all(ids.sort().map((id) => this.get(id)));
    return stats.filter((s): s is ProjectStats => s !== undefined);
  }
}

function fromHash(projectId: string, h: Record<string, string>): ProjectStats {
  const stats = emptyStats(projectId);
  for (const [k, v] of Object.entries(h)) {
    if (k.startsWith('ls:')) stats.labelStudio[k.slice(3)] = v === 'null' ? null : Number(v);
  }
  stats.trainedRevision = Number(h.trainedRevision ?? 0);
  stats.requestedRevision = Number(h.requestedRevision ?? 0);
  stats.eventsReceived = Number(h.eventsReceived ?? 0);
  stats.lastEventAt = h.lastEventAt ?? null;
  stats.annotationEventAt = h.annotationEventAt ?? null;
  stats.labelStudioUpdatedAt = h.labelStudioUpdatedAt ?? null;
  stats.labelConfigChangedAt = h.labelConfigChangedAt ?? null;
  return stats;
}
