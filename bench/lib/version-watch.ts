/**
 * Watches `GET /versions` while a load runs, so that every model version published is seen with its
 * creation time although the server keeps only the last MODEL_KEEP_VERSIONS per project. Gives, per
 * project, the longest stretch of a window without a new version.
 */
import { httpJson, round, sleep } from './util.js';

interface VersionsBody {
  projects: Record<string, { versions: Array<{ version: string; createdAt: string }> }>;
}

export interface VersionWatch {
  /** project → version → creation time (ms since the epoch) */
  readonly seen: Map<string, Map<string, number>>;
  stop(): Promise<void>;
}

export function watchVersions(baseUrl: string, everyMs = 250): VersionWatch {
  const seen = new Map<string, Map<string, number>>();
  let running = true;
  const poll = async () => {
    const { status, body } = await httpJson<VersionsBody>(`${baseUrl}/versions`);
    if (status !== 200) return;
    for (const [project, { versions }] of Object.entries(body.projects ?? {})) {
      const mine = seen.get(project) ?? new Map<string, number>();
      for (const v of versions) if (!mine.has(v.version)) mine.set(v.version, Date.parse(v.createdAt));
      seen.set(project, mine);
    }
  };
  const loop = (async () => {
    while (running) {
      await poll().catch(() => undefined);
      await sleep(everyMs);
    }
    await poll().catch(() => undefined);
  })();
  return {
    seen,
    async stop() {
      running = false;
      await loop;
    },
  };
}

export interface GapReport {
  /** per project: longest time without a new version in the window, seconds */
  maxGapS: Record<string, number>;
  /** per project: versions created inside the window */
  versionsInWindow: Record<string, number>;
}

/**
 * The longest stretch of [from, to] each project went without a new version. A stretch starts at the
 * project's last version before `from` (its model was already that old), or at `loadStart` if it had none.
 */
export function versionGaps(seen: Map<string, Map<string, number>>, projects: string[], loadStart: number, from: number, to: number): GapReport {
  const maxGapS: Record<string, number> = {};
  const versionsInWindow: Record<string, number> = {};
  for (const project of projects) {
    const times = [...(seen.get(project)?.values() ?? [])].filter((t) => Number.isFinite(t)).sort((a, b) => a - b);
    const before = times.filter((t) => t < from);
    const inside = times.filter((t) => t >= from && t <= to);
    const points = [Math.max(loadStart, before.at(-1) ?? loadStart), ...inside, to];
    let gap = 0;
    for (let i = 1; i < points.length; i++) gap = Math.max(gap, points[i]! - points[i - 1]!);
    maxGapS[project] = round(gap / 1000, 2);
    versionsInWindow[project] = inside.length;
  }
  return { maxGapS, versionsInWindow };
}
