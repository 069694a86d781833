/**
 * Model versions per project: what `/setup` reports, what predictions carry, what `/versions` lists.
 * Format: `<ModelClass>-v<N>` by default (`-v0` before any training); a semver initial version
 * (e.g. INITIAL_MODEL_VERSION=0.0.1) bumps its minor part instead.
 */
import type { Json } from '../util/json.js';
import type { ArtifactStore, ModelVersionInfo, ProjectVersions, VersionStore } from '../store/types.js';
import { HttpError, notFound } from '../util/errors.js';
import { sha256Of } from './artifact-check.js';

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
  return { version, createdAt: new Date().toISOString(), metrics: {}, artifact: undefined, jobId: undefined, status: 'ok', ...extra };
}

export const isBad = (info: ModelVersionInfo): boolean => info.status === 'bad';

/**
 * The versions worth trying to serve, best first: `current` unless it is bad, then every other good
 * version, newest first. Empty only when every version is bad.
 */
export function servingOrder(doc: ProjectVersions): string[] {
  const current = doc.versions.find((v) => v.version === doc.current);
  const head = current && isBad(current) ? [] : [doc.current];
  return [...head, ...doc.versions.filter((v) => !isBad(v) && v.version !== doc.current).map((v) => v.version)];
}

/** The version a project is served at: `current`, or the newest good version when `current` is bad. */
export function servableVersion(doc: ProjectVersions): string {
  return servingOrder(doc)[0] ?? doc.current;
}

/** A version that failed to load, and why. */
export interface VersionFailure {
  version: string;
  error: string;
}

/**
 * Marks `failures` bad and, when `current` is (now) bad, makes `served` current and drops the pin (a bad
 * version cannot be served, pinned or not). A current that moved on to a good version meanwhile (a new
 * training) stays: that version gets its own chance. Returns the new document and the versions this
 * change marked (those already bad are not counted again).
 */
export function settleVersions(doc: ProjectVersions, failures: VersionFailure[], served: string | undefined): { doc: ProjectVersions; newlyBad: VersionFailure[] } {
  const errors = new Map(failures.map((f) => [f.version, f.error]));
  const newlyBad: VersionFailure[] = [];
  const versions = doc.versions.map((v): ModelVersionInfo => {
    const error = errors.get(v.version);
    if (error === undefined || isBad(v)) return v;
    newlyBad.push({ version: v.version, error });
    return { ...v, status: 'bad', error };
  });
  const current = versions.find((v) => v.version === doc.current);
  const replacement = versions.find((v) => v.version === served);
  const move = current !== undefined && isBad(current) && replacement !== undefined && !isBad(replacement);
  return { doc: move ? { current: replacement.version, pinned: false, versions } : { ...doc, versions }, newlyBad };
}

/**
 * The `keep` versions a project keeps, newest first. Bad versions go before good ones (oldest first
 * within each), so a version that fails to load always has good ones to fall back to; the newest stays.
 */
export function keepNewest(versions: ModelVersionInfo[], keep: number): ModelVersionInfo[] {
  const excess = versions.length - keep;
  if (excess <= 0) return versions;
  const doomed = new Set<ModelVersionInfo>();
  for (const bad of [true, false]) {
    for (let i = versions.length - 1; i > 0 && doomed.size < excess; i--) if (isBad(versions[i]!) === bad) doomed.add(versions[i]!);
  }
  return versions.filter((v) => !doomed.has(v));
}

/** The document as the API shows it: every version with its `status` (older records have none stored). */
export function withStatuses(doc: ProjectVersions): ProjectVersions {
  return { ...doc, versions: doc.versions.map((v) => ({ ...v, status: v.status ?? 'ok' })) };
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
    /** What an untrained project serves. */
    readonly initialVersion: string,
    private readonly keep: number,
  ) {}

  private initial = (): ProjectVersions => ({
    current: this.initialVersion,
    pinned: false,
    versions: [versionInfo(this.initialVersion)],
  });

  /**
   * The project's versions, created at the initial version on first sight. Only paths that register,
   * serve or train a project call this; reads use `get`, which never writes.
   */
  async ensure(projectId: string): Promise<ProjectVersions> {
    return (await this.store.get(projectId)) ?? this.store.update(projectId, this.initial, (v) => v);
  }

  /** The stored versions (with statuses), or undefined for a project never set up, served or trained. Never writes. */
  async get(projectId: string): Promise<ProjectVersions | undefined> {
    const doc = await this.store.get(projectId);
    return doc && withStatuses(doc);
  }

  /** The version to serve (creating the project's versions on first sight): `current` unless it is bad. */
  async current(projectId: string): Promise<string> {
    return servableVersion(await this.ensure(projectId));
  }

  /** The version a stored document serves, or the initial one for a project without versions. Never writes. */
  servedOf(doc: ProjectVersions | undefined): string {
    return doc ? servableVersion(doc) : this.initialVersion;
  }

  /** One version's record, if the project has it. Never writes. */
  async info(projectId: string, version: string): Promise<ModelVersionInfo | undefined> {
    return (await this.store.get(projectId))?.versions.find((v) => v.version === version);
  }

  /**
   * Records versions that failed to load as bad and, when `current` is among the bad, moves it to
   * `served` (one atomic update; see settleVersions). The caller announces a moved `current`.
   */
  async settle(projectId: string, failures: VersionFailure[], served: string | undefined): Promise<{ doc: ProjectVersions; newlyBad: VersionFailure[]; moved: boolean }> {
    let newlyBad: VersionFailure[] = [];
    let before = '';
    const doc = await this.store.update(projectId, this.initial, (stored) => {
      // May run more than once (a Redis write conflict retries): keep only the last run's result.
      before = stored.current;
      const settled = settleVersions(stored, failures, served);
      newlyBad = settled.newlyBad;
      return settled.doc;
    });
    return { doc: withStatuses(doc), newlyBad, moved: doc.current !== before };
  }

  /** Tells every serving process that the project's served version changed (see VersionAnnouncer). */
  announceChange(projectId: string, version: string): Promise<void> {
    return this.announce(projectId, version);
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
    const artifact = options.artifact ? { bytes: options.artifact.byteLength, sha256: sha256Of(options.artifact) } : undefined;
    // The artifact is stored before the version becomes visible, so no reader ever finds a version without it.
    if (options.artifact) await this.artifacts.put(projectId, planned, options.artifact);
    let created!: ModelVersionInfo;
    const dropped: string[] = [];
    const doc = await this.store.update(projectId, this.initial, (current) => {
      created = versionInfo(nextFree(current, planned), { metrics: options.metrics ?? {}, artifact, jobId: options.jobId });
      const versions = [created, ...current.versions];
      const kept = keepNewest(versions, this.keep);
      dropped.length = 0; // a Redis write conflict runs this again
      for (const old of versions) if (!kept.includes(old) && old.version !== current.current) dropped.push(old.version);
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

  /**
   * Serve `version` (pin) or, with `undefined`, go back to following the newest good version. A project
   * without versions is a 404 (nothing is created), a bad version a 409: it failed to load once already.
   */
  async pin(projectId: string, version: string | undefined): Promise<ProjectVersions> {
    const doc = await this.store.get(projectId);
    if (!doc) throw noVersions(projectId);
    const info = version === undefined ? undefined : doc.versions.find((v) => v.version === version);
    if (version !== undefined && !info) throw notFound(`project ${projectId} has no version "${version}"`);
    if (info && isBad(info)) {
      throw new HttpError(409, 'version_bad', `version "${info.version}" of project ${projectId} is marked bad (${info.error ?? 'it failed to load'}); pin a good version or train a new one`);
    }
    const next = await this.store.update(projectId, this.initial, (current) => ({
      ...current,
      current: version ?? current.versions.find((v) => !isBad(v))?.version ?? current.current,
      pinned: version !== undefined,
    }));
    await this.announce(projectId, next.current);
    return withStatuses(next);
  }

  async list(projectId?: string): Promise<Array<{ projectId: string; versions: ProjectVersions }>> {
    if (projectId !== undefined) {
      const versions = await this.get(projectId);
      return versions ? [{ projectId, versions }] : [];
    }
    return (await this.store.list()).map(({ projectId: id, versions }) => ({ projectId: id, versions: withStatuses(versions) }));
  }
}

/** The 404 for a project that has no versions: it was never set up, asked for predictions or trained. */
export function noVersions(projectId: string): HttpError {
  return notFound(`project ${projectId} has no model versions: it was never set up, asked for predictions or trained here`);
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
