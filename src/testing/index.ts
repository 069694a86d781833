/**
 * The test kit (`import { … } from 'ls-ml-backend/testing'`): test a model with the backend's own runtime,
 * from any test framework.
 * - `createTestModel`: an instance for a label config, no HTTP; `predict` on tasks, `fit` on examples.
 * - `startTestBackend`: the real server on a free port, called the way Label Studio calls it.
 * - `labelStudio`: builders for the bodies Label Studio sends (projects, tasks, annotations, events).
 */
export { createTestModel, type TestModel, type TestModelOptions, type TestExample, type TestFitResult, type FitOptions, type TaskInput, type ModelClassOf } from './test-model.js';
export {
  startTestBackend,
  TestBackendError,
  type TestBackend,
  type TestBackendOptions,
  type BackendSetupOptions,
  type BackendPredictOptions,
  type WebhookAnswer,
} from './test-backend.js';
export {
  labelStudio,
  projectUid,
  type LabelStudioProject,
  type LabelStudioTask,
  type LabelStudioAnnotation,
  type ProjectCounters,
  type ProjectOptions,
  type TaskOptions,
  type AnnotationOptions,
  type AnnotationEvent,
  type StartTrainingEvent,
  type SetupRequest,
  type SetupOptions,
  type PredictRequest,
  type PredictOptions,
} from './labelstudio.js';
export type { TestPrediction } from './predictions.js';
export type { JobRecord } from '../store/types.js';
