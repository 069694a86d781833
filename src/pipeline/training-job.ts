/**
 * One training run, wherever it executes (a worker thread of the API process or of `npm run worker`):
 * optional sync from Label Studio → read the annotation store → `Model.fit` → publish a new version.
 * The job payload is only a trigger; the data is read when the job runs, so the newest data always wins.
 */
import type { Logger } from 'pino';
import { ModelSetupError, type ModelFactory } from '../runtime/model-factory.js';
import type { VersionManager } from '../runtime/versions.js';
import { NonRetryableError } from '../sdk/errors.js';
import type { Model } from '../sdk/model.js';
import type { TrainingExample } from '../sdk/types.js';
import type { AnnotationStore, ProjectStore, StatsStore, StoredAnnotation } from '../store/types.js';
import { isUsable } from '../store/annotations.js';
import type { Json } from '../util/json.js';
import type { TrainingJob, TrainingOutcome } from './queue.js';
import { syncFromLabelStudio, type LabelStudioCredentials } from './label-studio-sync.js';

export interface TrainingDeps {
  factory: ModelFactory;
  versions: VersionManager;
  annotations: AnnotationStore;
  stats: StatsStore;
  projects: ProjectStore;
  labelStudio: LabelStudioCredentials;
  log: Logger;
  signal: AbortSignal;
}

export async function runTrainingJob(
  deps: TrainingDeps,
  job: TrainingJob,
  progress: (fraction: number) => void,
): Promise<TrainingOutcome> {
  const started = Date.now();
  const log = deps.log.child({ projectId: job.projectId, jobId: job.id });
  const sync = job.event === 'START_TRAINING' ? await syncFromLabelStudio(deps, job.projectId, log) : null;
  // Read before the annotations: this run covers at least this revision; later changes still count.
  const revision = await deps.annotations.revision(job.projectId);
  const examples = toExamples(await deps.annotations.list(job.projectId));
  log.info({ examples: examples.length, event: job.event, attempt: job.attempt }, 'training started');
  const model = await instantiateForTraining(deps.factory, job.projectId);
  try {
    const fitted = await fitAndPublish({ versions: deps.versions, signal: deps.signal, log }, model, job, examples, progress);
    await deps.stats.markTrained(job.projectId, revision);
    const outcome: TrainingOutcome = { ...fitted, examples: examples.length, sync, durationMs: Date.now() - started };
    log.info({ version: outcome.version, ms: outcome.durationMs }, 'training finished');
    return outcome;
  } finally {
    await model.dispose();
  }
}

/** The model to train. Its `setup()` refusing the project (its label config) fails the job for good: a retry builds the same. */
async function instantiateForTraining(factory: ModelFactory, projectId: string): Promise<Model> {
  try {
    return await factory.instantiate(projectId);
  } catch (err) {
    throw err instanceof ModelSetupError ? new NonRetryableError(err.message, { cause: err }) : err;
  }
}

export interface Fitted {
  version: string | null;
  metrics: Record<string, Json>;
  note?: string;
}

/**
 * `fit` on one model instance, then publishing the artifact it returned: the part of a training job that
 * the test kit (`ls-ml-backend/testing`) runs too, so a model's tests train it exactly as the worker does.
 */
export async function fitAndPublish(
  deps: Pick<TrainingDeps, 'versions' | 'signal' | 'log'>,
  model: Model,
  job: Pick<TrainingJob, 'id' | 'projectId' | 'event' | 'payload'>,
  examples: TrainingExample[],
  progress: (fraction: number) => void,
): Promise<Fitted> {
  const versionBefore = model.modelVersion;
  const result = await model.fit(job.event, job.payload, {
    examples,
    jobId: job.id,
    progress: (fraction) => progress(Math.min(1, Math.max(0, fraction))),
    log: deps.log,
    signal: deps.signal,
  });
  const published = result?.artifact
    ? await deps.versions.publish(job.projectId, { artifact: result.artifact, metrics: result.metrics ?? {}, jobId: job.id })
    : undefined;
  // A model may also move its version itself (`bumpModelVersion()`); that counts as publishing.
  const bumped = model.modelVersion !== versionBefore ? model.modelVersion : null;
  return {
    version: published?.version ?? bumped,
    metrics: result?.metrics ?? {},
    ...(published || bumped ? {} : { note: `${model.constructor.name}.fit returned no artifact; the version is unchanged` }),
  };
}

/** Usable annotations only (not cancelled, non-empty), grouped by task, newest first within a task. */
export function toExamples(annotations: StoredAnnotation[]): TrainingExample[] {
  return annotations.filter(isUsable).map((a) => ({
    taskId: a.taskId,
    annotationId: a.annotationId,
    data: a.taskData,
    result: a.result,
    groundTruth: a.groundTruth,
    updatedAt: a.updatedAt ? new Date(a.updatedAt).toISOString() : null,
  }));
}
