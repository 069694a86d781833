/**
 * Builds model instances: one project at one version, with its label interface and the services the SDK
 * exposes (state, artifacts, task files, version bumps), then runs `setup()`. Serving (ModelHost) and
 * training (a training thread) both build their instances here, so a model sees the same world in both.
 */
import path from 'node:path';
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import { LabelInterface } from '../sdk/label-config.js';
import type { Model, ModelClass, ModelServices } from '../sdk/model.js';
import { servingOrder, type VersionFailure, type VersionManager } from './versions.js';
import { ArtifactVerificationError, artifactProblem } from './artifact-check.js';
import type { ArtifactStore, ProjectRecord, ProjectStore, StateStore } from '../store/types.js';
import { isRedisUnavailable } from '../store/redis/connection.js';
import { TaskFileResolver } from '../labelstudio/files.js';
import type { Json } from '../util/json.js';
import { HttpError, errorMessage } from '../util/errors.js';
import { safePathSegment } from '../util/ids.js';

export interface ModelFactoryOptions {
  ModelClass: ModelClass;
  projects: ProjectStore;
  state: StateStore;
  artifacts: ArtifactStore;
  versions: VersionManager;
  log: Logger;
  modelDir: string;
  labelStudio: { url: string | undefined; apiKey: string | undefined; allowedFileHosts: string[] };
}

/** A model refused its project (its `setup()` threw): answered 422 with the model's message. */
export class ModelSetupError extends HttpError {
  constructor(projectId: string, cause: unknown) {
    super(422, 'model_setup_failed', `model setup failed for project ${projectId}: ${errorMessage(cause)}`);
  }
}

/** No stored version of a project loads (each is bad): the project cannot be served until it trains again. */
export class NoUsableVersionError extends ModelSetupError {}

/** What one build learned about its own version's artifact through `loadArtifact()`. */
interface ArtifactUse {
  /** Set when the artifact failed verification (missing, truncated, other bytes). */
  problem: string | undefined;
  /** True once the verified artifact was handed to the model. */
  loaded: boolean;
}

/**
 * One version's build: the instance, or why not. `bad`: the artifact failed verification, the version is
 * unusable. `suspect`: `setup()` threw after getting its verified artifact; bad only if an older version
 * then builds with the same config (else the config or the environment is at fault). `stop`: anything
 * else (a refused config, a store outage), answered as is.
 */
type Attempt = { model: Model } | { verdict: 'bad' | 'suspect' | 'stop'; reason: string; error: unknown };

export interface ServeOptions {
  /** An instance already built for a version (the one serving now), used instead of building it again. */
  reuse?: (version: string) => Model | undefined;
}

export class ModelFactory {
  /** Parsed label configs by config text: projects sharing a config parse it once. */
  private readonly interfaces = new LRUCache<string, LabelInterface>({ max: 500 });

  constructor(private readonly o: ModelFactoryOptions) {}

  get modelClassName(): string {
    return this.o.ModelClass.name;
  }

  /** Parses (or reuses) a label config; throws LabelConfigError for bad XML. */
  labelInterface(labelConfig: string): LabelInterface {
    let parsed = this.interfaces.get(labelConfig);
    if (!parsed) {
      parsed = new LabelInterface(labelConfig);
      this.interfaces.set(labelConfig, parsed);
    }
    return parsed;
  }

  /** What `/setup` stored for a project; a project never set up gets an empty config, as Label Studio's own tests do. */
  async record(projectId: string): Promise<ProjectRecord> {
    const record = await this.o.projects.get(projectId);
    if (record) return record;
    return { id: projectId, uid: projectId, labelConfig: '<View></View>', extraParams: null, hostname: undefined, accessToken: undefined, trusted: false, updatedAt: new Date(0).toISOString() };
  }

  /** A fresh instance of the version the project serves, set up and ready (training builds its model here). */
  async instantiate(projectId: string): Promise<Model> {
    const record = await this.record(projectId);
    try {
      return await this.buildServed(record);
    } catch (err) {
      // Every stored version is bad: train from the untrained state, so a new version can replace them.
      if (err instanceof NoUsableVersionError) return this.build(record, this.o.versions.initialVersion);
      throw err;
    }
  }

  /**
   * The instance to serve: `current`, or, when that version fails to load, the newest version that does.
   * Versions that fail are marked bad in the store (one error log line each) and `current` moves to the
   * version built, announced to every process; so `/setup`, predictions and `/versions` agree, after a
   * restart too. A refused config or a store outage marks nothing and is thrown as is.
   */
  async buildServed(record: ProjectRecord, options: ServeOptions = {}): Promise<Model> {
    const doc = await this.o.versions.ensure(record.id);
    const failures: Array<VersionFailure & { verdict: 'bad' | 'suspect' }> = [];
    let served: Model | undefined;
    let stopped: unknown;
    for (const version of servingOrder(doc)) {
      served = options.reuse?.(version);
      if (served) break;
      const attempt = await this.attempt(record, version);
      if ('model' in attempt) {
        served = attempt.model;
        break;
      }
      if (attempt.verdict === 'stop') {
        stopped = attempt.error;
        break;
      }
      failures.push({ version, error: attempt.reason, verdict: attempt.verdict });
    }
    // A suspect is bad only once an older version built with the same config: then its artifact is at fault.
    const bad = failures.filter((f) => f.verdict === 'bad' || served !== undefined).map(({ version, error: reason }) => ({ version, error: reason }));
    if (bad.length > 0 || (served && served.modelVersion !== doc.current)) await this.settle(record.id, bad, served?.modelVersion);
    if (served) return served;
    if (stopped !== undefined) throw stopped;
    const why = failures.map((f) => `${f.version}: ${f.error}`).join('; ');
    throw new NoUsableVersionError(record.id, `no stored version loads (${why || 'every one is marked bad'}); train a new one`);
  }

  /** Builds one version of a project, or throws why it cannot be served. */
  async build(record: ProjectRecord, version: string): Promise<Model> {
    const attempt = await this.attempt(record, version);
    if ('model' in attempt) return attempt.model;
    throw attempt.error;
  }

  private async attempt(record: ProjectRecord, version: string): Promise<Attempt> {
    const log = this.o.log.child({ projectId: record.id, modelVersion: version });
    const use: ArtifactUse = { problem: undefined, loaded: false };
    const model = new this.o.ModelClass({
      projectId: record.id,
      labelConfig: record.labelConfig,
      labelInterface: this.labelInterface(record.labelConfig),
      extraParams: record.extraParams,
      modelVersion: version,
      services: this.services(record, log, { version, use }),
    });
    try {
      await model.setup();
    } catch (err) {
      await disposeQuietly(model, this.o.log);
      if (use.problem) return { verdict: 'bad', reason: use.problem, error: new ModelSetupError(record.id, err) };
      if (isRedisUnavailable(err)) return { verdict: 'stop', reason: errorMessage(err), error: err }; // a 503, not the model's fault
      const reason = `setup() failed on its artifact: ${errorMessage(err)}`;
      return { verdict: use.loaded ? 'suspect' : 'stop', reason, error: new ModelSetupError(record.id, err) };
    }
    if (use.problem) {
      // The model caught the failure itself: serving it would serve a version without its weights.
      await disposeQuietly(model, this.o.log);
      return { verdict: 'bad', reason: use.problem, error: new ModelSetupError(record.id, new ArtifactVerificationError(record.id, version, use.problem)) };
    }
    return { model };
  }

  /** Persists what a build found (bad versions, the version served) and announces a moved `current`. */
  private async settle(projectId: string, bad: VersionFailure[], served: string | undefined): Promise<void> {
    try {
      const settled = await this.o.versions.settle(projectId, bad, served);
      for (const f of settled.newlyBad) {
        this.o.log.error(
          { projectId, version: f.version, reason: f.error, served: served ?? null },
          `model version ${f.version} of project ${projectId} marked bad: ${f.error}; ${served ? `serving ${served} instead` : 'no version can be served'}`,
        );
      }
      // Not awaited: announcing waits for this process to serve the version, and this build is what serves it.
      if (settled.moved) {
        void this.o.versions.announceChange(projectId, settled.doc.current).catch((err: unknown) => {
          this.o.log.warn({ projectId, err: errorMessage(err) }, 'announcing the served version failed');
        });
      }
    } catch (err) {
      // The instance is still good to serve; the next build finds the same failures and records them.
      this.o.log.warn({ projectId, err: errorMessage(err) }, 'recording bad model versions failed');
    }
  }

  /** A version's artifact, checked against the size and SHA-256 recorded when it was published. */
  private async loadVerified(projectId: string, version: string, use: ArtifactUse | undefined): Promise<Uint8Array | undefined> {
    const [info, bytes] = await Promise.all([this.o.versions.info(projectId, version), this.o.artifacts.get(projectId, version)]);
    const problem = info?.artifact ? artifactProblem(info.artifact, bytes) : undefined;
    if (problem) {
      if (use) use.problem ??= problem;
      throw new ArtifactVerificationError(projectId, version, problem);
    }
    if (use && bytes) use.loaded = true;
    return bytes;
  }

  private services(record: ProjectRecord, log: Logger, own: { version: string; use: ArtifactUse }): ModelServices {
    const { state, versions } = this.o;
    let files: TaskFileResolver | undefined;
    const resolver = () =>
      (files ??= new TaskFileResolver({
        // The operator's LABEL_STUDIO_URL wins over /setup's hostname, which may not be reachable from here.
        labelStudioUrl: this.o.labelStudio.url ?? record.hostname ?? undefined,
        token: this.o.labelStudio.apiKey ?? record.accessToken ?? undefined,
        allowedHosts: this.o.labelStudio.allowedFileHosts,
        cacheDir: path.join(this.o.modelDir, 'files', safePathSegment(record.id)),
      }));
    return {
      log,
      getState: (key) => state.get(record.id, key),
      setState: (key, value: Json) => state.set(record.id, key, value),
      bumpVersion: async () => (await versions.publish(record.id)).version,
      loadArtifact: (version) => this.loadVerified(record.id, version, version === own.version ? own.use : undefined),
      getLocalPath: (url, taskId) => resolver().getLocalPath(url, taskId),
      preloadTaskData: (data, taskId) => resolver().preloadTaskData(data, { taskId }),
    };
  }
}

/** Runs a model's `dispose()`, logging instead of throwing: a failing cleanup must not fail the caller. */
export async function disposeQuietly(model: Model, log: Logger): Promise<void> {
  try {
    await model.dispose();
  } catch (err) {
    log.warn({ projectId: model.projectId, err: errorMessage(err) }, 'model dispose failed');
  }
}
