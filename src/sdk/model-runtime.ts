import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Stores } from '../store/index.js';
import type { ChangeFeed } from '../store/types.js';
import type { ModelClass } from './model.js';
import { ModelHost } from './model-host.js';
import { initialVersionOf, VersionManager } from './versions.js';

/** The version manager and model host over a store bundle: the same wiring for API processes and training threads. */
export function createModelRuntime(options: {
  config: Config;
  stores: Stores;
  feed: ChangeFeed;
  ModelClass: ModelClass;
  log: Logger;
  cache: { max: number; maxBytes: number; idleMs: number };
}): { versions: VersionManager; host: ModelHost } {
  const { config, stores, feed, ModelClass, log, cache } = options;
  const versions = new VersionManager(stores.versions, stores.artifacts, feed, initialVersionOf(ModelClass, config), config.models.keepVersions);
  const host = new ModelHost({
    ModelClass,
    projects: stores.projects,
    state: stores.state,
    artifacts: stores.artifacts,
    versions,
    feed,
    log,
    modelDir: config.modelDir,
    labelStudio: config.labelStudio,
    cache,
  });
  return { versions, host };
}
