/**
 * Prediction payloads and `ModelResponse`, the counterpart of the Python backend's helper of that name.
 *
 * Label Studio reads `result`, `score` and `model_version` of each prediction; a task's item may be one
 * prediction or a list of them. Every missing `model_version` must be filled before answering, or LS
 * cannot tell which model version produced what (and re-predicts).
 */
import { z } from 'zod';

/** One region of a prediction (`from_name`, `to_name`, `type`, `value`, … are typical, none required). */
export const RegionSchema = z.looseObject({});

export const PredictionSchema = z.looseObject({
  result: z.array(RegionSchema),
  score: z.number().optional(),
  model_version: z.string().nullable().optional(),
});

/** What a model returns for one task: a prediction or several. */
export const TaskPredictionSchema = z.union([PredictionSchema, z.array(PredictionSchema)]);

export type Region = z.infer<typeof RegionSchema>;
export type Prediction = z.infer<typeof PredictionSchema>;
export type TaskPrediction = z.infer<typeof TaskPredictionSchema>;

/** Python truthiness, as the reference uses it: `null`, `undefined` and `''` count as "no version". */
const hasVersion = (version: string | null | undefined): version is string =>
  typeof version === 'string' && version !== '';

/** A copy with `model_version` filled (if missing) and the key order LS's reference emits. */
function withDefaults(prediction: Prediction, version: string | null): Prediction {
  const { model_version, score, result, ...rest } = prediction;
  return { model_version: hasVersion(model_version) ? model_version : version, score: score ?? 0, result, ...rest };
}

const mapTask = (task: TaskPrediction, fn: (p: Prediction) => Prediction): TaskPrediction =>
  Array.isArray(task) ? task.map(fn) : fn(task);

/** Brand of ModelResponse, shared by every copy of this package (a model may import its own). */
const MODEL_RESPONSE_BRAND: unique symbol = Symbol.for('ls-ml-backend.ModelResponse');

export class ModelResponse {
  private predictions: TaskPrediction[];

  get [MODEL_RESPONSE_BRAND](): true {
    return true;
  }

  constructor(
    predictions: TaskPrediction[],
    private modelVersion?: string,
  ) {
    // Shallow copies: filling versions must not mutate the objects the model handed us.
    this.predictions = predictions.map((task) => mapTask(task, (p) => ({ ...p })));
  }

  get model_version(): string | undefined {
    return this.modelVersion;
  }

  hasModelVersion(): boolean {
    return hasVersion(this.modelVersion);
  }

  /** Set the response version and give it to every prediction that lacks one (existing versions are kept). */
  setVersion(version: string): void {
    this.modelVersion = version;
    this.fillMissingVersions(version);
  }

  /** Give the response version to every prediction that lacks one. No-op while the response has none. */
  updatePredictionsVersion(): void {
    if (hasVersion(this.modelVersion)) this.fillMissingVersions(this.modelVersion);
  }

  toJSON(): { model_version: string | null; predictions: TaskPrediction[] } {
    return {
      model_version: this.modelVersion ?? null,
      predictions: this.predictions.map((task) => mapTask(task, (p) => withDefaults(p, null))),
    };
  }

  private fillMissingVersions(version: string): void {
    for (const task of this.predictions) {
      for (const prediction of Array.isArray(task) ? task : [task]) {
        if (!hasVersion(prediction.model_version)) prediction.model_version = version;
      }
    }
  }
}

/**
 * The per-task `results` list for `/predict`: every prediction gets a `model_version` (the response's if it
 * has one, else `servedVersion`) and a `score` (default 0). `null`/`undefined` (model returned nothing) → `[]`.
 * Unlike the reference, a bare list is filled too instead of being passed through unchanged.
 */
export function finalizePredictions(
  output: TaskPrediction[] | ModelResponse | null | undefined,
  servedVersion: string,
): TaskPrediction[] {
  if (output == null) return [];
  if (isModelResponse(output)) {
    const version = hasVersion(output.model_version) ? output.model_version : servedVersion;
    return output.toJSON().predictions.map((task) => mapTask(task, (p) => withDefaults(p, version)));
  }
  return output.map((task) => mapTask(task, (p) => withDefaults(p, servedVersion)));
}

/** True for a ModelResponse from any copy of this package; `instanceof` only knows this copy's class. */
function isModelResponse(value: unknown): value is ModelResponse {
  return typeof value === 'object' && value !== null && (value as { [MODEL_RESPONSE_BRAND]?: unknown })[MODEL_RESPONSE_BRAND] === true;
}
