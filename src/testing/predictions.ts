/**
 * Predictions as a test reads them: one per task, with `model_version` and `score` always present (as
 * `/predict` sends them to Label Studio). A model may answer a task with a list of predictions; the first is
 * then the task's item and the others ride along in `alternatives`, so `predictions[i].result` always works.
 */
import type { Prediction, TaskPrediction } from '../sdk/model-response.js';

export type TestPrediction = Prediction & {
  model_version: string;
  score: number;
  result: Array<Record<string, unknown>>;
  /** The task's other predictions, when the model returned a list for it. */
  alternatives?: TestPrediction[];
};

/** `results` as `/predict` answers them (every version and score filled) → one TestPrediction per task. */
export function onePerTask(results: TaskPrediction[], servedVersion: string): TestPrediction[] {
  return results.map((item) => {
    if (!Array.isArray(item)) return item as TestPrediction;
    const [first, ...others] = item as TestPrediction[];
    // An empty list means "no prediction" to Label Studio: read as an empty one.
    return { ...(first ?? { result: [], score: 0, model_version: servedVersion }), alternatives: others };
  });
}
