/**
 * Storage interfaces. Two implementations sit behind each: SQLite/files under MODEL_DIR (embedded mode)
 * and Redis (distributed mode, shared by every API and worker process). Everything above this folder
 * talks to these interfaces only.
 */
import type { Json } from '../util/json.js';

/** What `/setup` registered for a project. `accessToken` is kept for calling Label Studio back; never logged or returned. */
export interface ProjectRecord {
  /** Label Studio's numeric project id, as a string ("12"). */
  id: string;
  /** The `<id>.<created_ts>` uid Label Studio sends in `/setup` and `/predict`. */
  uid: string;
  labelConfig: string;
  extraParams: Json;
  hostname: string | undefined;
  accessToken: string | undefined;
  /** True when the registering `/setup` passed basic auth (or auth is off): lets unauthenticated webhooks in. */
  trusted: boolean;
  updatedAt: string;
}

export interface ProjectStore {
  get(projectId: string): Promise<ProjectRecord | undefined>;
  put(record: ProjectRecord): Promise<void>;
  list(): Promise<ProjectRecord[]>;
}

/** Per-project key/value state behind `Model.get/set/has`. Values are any JSON. */
export interface StateStore {
  get(projectId: string, key: string): Promise<Json | undefined>;
  set(projectId: string, key: string, value: Json): Promise<void>;
  delete(projectId: string, key: string): Promise<void>;
}

export interface ModelVersionInfo {
  version: string;
  createdAt: string;
  /** Validation metrics and anything else the trainer reported. */
  metrics: Record<string, Json>;
  /** Present when the version has a trained artifact. */
  artifact: { bytes: number; sha256: string } | undefined;
  jobId: string | undefined;
  /**
   * `bad` once the version failed to load (its artifact failed verification, or `setup()` threw on it):
   * it is never served or pinned again. Absent on records written before statuses existed: `ok`.
   */
  status?: VersionStatus;
  /** Why the version is bad. */
  error?: string;
}

export type VersionStatus = 'ok' | 'bad';

export interface ProjectVersions {
  /** The version served and reported by `/setup`. */
  current: string;
  /** True when an operator pinned `current`; new trainings then do not move it. */
  pinned: boolean;
  /** Newest first, at most MODEL_KEEP_VERSIONS with artifacts. */
  versions: ModelVersionInfo[];
}

export interface VersionStore {
  get(projectId: string): Promise<ProjectVersions | undefined>;
  /** Atomically applies `change` to the project's versions (created from `initial` when absent). */
  update(
    projectId: string,
    initial: () => ProjectVersions,
    change: (current: ProjectVersions) => ProjectVersions,
  ): Promise<ProjectVersions>;
  list(): Promise<Array<{ projectId: string; versions: ProjectVersions }>>;
}

/** Trained model files, addressed by project and version. Writes are atomic. */
export interface ArtifactStore {
  put(projectId: string, version: string, bytes: Uint8Array): Promise<void>;
  get(projectId: string, version: string): Promise<Uint8Array | undefined>;
  delete(projectId: string, version: string): Promise<void>;
}

/** Change notifications between processes: a new version published, a label config changed. */
export interface ChangeFeed {
  publish(change: ProjectChange): Promise<void>;
  subscribe(listener: (change: ProjectChange) => void): () => void;
  close(): Promise<void>;
}

export type ProjectChange =
  | { kind: 'version'; projectId: string; version: string }
  | { kind: 'config'; projectId: string };

/** One annotation as stored: what training needs from an annotation webhook (docs/protocol.md). */
export interface StoredAnnotation {
  annotationId: number;
  taskId: number;
  result: Array<Record<string, unknown>>;
  taskData: Record<string, unknown>;
  /** Milliseconds since the epoch from the annotation's `updated_at` (0 when absent). */
  updatedAt: number;
  cancelled: boolean;
  groundTruth: boolean;
}

export interface AnnotationCounts {
  /** Every stored annotation, cancelled and empty ones included. */
  stored: number;
  /** Those usable for training: not cancelled, non-empty result. */
  usable: number;
  /** Distinct tasks with a usable annotation. */
  tasks: number;
}

/** What an annotation write did: how many annotations it changed, and the project's revision after it. */
export interface AnnotationWrite {
  changed: number;
  revision: number;
}

/**
 * Project → task → annotation. Writes are idempotent and order-tolerant: an older `updatedAt` never
 * overwrites a newer one, and a deleted annotation id stays deleted (tombstone) if a late update arrives.
 * Every project has a revision: the number of annotation changes ever applied to it, bumped in the same
 * atomic write as the change. "Changes since training" are revisions, never a separate counter that a
 * crash between two writes could leave behind.
 */
export interface AnnotationStore {
  upsert(projectId: string, annotations: StoredAnnotation[]): Promise<AnnotationWrite>;
  remove(projectId: string, annotationIds: number[]): Promise<AnnotationWrite>;
  removeTasks(projectId: string, taskIds: number[]): Promise<AnnotationWrite>;
  list(projectId: string): Promise<StoredAnnotation[]>;
  counts(projectId: string): Promise<AnnotationCounts>;
  revision(projectId: string): Promise<number>;
}

/** Label Studio's counters as last received, plus our own bookkeeping. */
export interface ProjectStats {
  projectId: string;
  labelStudio: Record<string, number | null>;
  labelStudioUpdatedAt: string | null;
  /** The annotation revision the last successful training read. */
  trainedRevision: number;
  /**
   * The annotation revision when training was last requested. The policy counts changes since then, so
   * a project past its threshold asks the queue once per N changes, not on every event until the
   * training has finished.
   */
  requestedRevision: number;
  eventsReceived: number;
  lastEventAt: string | null;
  /** When the newest annotation event arrived (staleness: how long the newest change has waited for a training). */
  annotationEventAt: string | null;
  labelConfigChangedAt: string | null;
}

export interface StatsStore {
  get(projectId: string): Promise<ProjectStats | undefined>;
  /** Records one event and its Label Studio counters (if any); returns the updated stats. */
  recordEvent(projectId: string, event: { counters?: Record<string, number | null>; labelConfigChanged?: boolean; annotation?: boolean }): Promise<ProjectStats>;
  /** A training that read the annotations at `revision` succeeded (marks only ever move forward). */
  markTrained(projectId: string, revision: number): Promise<void>;
  /** A training was requested when the annotations were at `revision`. */
  markRequested(projectId: string, revision: number): Promise<void>;
  list(): Promise<ProjectStats[]>;
}

/** `superseded`: a request folded into a newer one before it ran; `supersededBy` names the job that trains its data. */
export type JobStatus = 'waiting' | 'delayed' | 'active' | 'completed' | 'failed' | 'superseded';

export const JOB_STATUSES: readonly JobStatus[] = ['waiting', 'delayed', 'active', 'completed', 'failed', 'superseded'];

export interface JobRecord {
  id: string;
  projectId: string;
  status: JobStatus;
  /** The action that (last) triggered it. */
  event: string;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  attempts: number;
  progress: number;
  error: string | null;
  /** The version this training published. */
  version: string | null;
  result: Record<string, unknown> | null;
  /** Set when `status` is `superseded`: the id of the job that trains this request's data. */
  supersededBy?: string;
}

/** Which jobs a listing wants; newest first, at most `limit`. */
export interface JobFilter {
  projectId?: string;
  status?: JobStatus;
  limit: number;
}

/** Job records of the in-process queue (BullMQ keeps its own in Redis). */
export interface JobStore {
  put(job: JobRecord): Promise<void>;
  get(id: string): Promise<JobRecord | undefined>;
  recent(projectId: string, limit: number): Promise<JobRecord[]>;
  list(filter: JobFilter): Promise<JobRecord[]>;
  /** Records per status (every record kept). */
  countByStatus(): Promise<Partial<Record<JobStatus, number>>>;
  unfinished(): Promise<JobRecord[]>;
  /** A new, never reused job id. */
  nextId(): Promise<string>;
}
