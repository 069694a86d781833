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
import type { VersionManager } from './versions.js';
import type { ArtifactStore, ProjectRecord, ProjectStore, StateStore } from '../store/types.js';
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

  /** A fresh instance of the project's current version, set up and ready. */
  async instantiate(projectId: string): Promise<Model> {
    const record = await this.record(projectId);
    return this.build(record, await this.o.versions.current(projectId));
  }

  async build(record: ProjectRecord, version: string): Promise<Model> {
    const log = this.o.log.child({ projectId: record.id, modelVersion: version });
    const model = new this.o.ModelClass({
      projectId: record.id,
      labelConfig: record.labelConfig,
      labelInterface: this.labelInterface(record.labelConfig),
      extraParams: record.extraParams,
      modelVersion: version,
      services: this.services(record, log),
    });
    try {
      await model.setup();
    } catch (err) {
      await disposeQuietly(model, this.o.log);
      throw new ModelSetupError(record.id, err);
    }
    return model;
  }

  private services(record: ProjectRecord, log: Logger): ModelServices {
    const { state, versions, artifacts } = this.o;
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
      loadArtifact: (version) => artifacts.get(record.id, version),
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
