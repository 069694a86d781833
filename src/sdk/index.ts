/**
 * The public SDK: everything a model author imports (`import { … } from 'ls-ml-backend'`).
 *
 * - `Model` (model.ts): the class to subclass. `setup()` once per instance, `predict(tasks, context, params)`,
 *   `fit(event, data, ctx)` returning `{ artifact?, metrics? }`; `loadArtifact()`, `modelVersion`,
 *   `labelInterface`, `extraParams`, `get/set/has` state, `findTag`, `preloadTaskData`, `getLocalPath`, `log`.
 * - `isModelClass`: "is this a Model subclass?", true across copies of this package (loaders use it).
 * - `NonRetryableError` (errors.ts): throw it from `fit()` when retrying cannot help; the job fails at once.
 * - Label config (label-config.ts): `LabelInterface` (`findTag`, `labels`, `control`, `buildLabelMap`),
 *   `parseLabelConfig`, `LabelConfigError` (throw it from `setup()` to refuse a config).
 * - Regions (regions.ts): `choicesOf` / `spansOf` / `rectanglesOf` read an annotation's `result`;
 *   `choices` / `span` / `rectangle` build a prediction's regions; `Region` and its typed variants.
 * - `TextOffsets` (text-offsets.ts): Label Studio's span offsets (code points) ⇄ JavaScript string indices.
 * - `ModelResponse` (model-response.ts): optional wrapper for `predict`'s answer with its own `model_version`.
 * - `parseExtraParams`, `buildLabelMap`: the functions behind `model.extraParams` and `buildLabelMap`.
 * - Types (types.ts): `Task`, `FitContext` (examples, progress, signal, jobId, log), `TrainingExample`,
 *   `FitResult`, `PredictContext`, `PredictParams`, `PredictOutput`, `TrainingAction`, `Json`.
 */
export { Model, isModelClass, type ModelInit, type ModelClass } from './model.js';
export { NonRetryableError } from './errors.js';
export {
  LabelInterface,
  LabelConfigError,
  parseLabelConfig,
  type ControlInfo,
  type ParsedLabelConfig,
  type ObjectInput,
  type TagOccurrence,
  type TagOccurrenceFilters,
} from './label-config.js';
export { buildLabelMap } from './label-map.js';
export { parseExtraParams } from './extra-params.js';
export {
  choicesOf,
  spansOf,
  rectanglesOf,
  choices,
  span,
  rectangle,
  type Region,
  type RegionBase,
  type ChoicesRegion,
  type LabelsRegion,
  type RectangleRegion,
  type TextAreaRegion,
  type OtherRegion,
  type SpanValue,
  type RectangleValue,
} from './regions.js';
export { TextOffsets } from './text-offsets.js';
export { ModelResponse, type Prediction, type TaskPrediction } from './model-response.js';
export type { FitContext, FitResult, PredictContext, PredictOutput, PredictParams, Task, TrainingAction, TrainingExample, Json } from './types.js';
