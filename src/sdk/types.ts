/** Types a model author sees. Request shapes come from the zod schemas in `labelstudio/payloads.ts`. */
import type { Logger } from 'pino';
import type { Json } from '../util/json.js';
import type { Task, TrainingAction } from '../labelstudio/payloads.js';
import type { TaskPrediction, ModelResponse } from './model-response.js';

export type { Task, TrainingAction, Json };

/** `params` of `/predict` minus `context`: Label Studio's task-data credentials (never logged). */
export interface PredictParams {
  login?: string | null;
  password?: string | null;
  [key: string]: unknown;
}

/** Interactive pre-annotation context: the regions the annotator just drew (contract §3.4), or null. */
export type PredictContext = { result?: Array<Record<string, unknown>>; [key: string]: unknown } | null;

/** What `predict` may return: one item per task (a prediction or a list of them), or a ModelResponse. */
export type PredictOutput = TaskPrediction[] | ModelResponse;

/** One annotated task as the training job sees it (read from the annotation store when the job runs). */
export interface TrainingExample {
  taskId: number;
  annotationId: number;
  /** The task's `data` object (e.g. `{ text: "…" }`). */
  data: Record<string, unknown>;
  /** The annotation's `result` regions. */
  result: Array<Record<string, unknown>>;
  groundTruth: boolean;
  updatedAt: string | null;
}

export interface FitContext {
  /** Current training data: every non-cancelled, non-empty annotation, newest per task first. */
  examples: TrainingExample[];
  jobId: string;
  /** Report progress in [0, 1]; shown by `GET /jobs/:id`. */
  progress(fraction: number, message?: string): void;
  log: Logger;
  /** Aborted when the worker shuts down; long loops should check it. */
  signal: AbortSignal;
}

/**
 * Return an `artifact` to publish a new model version: it is stored, the version is bumped, and every
 * serving process rebuilds its instance for the project (its `setup()` then loads the new artifact).
 */
export interface FitResult {
  artifact?: Uint8Array;
  metrics?: Record<string, Json>;
}
