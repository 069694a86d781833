/**
 * The class a model author subclasses: the TypeScript counterpart of Label Studio's `LabelStudioMLBase`.
 * One instance serves one project at one model version; the host builds it, calls `setup()` once, caches
 * it, and rebuilds it only when the label config or the served version changes (Label Studio's Python
 * backend rebuilds it on every request). A training builds an instance of its own.
 *
 *   export default class MyModel extends Model {
 *     override async predict(tasks: Task[]) { return tasks.map(() => ({ result: [], score: 0 })); }
 *     override async fit(event: TrainingAction, data: unknown, ctx: FitContext) { return { artifact: bytes, metrics: { accuracy } }; }
 *   }
 */
import type { Logger } from 'pino';
import type { LabelInterface, TagOccurrence, TagOccurrenceFilters } from './label-config.js';
import type { Json } from '../util/json.js';
import { parseExtraParams } from './extra-params.js';
import type { FitContext, FitResult, PredictContext, PredictOutput, PredictParams, Task, TrainingAction } from './types.js';

/** What the host hands a model's constructor. A subclass with its own constructor passes it on to `super`. */
export interface ModelInit {
  projectId: string;
  labelConfig: string;
  labelInterface: LabelInterface;
  /** `extra_params` as received (a string or any JSON value); the constructor parses it. */
  extraParams: Json;
  modelVersion: string;
  services: ModelServices;
}

/**
 * @internal The host's side of a model: storage and Label Studio access scoped to one project, built by the
 * runtime (src/runtime/model-factory.ts). Model authors use the `Model` methods that wrap it instead.
 */
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

/** Brand of the Model class, shared by every copy of this package through the global symbol registry. */
const MODEL_BRAND: unique symbol = Symbol.for('ls-ml-backend.Model');

/**
 * True when `value` is a class that extends `Model`, from this copy of the package or any other (a model
 * may import its own). `instanceof` cannot tell: each copy has its own `Model`.
 */
export function isModelClass(value: unknown): value is ModelClass {
  if (typeof value !== 'function') return false;
  // Subclasses inherit the static brand; only the base class (of whichever copy) owns it.
  return (value as { [MODEL_BRAND]?: unknown })[MODEL_BRAND] === true && !Object.hasOwn(value, MODEL_BRAND);
}

export abstract class Model {
  /** The brand `isModelClass` checks; a getter, so it stays out of logs and JSON. */
  static get [MODEL_BRAND](): true {
    return true;
  }

  readonly projectId: string;
  readonly labelConfig: string;
  /** The parsed label config (controls, objects, labels), built once per config. */
  readonly labelInterface: LabelInterface;
  /**
   * `extra_params` from the ML backend's settings, parsed once: Label Studio's form sends JSON text, which
   * arrives here as its value (`{"control": "topic"}` → an object); text that is not JSON stays a string;
   * `null` when none was given.
   */
  readonly extraParams: Json;
  readonly log: Logger;
  readonly #services: ModelServices;
  #modelVersion: string;

  constructor(init: ModelInit) {
    this.projectId = init.projectId;
    this.labelConfig = init.labelConfig;
    this.labelInterface = init.labelInterface;
    this.extraParams = parseExtraParams(init.extraParams);
    this.#modelVersion = init.modelVersion;
    this.#services = init.services;
    this.log = init.services.log;
  }

  /** The version this instance serves; equal to what `/setup` reports and stamped on predictions. */
  get modelVersion(): string {
    return this.#modelVersion;
  }

  /**
   * Called once after construction: load weights (`loadArtifact()`), check the label config. Throwing refuses
   * the project: `/setup` answers 422 with the message, and a training on that config fails without retries.
   */
  setup(): void | Promise<void> {}

  /** Return exactly one item per task, in order. Missing `model_version`s are filled by the host. */
  abstract predict(tasks: Task[], context: PredictContext, params: PredictParams): PredictOutput | Promise<PredictOutput>;

  /**
   * Train. Runs in a training worker, never in an HTTP request. `data` is what the triggering webhook said
   * (the latest one when a burst was coalesced): its action, the project's id, title, label config and
   * counters, annotation and task ids; never its secrets. `ctx.examples` is the stored training data.
   * Return `{ artifact, metrics }` to publish a new version. A throw fails the attempt and the job is
   * retried with backoff, unless it is a NonRetryableError (retrying cannot help): then it fails at once.
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

  /** Shortcut for `labelInterface.findTag`: the first control of a type on an object of a type, or undefined. */
  findTag(controlType: string | readonly string[], objectType: string | readonly string[], filters?: TagOccurrenceFilters): TagOccurrence | undefined {
    return this.labelInterface.findTag(controlType, objectType, filters);
  }

  /** Shortcut for `labelInterface.firstTagOccurrence` (like `findTag`, but throws a LabelConfigError when there is none). */
  firstTagOccurrence(controlType: string | readonly string[], objectType: string | readonly string[], filters?: TagOccurrenceFilters): TagOccurrence {
    return this.labelInterface.firstTagOccurrence(controlType, objectType, filters);
  }

  /** Shortcut for `labelInterface.buildLabelMap`. */
  buildLabelMap(tagName: string, modelLabels: string[]): Record<string, string> {
    return this.labelInterface.buildLabelMap(tagName, modelLabels);
  }
}
