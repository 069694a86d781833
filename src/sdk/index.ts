/** The public SDK: everything a model author imports. */
export { Model, type ModelInit, type ModelClass } from './model.js';
export { LabelInterface, LabelConfigError, parseLabelConfig, type ControlInfo, type ParsedLabelConfig, type ObjectInput } from './label-config.js';
export { buildLabelMap } from './label-map.js';
export { ModelResponse, type Prediction, type TaskPrediction, type Region } from './model-response.js';
export type { FitContext, FitResult, PredictContext, PredictOutput, PredictParams, Task, TrainingAction, TrainingExample, Json } from './types.js';
