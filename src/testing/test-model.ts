/**
 * `createTestModel`: a model instance for one label config, without HTTP, built and trained by the real
 * runtime: the model factory and serving host over SQLite stores in a temp dir, versions published and
 * swapped as in a server, and `fit` run by the training job's own code (`fitAndPublish`).
 *
 *   const tm = await createTestModel(MyModel, { labelConfig });
 *   await tm.predict([{ data: { text: 'great' } }]);          // one prediction per task, model_version filled
 *   const { version } = await tm.fit(examples);                // an artifact → MyModel-v1, served from now on
 *   await tm.close();
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../config.js';
import { predictRequestSchema, TRAINING_ACTIONS, webhookEventSchema, type TrainingAction } from '../labelstudio/payloads.js';
import { createLogger } from '../logger.js';
import { trainingPayload } from '../pipeline/job-payload.js';
import { fitAndPublish, toExamples } from '../pipeline/training-job.js';
import { createServingRuntime, type ServingRuntime } from '../runtime/model-runtime.js';
import type { Model, ModelClass, ModelInit } from '../sdk/model.js';
import { finalizePredictions } from '../sdk/model-response.js';
import type { PredictContext, PredictParams } from '../sdk/types.js';
import { createEmbeddedStores, type Stores } from '../store/index.js';
import type { StoredAnnotation } from '../store/types.js';
import type { Json } from '../util/json.js';
import { labelStudio } from './labelstudio.js';
import { onePerTask, type TestPrediction } from './predictions.js';

/** A concrete `Model` subclass (what `createTestModel` instantiates). */
export type ModelClassOf<M extends Model> = (new (init: ModelInit) => M) & Pick<ModelClass, 'initialVersion'>;

export interface TestModelOptions {
  labelConfig: string;
  /** The model settings' "Extra params": a string (as the form sends it) or any JSON value. */
  extraParams?: Json;
  /** Label Studio project id; default 1. */
  projectId?: number;
}

/** A task to predict for: `{ id?, data }`, or a whole Label Studio task. */
export interface TaskInput {
  id?: number;
  data: Record<string, unknown>;
  [field: string]: unknown;
}

/** One annotated task to train on, as `ctx.examples` will show it to `fit`. */
export interface TestExample {
  data: Record<string, unknown>;
  /** The annotation's regions; an empty result is not trained on (as in the worker). */
  result: Array<Record<string, unknown>>;
  taskId?: number;
  annotationId?: number;
}

export interface FitOptions {
  /** The event `fit` sees; default the action of `data`, else START_TRAINING. */
  event?: TrainingAction;
  /**
   * The triggering webhook (build it with `labelStudio.*`); `fit` gets it reduced as the worker reduces it.
   * Default: a START_TRAINING webhook for the project. Anything that is not a webhook reaches `fit` as is.
   */
  data?: unknown;
}

export interface TestFitResult {
  /** The version the training published (or the model moved to itself), null when it kept its version. */
  version: string | null;
  metrics: Record<string, Json>;
}

export interface TestModel<M extends Model = Model> {
  /** The instance being served now; replaced when a training publishes a new version. */
  readonly model: M;
  readonly modelVersion: string;
  predict(tasks: TaskInput[], options?: { context?: PredictContext; params?: PredictParams }): Promise<TestPrediction[]>;
  fit(examples: TestExample[], options?: FitOptions): Promise<TestFitResult>;
  close(): Promise<void>;
}

export async function createTestModel<M extends Model>(ModelClass: ModelClassOf<M>, options: TestModelOptions): Promise<TestModel<M>> {
  const projectId = options.projectId ?? 1;
  if (!Number.isSafeInteger(projectId) || projectId < 0) throw new TypeError(`projectId must be a Label Studio project id (a whole number), got ${projectId}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ls-ml-test-model-'));
  const config = loadConfig({ MODEL_DIR: dir, LOG_LEVEL: 'silent' });
  const log = createLogger('silent');
  let stores: Stores | undefined;
  let runtime: ServingRuntime | undefined;
  const cleanup = async () => {
    await runtime?.host.close();
    await stores?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    stores = createEmbeddedStores(config);
    // No idle unloading: a test model lives as long as its test.
    runtime = createServingRuntime({ config, stores, ModelClass, log, cache: { max: 10, maxBytes: Number.MAX_SAFE_INTEGER, idleMs: 0 } });
    const id = String(projectId);
    // What `/setup` does: refuse a broken config, store the project, build and set up its model.
    const first = await runtime.host.register({
      id,
      uid: id,
      labelConfig: options.labelConfig,
      extraParams: options.extraParams ?? null,
      hostname: undefined,
      accessToken: undefined,
      trusted: true,
    });
    return new RuntimeTestModel<M>(runtime, projectId, options.labelConfig, first as M, log, cleanup);
  } catch (err) {
    await cleanup();
    throw err;
  }
}

class RuntimeTestModel<M extends Model> implements TestModel<M> {
  private current: M;
  private jobs = 0;
  private closing: Promise<void> | undefined;
  private readonly shutdown = new AbortController();

  constructor(
    private readonly runtime: ServingRuntime,
    private readonly projectId: number,
    private readonly labelConfig: string,
    first: M,
    private readonly log: ReturnType<typeof createLogger>,
    private readonly cleanup: () => Promise<void>,
  ) {
    this.current = first;
  }

  get model(): M {
    return this.current;
  }

  get modelVersion(): string {
    return this.current.modelVersion;
  }

  async predict(tasks: TaskInput[], options: { context?: PredictContext; params?: PredictParams } = {}): Promise<TestPrediction[]> {
    // The route's own schema, so tasks reach the model exactly as `/predict` would hand them over.
    const body = predictRequestSchema.parse({ tasks });
    const model = await this.served();
    const output = await model.predict(body.tasks, options.context ?? null, options.params ?? {});
    const results = finalizePredictions(output, model.modelVersion);
    if (results.length !== body.tasks.length) {
      throw new Error(`${model.constructor.name}.predict returned ${results.length} results for ${body.tasks.length} tasks; it must return exactly one per task`);
    }
    return onePerTask(results, model.modelVersion);
  }

  async fit(examples: TestExample[], options: FitOptions = {}): Promise<TestFitResult> {
    this.assertOpen();
    const id = String(this.projectId);
    const { event, payload } = this.trigger(options);
    const trainingExamples = toExamples(examples.map(asStoredAnnotation));
    // A training builds its own instance of the served version, as the worker does, and disposes it after.
    const model = await this.runtime.factory.instantiate(id);
    try {
      const fitted = await fitAndPublish(
        { versions: this.runtime.versions, signal: this.shutdown.signal, log: this.log },
        model,
        { id: `test-${++this.jobs}`, projectId: id, event, payload },
        trainingExamples,
        () => {},
      );
      await this.served();
      return { version: fitted.version, metrics: fitted.metrics };
    } finally {
      await model.dispose();
    }
  }

  /** What the queue would hand `fit`: the webhook's allowlisted fields (job-payload.ts), under its action. */
  private trigger(options: FitOptions): { event: TrainingAction; payload: unknown } {
    const data = options.data ?? labelStudio.startTraining({ project: labelStudio.project({ id: this.projectId, labelConfig: this.labelConfig }) });
    const webhook = webhookEventSchema.safeParse(data);
    const trains = webhook.success && (TRAINING_ACTIONS as readonly string[]).includes(webhook.data.action);
    const event = options.event ?? (trains ? (webhook.data!.action as TrainingAction) : 'START_TRAINING');
    return { event, payload: trains ? trainingPayload(webhook.data!, event) : data };
  }

  close(): Promise<void> {
    this.shutdown.abort();
    return (this.closing ??= this.cleanup());
  }

  private assertOpen(): void {
    if (this.closing) throw new Error('this TestModel is closed');
  }

  /** The served instance, after any hot swap a new version caused. */
  private async served(): Promise<M> {
    this.assertOpen();
    this.current = (await this.runtime.host.model(String(this.projectId))) as M;
    return this.current;
  }
}

/** The annotation store's form of an example, so `toExamples` (the worker's filter) decides what is trained on. */
function asStoredAnnotation(example: TestExample, index: number): StoredAnnotation {
  if (!Array.isArray(example?.result)) throw new TypeError(`examples[${index}].result must be a list of regions`);
  if (typeof example.data !== 'object' || example.data === null) throw new TypeError(`examples[${index}].data must be the task's data object`);
  return {
    annotationId: example.annotationId ?? index + 1,
    taskId: example.taskId ?? index + 1,
    result: example.result,
    taskData: example.data,
    updatedAt: 0,
    cancelled: false,
    groundTruth: false,
  };
}
