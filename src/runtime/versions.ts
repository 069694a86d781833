/**
 * Model versions per project: what `/setup` reports, what predictions carry, what `/versions` lists.
 * Format: `<ModelClass>-v<N>` by default (`-v0` before any training); a semver initial version
 * (e.g. INITIAL_MODEL_VERSION=0.0.1) bumps its minor part instead.
 */
import type { Json } from '../util/json.js';
import type { ArtifactStore, ModelVersionInfo, ProjectVersions, VersionStore } from '../store/types.js';
import { notFound } from '../util/errors.js';
import crypto from 'node:crypto';

const SEMVER = /^(\d+)\.(\d+)\.(\d+)$/;
const COUNTED = /^(.*-v)(\d+)$/;

export function nextVersion(version: string): string {
  const semver = SEMVER.exec(version);
  if (semver) return `${semver[1]}.${Number(semver[2]) + 1}.0`;
  const counted = COUNTED.exec(version);
  if (counted) return `${counted[1]}${Number(counted[2]) + 1}`;
  return `${version}-v1`;
}

export function versionInfo(version: string, extra: Partial<ModelVersionInfo> = {}): ModelVersionInfo {
  return { version, createdAt: new Date().toISOString(), metrics: {}, artifact: undefined, jobId: undefined, ...extra };
}

/**
 * Tells every serving process that a project's served version changed, and resolves once this process
 * serves it. Every version change (a training's artifact, a model's `bumpModelVersion()`, a pin) goes
 * through the one announcer its VersionManager was given.
 */
export type VersionAnnouncer = (projectId: string, version: string) => Promise<void>;

export class VersionManager {
  constructor(
    private readonly store: VersionStore,
    private readonly artifacts: ArtifactStore,
    private readonly announce: VersionAnnouncer,
    private readonly initialVersion: string,
    private readonly keep: number,
  ) {}

  private initial = (): ProjectVersions => ({
    current: this.initialVersion,
    pinned: false,
    versions: [versionInfo(this.initialVersion)],
  });

  /** The project's versions, created at the initial version on first sight. */
  async ensure(projectId: string): Promise<ProjectVersions> {
    return (await this.store.get(projectId)) ?? this.store.update(projectId, this.initial, (v) => v);
  }

  async current(projectId: string): Promise<string> {
    return (await this.ensure(projectId)).current;
  }

  /** Records a new version (with its artifact, if any) and makes it current unless a version is pinned. */
  async publish(
    projectId: string,
    options: { artifact?: Uint8Array; metrics?: Record<string, Json>; jobId?: string } = {},
  ): Promise<ModelVersionInfo> {
    // Trainings of one project never overlap (the queue guarantees it), so reading the next name and
    // writing its artifact before recording it is safe; `nextFree` still guards a concurrent manual bump.
    const before = await this.ensure(projectId);
    const planned = nextFree(before, nextVersion(newestOf(before)));
    const artifact = options.artifact
      ? { bytes: options.artifact.byteLength, sha256: crypto.createHash('sha256').update(options.artifact).digest('hex') }
      : undefined;
    // The artifact is stored before the version becomes visible, so no reader ever finds a version without it.
    if (options.artifact) await this.artifacts.put(projectId, planned, options.artifact);
    let created!: ModelVersionInfo;
    const dropped: string[] = [];
    const doc = await this.store.update(projectId, this.initial, (current) => {
      created = versionInfo(nextFree(current, planned), { metrics: options.metrics ?? {}, artifact, jobId: options.jobId });
      const versions = [created, ...current.versions];
      const kept = versions.slice(0, this.keep);
      for (const old of versions.slice(this.keep)) if (old.version !== current.current) dropped.push(old.version);
      // Never drop the pinned version, even when it is older than the last K.
      const pinnedInfo = current.pinned ? versions.find((v) => v.version === current.current) : undefined;
      if (pinnedInfo && !kept.includes(pinnedInfo)) kept.push(pinnedInfo);
      return { current: current.pinned ? current.current : created.version, pinned: current.pinned, versions: kept };
    });
    if (created.version !== planned && options.artifact) {
      await this.artifacts.put(projectId, created.version, options.artifact);
      await this.artifacts.delete(projectId, planned);
    }
    await Promise.all(dropped.map((v) => this.artifacts.delete(projectId, v)));
    await this.announce(projectId, doc.current);
    return created;
  }

  /** Serve `version` (pin) or, with `undefined`, go back to following the newest version. */
  async pin(projectId: string, version: string | undefined): Promise<ProjectVersions> {
    const doc = await this.ensure(projectId);
    if (version !== undefined && !doc.versions.some((v) => v.version === version)) {
      throw notFound(`project ${projectId} has no version "${version}"`);
    }
    const next = await this.store.update(projectId, this.initial, (current) => ({
      ...current,
      current: version ?? current.versions[0]?.version ?? current.current,
      pinned: version !== undefined,
    }));
    await this.announce(projectId, next.current);
    return next;
  }

  async list(projectId?: string): Promise<Array<{ projectId: string; versions: ProjectVersions }>> {
    if (projectId !== undefined) {
      const versions = await this.store.get(projectId);
      return versions ? [{ projectId, versions }] : [];
    }
    return this.store.list();
  }
}

function newestOf(doc: ProjectVersions): string {
  return doc.versions[0]?.version ?? doc.current;
}

function nextFree(doc: ProjectVersions, wanted: string): string {
  let version = wanted;
  while (doc.versions.some((v) => v.version === version)) version = nextVersion(version);
  return version;
}

/** INITIAL_MODEL_VERSION, else the class's static `initialVersion`, else `<ClassName>-v0`. */
export function initialVersionOf(ModelClass: { name: string; initialVersion?: string }, config: { initialModelVersion: string | undefined }): string {
  return config.initialModelVersion ?? ModelClass.initialVersion ?? `${ModelClass.name}-v0`;
}
