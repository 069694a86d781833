/** Types a model author sees. Request shapes come from the zod schemas in `labelstudio/payloads.ts`. */
import type { Logger } from 'pino';
import type { Json } from '../util/json.js';
import type { Task, TrainingAction } from '../labelstudio/payloads.js';
import type { TaskPrediction, ModelResponse } from './model-response.js';
import type { Region } from './regions.js';

export type { Task, TrainingAction, Json };

/** `params` of `/predict` minus `context`: Label Studio's task-data credentials (never logged). */
export interface PredictParams {
  login?: string | null;
  password?: string | null;
  [key: string]: unknown;
}

/** Interactive pre-annotation context (`/predict` from the labeling screen): the regions the annotator just drew; null otherwise. */
export type PredictContext = { result?: Region[]; [key: string]: unknown } | null;

/** What `predict` may return: one item per task (a prediction or a list of them), or a ModelResponse. */
export type PredictOutput = TaskPrediction[] | ModelResponse;

/** One annotated task as the training job sees it (read from the annotation store when the job runs). */
export interface TrainingExample {
  taskId: number;
  annotationId: number;
  /** The task's `data` object (e.g. `{ text: "…" }`): keys are the label config's `$variables`. */
  data: Record<string, unknown>;
  /**
   * The annotation's regions, as Label Studio stored them. Read them with `choicesOf`, `spansOf`,
   * `rectanglesOf`: they skip malformed entries, so nothing needs a cast.
   */
  result: Region[];
  /** Marked as ground truth in Label Studio. */
  groundTruth: boolean;
  /** When the annotation was last changed (ISO 8601), if Label Studio said. */
  updatedAt: string | null;
}

/** The third argument of `Model.fit`: the training data and the job's controls. */
export interface FitContext {
  /**
   * The project's current training data, read when the job starts: every annotation that is neither
   * cancelled nor empty, grouped by task (newest annotation first within a task). Already includes
   * annotations synced from Label Studio on START_TRAINING.
   */
  examples: TrainingExample[];
  /** Id of this training job, as `GET /jobs/:id` and the webhook answer name it. */
  jobId: string;
  /** Report progress in [0, 1] (clamped); `GET /jobs/:id` shows the last value. `message` is not recorded yet. */
  progress(fraction: number, message?: string): void;
  /** A logger bound to this project and job; structured fields go in the first argument. */
  log: Logger;
  /**
   * Aborted when the worker shuts down. A long loop should check `signal.aborted` between steps and stop
   * (throw), rather than be cut off mid-step when the thread exits.
   */
  signal: AbortSignal;
}

/**
 * What `fit` returns. Return an `artifact` to publish a new model version: it is stored, the version is
 * bumped, and every serving process rebuilds its instance for the project (its `setup()` then reads the
 * new artifact with `loadArtifact()`). Without an artifact the version stays as it is.
 */
export interface FitResult {
  /** The trained model, in any format the model's `setup()` can read back. */
  artifact?: Uint8Array;
  /** Shown with the version (`GET /projects/:id/versions`) and on the job record. */
  metrics?: Record<string, Json>;
}
