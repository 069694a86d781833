/**
 * The class a model author subclasses: the TypeScript counterpart of Label Studio's `LabelStudioMLBase`
 * (contract §7.2), without its bugs. One instance serves one project at one model version; the host
 * builds it, calls `setup()` once, caches it, and rebuilds it only when the label config or the served
 * version changes (the reference rebuilds on every request).
 *
 *   export default class MyModel extends Model {
 *     async predict(tasks) { return tasks.map(() => ({ result: [], score: 0 })); }
 *     async fit(event, data, ctx) { return { artifact: bytes, metrics: { accuracy } }; }
 *   }
 */
import type { Logger } from 'pino';
import type { LabelInterface } from './label-config.js';
import type { Json } from '../util/json.js';
import type { FitContext, FitResult, PredictContext, PredictOutput, PredictParams, Task, TrainingAction } from './types.js';

/** What the host hands a model instance. Model authors never build one themselves (tests may). */
export interface ModelInit {
  projectId: string;
  labelConfig: string;
  labelInterface: LabelInterface;
  extraParams: Json;
  modelVersion: string;
  services: ModelServices;
}

/** The host's side of the SDK: storage and Label Studio access scoped to one project. */
export interface ModelServices {
  log: Logger;
  getState(key: string): Promise<Json | undefined>;
  setState(key: string, value: Json): Promise<void>;
  /** Creates the next version (without artifact), makes it current, returns it. */
  bumpVersion(): Promise<string>;
  /** The stored artifact of a version of this project, if any. */
  loadArtifact(version: string): Promise<Uint8Array | undefined>;
  getLocalPath(url: string, taskId?: number): Promise<string>;
  preloadTaskData(data: unknown, taskId: number | undefined): Promise<unknown>;
}

export type ModelClass = (new (init: ModelInit) => Model) & {
  /** Version a project starts at (default `<ClassName>-v0`); INITIAL_MODEL_VERSION overrides it. */
  initialVersion?: string;
};

export abstract class Model {
  readonly projectId: string;
  readonly labelConfig: string;
  /** The parsed label config (controls, objects, labels), built once per config. */
  readonly labelInterface: LabelInterface;
  /** `extra_params` from the ML backend settings: a string, any JSON value, or null. */
  readonly extraParams: Json;
  readonly log: Logger;
  readonly #services: ModelServices;
  #modelVersion: string;

  constructor(init: ModelInit) {
    this.projectId = init.projectId;
    this.labelConfig = init.labelConfig;
    this.labelInterface = init.labelInterface;
    this.extraParams = init.extraParams;
    this.#modelVersion = init.modelVersion;
    this.#services = init.services;
    this.log = init.services.log;
  }

  /** The version this instance serves; equal to what `/setup` reports and stamped on predictions. */
  get modelVersion(): string {
    return this.#modelVersion;
  }

  /** Called once after construction: load weights, check the label config (throw to refuse it). */
  setup(): void | Promise<void> {}

  /** Return exactly one item per task, in order. Missing `model_version`s are filled by the host. */
  abstract predict(tasks: Task[], context: PredictContext, params: PredictParams): PredictOutput | Promise<PredictOutput>;

  /**
   * Train. Runs in a training worker, never in an HTTP request. `data` is the triggering webhook
   * payload (the latest one when a burst was coalesced); `ctx.examples` is the stored training data.
   * The default does nothing: a model without training simply keeps its version.
   */
  fit(_event: TrainingAction, _data: unknown, _ctx: FitContext): FitResult | void | Promise<FitResult | void> {}

  /** Called when the instance is evicted or replaced: release sessions, timers, handles. */
  dispose(): void | Promise<void> {}

  /** Approximate memory held by this instance, used to bound the instance cache. */
  get memoryBytes(): number {
    return 0;
  }

  /** Per-project state, durable across restarts and shared by every process. Values are any JSON. */
  get(key: string): Promise<Json | undefined> {
    return this.#services.getState(key);
  }

  set(key: string, value: Json): Promise<void> {
    return this.#services.setState(key, value);
  }

  async has(key: string): Promise<boolean> {
    return (await this.#services.getState(key)) !== undefined;
  }

  /** Moves the project to the next version (`Name-v3` → `Name-v4`, `1.2.3` → `1.3.0`) and returns it. */
  async bumpModelVersion(): Promise<string> {
    this.#modelVersion = await this.#services.bumpVersion();
    return this.#modelVersion;
  }

  /** The trained artifact of the version this instance serves, or undefined before the first training. */
  loadArtifact(): Promise<Uint8Array | undefined> {
    return this.#services.loadArtifact(this.#modelVersion);
  }

  /** Downloads a task file (upload, local file, cloud URI, URL on the Label Studio host) and returns its path. */
  getLocalPath(url: string, taskId?: number): Promise<string> {
    return this.#services.getLocalPath(url, taskId);
  }

  /** A copy of `task.data` with every Label Studio file reference (upload, local file, cloud URI) replaced by the file's text. */
  preloadTaskData(task: Task): Promise<Task['data']> {
    return this.#services.preloadTaskData(task.data, task.id) as Promise<Task['data']>;
  }

  /** Shortcut for `labelInterface.firstTagOccurrence`. */
  firstTagOccurrence(controlType: string, objectType: string) {
    return this.labelInterface.firstTagOccurrence(controlType, objectType);
  }

  /** Shortcut for `labelInterface.buildLabelMap`. */
  buildLabelMap(tagName: string, modelLabels: string[]): Record<string, string> {
    return this.labelInterface.buildLabelMap(tagName, modelLabels);
  }
}
