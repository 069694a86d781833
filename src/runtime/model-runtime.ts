/**
 * Wiring of versions, the model factory and (in serving processes) the model host over a store bundle.
 * A serving process announces a version on the change feed and swaps its own instance; a training thread
 * has no host and hands every announcement to its parent process (see `announceThroughParent`).
 */
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Stores } from '../store/index.js';
import type { ModelClass } from '../sdk/model.js';
import { ModelFactory } from './model-factory.js';
import { ModelHost, type ModelHostOptions } from './model-host.js';
import { initialVersionOf, VersionManager, type VersionAnnouncer } from './versions.js';

export interface RuntimeOptions {
  config: Config;
  stores: Stores;
  ModelClass: ModelClass;
  log: Logger;
}

export interface ServingRuntime {
  versions: VersionManager;
  factory: ModelFactory;
  host: ModelHost;
  /** The process's one announcer: publish on the feed, then swap this process's instance. */
  announce: VersionAnnouncer;
}

export function createServingRuntime(options: RuntimeOptions & { cache: ModelHostOptions['cache'] }): ServingRuntime {
  const { stores, log, cache } = options;
  let host: ModelHost | undefined;
  const announce: VersionAnnouncer = async (projectId, version) => {
    await stores.feed.publish({ kind: 'version', projectId, version });
    await host?.refresh(projectId);
  };
  const { versions, factory } = createTrainingRuntime(options, announce);
  host = new ModelHost({ factory, projects: stores.projects, versions, feed: stores.feed, log, cache });
  return { versions, factory, host, announce };
}

/** Versions and a factory without a serving cache: what a training thread needs to run `fit`. */
export function createTrainingRuntime(options: RuntimeOptions, announce: VersionAnnouncer): { versions: VersionManager; factory: ModelFactory } {
  const { config, stores, ModelClass, log } = options;
  const versions = new VersionManager(stores.versions, stores.artifacts, announce, initialVersionOf(ModelClass, config), config.models.keepVersions);
  const factory = new ModelFactory({
    ModelClass,
    projects: stores.projects,
    state: stores.state,
    artifacts: stores.artifacts,
    versions,
    log,
    modelDir: config.modelDir,
    labelStudio: config.labelStudio,
  });
  return { versions, factory };
}
