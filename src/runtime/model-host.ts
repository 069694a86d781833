/**
 * Hosts model instances for serving: one per project, built on first use, cached, and rebuilt only when the
 * label config or the served version changes. A rebuild happens beside the old instance, which keeps serving
 * until the new one's `setup()` has finished (hot swap). The cache is bounded by count, bytes and idle time.
 */
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import type { LabelInterface } from '../sdk/label-config.js';
import type { Model } from '../sdk/model.js';
import type { VersionManager } from './versions.js';
import type { ChangeFeed, ProjectRecord, ProjectStore } from '../store/types.js';
import { errorMessage } from '../util/errors.js';
import { disposeQuietly, type ModelFactory } from './model-factory.js';

export interface ModelHostOptions {
  factory: ModelFactory;
  projects: ProjectStore;
  versions: VersionManager;
  feed: ChangeFeed;
  log: Logger;
  /**
   * `prefetchMs`: a new version announced by another process is loaded at once only for projects this
   * process served within that window; the others load it when next served (absent: every cached project).
   */
  cache: { max: number; maxBytes: number; idleMs: number; prefetchMs?: number };
  /** How long a replaced instance lives on for requests already using it (default 5 s). */
  retireGraceMs?: number;
}

const RETIRE_GRACE_MS = 5_000;

interface Entry {
  labelConfig: string;
  version: string;
  model: Model;
  /** Epoch ms of the last request served with it (0: built by /setup, never served). */
  servedAt: number;
  /** A newer version was announced and not loaded yet: the next request loads it. */
  stale: boolean;
}

export class ModelHost {
  private readonly entries: LRUCache<string, Entry>;
  /** In-flight builds, so concurrent first requests share one build. */
  private readonly building = new Map<string, Promise<Entry>>();
  private readonly unsubscribe: () => void;
  private closing = false;

  constructor(private readonly o: ModelHostOptions) {
    this.entries = new LRUCache<string, Entry>({
      max: o.cache.max,
      maxSize: o.cache.maxBytes,
      sizeCalculation: (e) => Math.max(1, e.model.memoryBytes),
      ttl: o.cache.idleMs || undefined,
      // Unload idle projects on a timer, not only when someone happens to look them up.
      ttlAutopurge: o.cache.idleMs > 0,
      updateAgeOnGet: true,
      dispose: (entry, _key, reason) => {
        if (reason !== 'set' && !this.closing) this.retire(entry.model);
      },
    });
    this.unsubscribe = o.feed.subscribe((change) => {
      if (change.kind === 'config' && change.projectId === '*') this.entries.clear();
      else if (change.kind === 'config') this.evict(change.projectId);
      else this.onVersion(change.projectId, change.version);
    });
  }

  get modelClassName(): string {
    return this.o.factory.modelClassName;
  }

  /** Parses (or reuses) a label config; throws LabelConfigError for bad XML. */
  labelInterface(labelConfig: string): LabelInterface {
    return this.o.factory.labelInterface(labelConfig);
  }
  /** Registers or updates a project (from `/setup`), returns its model once built. */
  async register(record: Omit<ProjectRecord, 'updatedAt'>): Promise<Model> {
    this.labelInterface(record.labelConfig); // refuse a bad config before storing it
    const existing = await this.o.projects.get(record.id);
    const changed =
      !existing ||
      existing.labelConfig !== record.labelConfig ||
      existing.uid !== record.uid ||
      JSON.stringify(existing.extraParams) !== JSON.stringify(record.extraParams) ||
      existing.hostname !== record.hostname ||
      existing.accessToken !== record.accessToken ||
      existing.trusted !== record.trusted;
    if (changed) {
      await this.o.projects.put({ ...record, updatedAt: new Date().toISOString() });
      await this.o.versions.ensure(record.id);
      if (existing) {
        this.evict(record.id);
        await this.o.feed.publish({ kind: 'config', projectId: record.id });
      }
    }
    return this.instance(record.id, undefined, false);
  }

  /**
   * The project's model. `labelConfigHint` is `/predict`'s `label_config`: when it differs from what the
   * project has (or the project was never set up), it becomes the project's config, as in the reference.
   */
  model(projectId: string, labelConfigHint?: string | null): Promise<Model> {
    return this.instance(projectId, labelConfigHint, true);
  }

  /** `serving`: a request is served with it (not a registration), which makes the project a prefetch candidate. */
  private async instance(projectId: string, labelConfigHint: string | null | undefined, serving: boolean): Promise<Model> {
    const cached = this.entries.get(projectId);
    if (cached && serving) cached.servedAt = Date.now();
    if (cached && !cached.stale && (labelConfigHint == null || labelConfigHint === cached.labelConfig)) return cached.model;
    if (labelConfigHint != null && (!cached || cached.labelConfig !== labelConfigHint)) {
      await this.adoptConfig(projectId, labelConfigHint);
    } else if (cached?.stale) {
      return this.loadAnnounced(projectId, cached, serving);
    }
    const entry = await this.build(projectId);
    if (serving) entry.servedAt = Date.now();
    return entry.model;
  }

  /** The lazy half of a version change: the first request after it loads the new version, or keeps the old one if that fails. */
  private async loadAnnounced(projectId: string, stale: Entry, serving: boolean): Promise<Model> {
    try {
      const entry = await this.build(projectId);
      if (serving) entry.servedAt = Date.now();
      return entry.model;
    } catch (err) {
      this.o.log.error({ projectId, err: errorMessage(err) }, 'new model version failed to load; keeping the previous one');
      stale.stale = false;
      return stale.model;
    }
  }

  /** What `/setup` stored for a project (webhook authorization reads it). */
  projectRecord(projectId: string): Promise<ProjectRecord | undefined> {
    return this.o.projects.get(projectId);
  }

  /** Version served for a project right now (builds the model if needed). */
  async servedVersion(projectId: string): Promise<string> {
    return (await this.model(projectId)).modelVersion;
  }

  async close(): Promise<void> {
    this.unsubscribe();
    this.closing = true;
    const models = [...this.entries.values()].map((e) => e.model);
    this.entries.clear();
    await Promise.all(models.map((m) => this.disposeModel(m)));
  }

  private async adoptConfig(projectId: string, labelConfig: string): Promise<void> {
    this.labelInterface(labelConfig);
    const existing = await this.o.projects.get(projectId);
    if (existing?.labelConfig === labelConfig) return;
    await this.o.projects.put({
      id: projectId,
      uid: existing?.uid ?? projectId,
      labelConfig,
      extraParams: existing?.extraParams ?? null,
      hostname: existing?.hostname,
      accessToken: existing?.accessToken,
      trusted: existing?.trusted ?? false,
      updatedAt: new Date().toISOString(),
    });
    this.evict(projectId);
    if (existing) await this.o.feed.publish({ kind: 'config', projectId });
  }

  private build(projectId: string): Promise<Entry> {
    let pending = this.building.get(projectId);
    if (!pending) {
      pending = this.buildEntry(projectId).finally(() => this.building.delete(projectId));
      this.building.set(projectId, pending);
    }
    return pending;
  }

  private async buildEntry(projectId: string): Promise<Entry> {
    const record = await this.o.factory.record(projectId);
    // A new version that fails to load falls back to the one serving now: keep its instance (hot swap).
    const serving = this.entries.peek(projectId);
    const model = await this.o.factory.buildServed(record, {
      reuse: (version) => (serving && serving.version === version && serving.labelConfig === record.labelConfig ? serving.model : undefined),
    });
    const entry: Entry = { labelConfig: record.labelConfig, version: model.modelVersion, model, servedAt: serving?.servedAt ?? 0, stale: false };
    const previous = this.entries.peek(projectId);
    this.entries.set(projectId, entry);
    if (previous && previous.model !== model) this.retire(previous.model);
    return entry;
  }

  /**
   * Another process announced a version. A project not loaded here is left alone (it loads the version
   * when first served); one served recently swaps now, so its next request does not wait for the load;
   * any other loads it when next served. Announcements carry ids only: no artifact moves until then.
   */
  private onVersion(projectId: string, version: string): void {
    const entry = this.entries.peek(projectId);
    if (!entry || entry.version === version) return;
    const window = this.o.cache.prefetchMs;
    if (window === undefined || Date.now() - entry.servedAt <= window) void this.refresh(projectId);
    else entry.stale = true;
  }

  /** Hot swap after a version change: build beside the old instance, then replace it. */
  async refresh(projectId: string): Promise<void> {
    const entry = this.entries.peek(projectId);
    if (!entry) return;
    try {
      const wanted = await this.o.versions.current(projectId);
      if (wanted === entry.version) return;
      // A build already under way (a /predict) may have read the version before it changed: build again.
      if ((await this.build(projectId)).version !== wanted) await this.build(projectId);
    } catch (err) {
      this.o.log.error({ projectId, err: errorMessage(err) }, 'new model version failed to load; keeping the previous one');
    }
  }

  private evict(projectId: string): void {
    this.entries.delete(projectId);
  }

  /** Disposes a replaced instance after a grace period, so requests already using it can finish. */
  private retire(model: Model): void {
    setTimeout(() => void this.disposeModel(model), this.o.retireGraceMs ?? RETIRE_GRACE_MS).unref();
  }

  private disposeModel(model: Model): Promise<void> {
    return disposeQuietly(model, this.o.log);
  }
}
